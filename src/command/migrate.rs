//! MIGRATE: keys moved (or copied) to another server as the RESTORE
//! commands of their DUMP payloads. The command parses its arguments and
//! serializes the keys here; the connection then talks to the target (see
//! `server::migrate`), and [`finish`] applies what the target acknowledged:
//! the acknowledged keys are deleted and propagated as one DEL.
//!
//! Unlike Redis, whose MIGRATE blocks the whole server while it talks to
//! the target, replsim's connection waits alone: other clients run
//! meanwhile. A key changed in between is deleted all the same once the
//! target acknowledged its old value, as the README says.

use std::time::Duration;

use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx, Flow};
use crate::keyspace::{blob, Blob};
use crate::rdb::dump_payload;
use crate::resp::{Argv, OwnedArgv};
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[spec(
    "migrate",
    -6,
    WRITE | MOVABLE_KEYS,
    (3, 3, 1),
    migrate,
)];

/// A migration to carry out: where, what to send, and which keys it moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateJob {
    /// The target's host, as given.
    pub host: String,
    /// The target's port.
    pub port: u16,
    /// The target db.
    pub db: i64,
    /// The limit on connecting and on each read and write.
    pub timeout: Duration,
    /// AUTH's arguments (password, or user and password), when given.
    pub auth: Option<Vec<Vec<u8>>>,
    /// The RESTORE commands, one per key, in order.
    pub restores: Vec<OwnedArgv>,
    /// The keys the RESTOREs carry, in order.
    pub keys: Vec<Blob>,
    /// COPY: the keys stay here.
    pub copy: bool,
    /// The db the keys are in.
    pub source_db: usize,
}

/// What the target said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateOutcome {
    /// The replies were read: for each key, `None` when restored, or the
    /// target's error (an AUTH or SELECT error stands for every key).
    Replied(Vec<Option<String>>),
    /// Connecting, writing or reading failed or timed out, after
    /// `acknowledged` keys were restored; `what` names the step as Redis's
    /// error does ("connecting", "writing to", "reading to").
    Failed {
        /// The RESTOREs acknowledged before the failure.
        acknowledged: Vec<bool>,
        /// The step that failed.
        what: &'static str,
    },
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key ...]: moves the keys
/// to the target server with RESTORE (REPLACE passed on), keeping their
/// TTLs; `+NOKEY` when none exists.
///
/// # Propagation
/// A DEL of the keys the target acknowledged (none with COPY).
fn migrate(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth = None;
    let mut keys: Vec<&[u8]> = vec![argv.get(3)];
    let mut i = 6;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        match argv.get(i).to_ascii_lowercase().as_slice() {
            b"copy" => copy = true,
            b"replace" => replace = true,
            b"auth" if more >= 1 => {
                auth = Some(vec![argv.get(i + 1).to_vec()]);
                i += 1;
            }
            b"auth2" if more >= 2 => {
                auth = Some(vec![argv.get(i + 1).to_vec(), argv.get(i + 2).to_vec()]);
                i += 2;
            }
            b"keys" => {
                if !argv.get(3).is_empty() {
                    return Err(CmdError::err(
                        "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                    ));
                }
                keys = argv.iter().skip(i + 1).collect();
                break;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    let timeout = super::int_arg(argv.get(5))?;
    let db = super::int_arg(argv.get(4))?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let port = std::str::from_utf8(argv.get(2))
        .ok()
        .and_then(|p| p.parse::<u16>().ok());
    let mut restores = Vec::new();
    let mut moved = Vec::new();
    let now_ms = ctx.now_ms;
    for key in keys {
        let Some(entry) = ctx.lookup(key) else {
            continue;
        };
        let ttl = match entry.expire_at_ms() {
            None => 0,
            Some(at) => at.saturating_sub(now_ms).max(1),
        };
        let payload = dump_payload(&entry.value, entry.encoding());
        let ttl = ttl.to_string();
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), &payload];
        if replace {
            args.push(b"REPLACE");
        }
        restores.push(OwnedArgv::from_args(&args));
        moved.push(blob(key));
    }
    if moved.is_empty() {
        ctx.out.raw(b"+NOKEY\r\n");
        return Ok(());
    }
    // The connection talks to the target after the command: that cannot
    // happen inside a transaction or a script, which run to their end.
    if ctx.in_exec || ctx.in_script {
        return Err(CmdError::err(
            "MIGRATE is not supported inside MULTI/EXEC or scripts",
        ));
    }
    let Some(port) = port else {
        return Err(CmdError::Other(
            "IOERR error or timeout connecting to the client".into(),
        ));
    };
    ctx.flow = Flow::Migrate(Box::new(MigrateJob {
        host: String::from_utf8_lossy(argv.get(1)).into_owned(),
        port,
        db,
        timeout,
        auth,
        restores,
        keys: moved,
        copy,
        source_db: ctx.client.db,
    }));
    Ok(())
}

/// Applies what the target said about `job`: without COPY, the keys it
/// acknowledged are deleted here (WATCH touched, `del` events) and
/// propagated as one DEL; then the reply.
pub fn finish(ctx: &mut Ctx<'_>, job: &MigrateJob, outcome: &MigrateOutcome) {
    let acknowledged: Vec<bool> = match outcome {
        MigrateOutcome::Replied(replies) => replies.iter().map(Option::is_none).collect(),
        MigrateOutcome::Failed { acknowledged, .. } => acknowledged.clone(),
    };
    if !job.copy {
        let db = job.source_db;
        let mut deleted: Vec<&[u8]> = vec![b"DEL"];
        for (key, _) in job.keys.iter().zip(&acknowledged).filter(|(_, ok)| **ok) {
            if ctx.state.keyspace.db_mut(db).remove(key).is_some() {
                ctx.state.watches.touch(db, key, false);
                ctx.state
                    .notify_keyspace_event(notify::GENERIC, "del", key, db, None);
                ctx.state.stats.dirty += 1;
                deleted.push(key);
            }
        }
        if deleted.len() > 1 && !ctx.client.is_master {
            ctx.state.also_propagate(db, OwnedArgv::from_args(&deleted));
            ctx.state.propagate_pending();
        }
    }
    match outcome {
        MigrateOutcome::Replied(replies) => match replies.iter().flatten().next() {
            None => ctx.out.ok(),
            Some(error) => {
                let message = format!("ERR Target instance replied with error: {error}");
                ctx.state.stats.count_error(&message);
                ctx.out.error(&message);
            }
        },
        MigrateOutcome::Failed { what, .. } => {
            let message = if *what == "connecting" {
                "IOERR error or timeout connecting to the client".to_string()
            } else {
                format!("IOERR error or timeout {what} target instance")
            };
            ctx.state.stats.count_error(&message);
            ctx.out.error(&message);
        }
    }
}
