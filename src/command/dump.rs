//! DUMP and RESTORE: a key's value serialized as Redis serializes it (its
//! RDB encoding, the RDB version and a CRC64), and a key created back from
//! such a payload, Redis's own or replsim's.

use super::flags::*;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::rdb::{dump_payload, restore_payload};
use crate::resp::Argv;
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("dump", 2, READONLY, KEY1, dump),
    spec("restore", -4, WRITE | DENYOOM, KEY1, restore),
];

/// DUMP key: the key's value serialized, or nil when it does not exist.
///
/// # Propagation
/// None.
fn dump(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let payload = ctx
        .lookup(argv.get(1))
        .map(|e| dump_payload(&e.value, e.encoding()));
    ctx.out.bulk_opt(payload.as_deref());
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ
/// frequency]: creates the key from a DUMP payload, with a TTL in ms
/// (absolute with ABSTTL; 0 for none). IDLETIME sets the key's access
/// time (unless an LFU policy is in force), FREQ its LFU counter (only
/// under one), as Redis's `objectSetLRUOrLFU` does.
///
/// # Events
/// `restore` (`del` when an already expired payload replaced the key).
///
/// # Propagation
/// A relative TTL is propagated as the absolute time it gave, with ABSTTL
/// appended. A payload whose TTL is already past creates nothing: a key it
/// replaced is propagated as `DEL`, otherwise nothing is.
fn restore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None, None);
    let mut i = 4;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_lowercase();
        let has_value = i + 1 < argv.len();
        match option.as_slice() {
            b"replace" => replace = true,
            b"absttl" => absttl = true,
            b"idletime" if has_value && freq.is_none() => {
                let seconds = int_arg(argv.get(i + 1))?;
                if seconds < 0 {
                    return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
                }
                idle = Some(seconds as u64);
                i += 1;
            }
            b"freq" if has_value && idle.is_none() => {
                let counter = int_arg(argv.get(i + 1))?;
                if !(0..=255).contains(&counter) {
                    return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
                }
                freq = Some(counter as u32);
                i += 1;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    if !replace && ctx.lookup(key).is_some() {
        return Err(CmdError::Other(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let ttl = int_arg(argv.get(2))?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let (value, written_as) =
        restore_payload(argv.get(3)).map_err(|error| CmdError::err(error.to_string()))?;
    let deleted = replace && ctx.db().remove(key).is_some();
    let expire_at = match ttl {
        0 => None,
        ttl if absttl => Some(ttl),
        ttl => Some(ttl.saturating_add(ctx.now_ms as i64)),
    };
    if let Some(at) = expire_at {
        if at <= ctx.now_ms as i64 && !ctx.state.is_replica() {
            if deleted {
                ctx.rewrite(&[&b"DEL"[..], key]);
                ctx.notify(notify::GENERIC, "del", key);
                ctx.changed(1);
            }
            ctx.out.ok();
            return Ok(());
        }
    }
    // Encoded as Redis's `rdbLoadObject` encodes it, under this node's
    // thresholds.
    let encoding = ctx.db().encoding_limits().on_load(&value, written_as);
    ctx.db()
        .insert_encoded(key, value, expire_at.map(|at| at.max(0) as u64), encoding);
    if let Some(stamp) = ctx.state.maxmemory.stamp_given(freq, idle, ctx.now_ms) {
        ctx.db().set_access(key, stamp);
    }
    if let (Some(at), false) = (expire_at, absttl) {
        let mut rewritten: Vec<Vec<u8>> = argv.iter().map(<[u8]>::to_vec).collect();
        rewritten[2] = at.to_string().into_bytes();
        rewritten.push(b"ABSTTL".to_vec());
        ctx.rewrite(&rewritten);
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.changed(1);
    ctx.out.ok();
    Ok(())
}
