//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST,
//! over string values in Redis's own HyperLogLog bytes (`crate::hll`).

use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::hll::{self, HllError};
use crate::keyspace::{Blob, Encoding, Value};
use crate::resp::Argv;
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("pfadd", -2, WRITE | DENYOOM | FAST, KEY1, pfadd),
    spec("pfcount", -2, READONLY | MAY_REPLICATE, (1, -1, 1), pfcount),
    spec("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), pfmerge),
    spec("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), pfdebug),
    spec("pfselftest", 1, ADMIN, (0, 0, 0), pfselftest),
];

impl From<HllError> for CmdError {
    fn from(error: HllError) -> Self {
        CmdError::Other(error.to_string())
    }
}

/// `hll-sparse-max-bytes`: the size past which a sparse value turns dense.
fn sparse_max_bytes(ctx: &Ctx<'_>) -> usize {
    ctx.state
        .config
        .others
        .get("hll-sparse-max-bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// The HyperLogLog bytes of `key` (a copy), `None` when missing; WRONGTYPE
/// for another type or a string that is not a HyperLogLog.
fn read_hll(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    let Some(value) = ctx.read_string(key)? else {
        return Ok(None);
    };
    hll::check(value)?;
    Ok(Some(value.to_vec()))
}

/// Stores `bytes` as the value of `key` (keeping its TTL when it exists).
fn write_hll(ctx: &mut Ctx<'_>, key: &[u8], bytes: &[u8]) {
    match ctx.db().value_mut(key) {
        Some(Value::Str(stored)) => *stored = Blob::from_slice(bytes),
        _ => ctx.db().insert(key, Value::Str(Blob::from_slice(bytes))),
    }
    // Redis creates a HyperLogLog raw and unshares one into a raw string
    // before changing it.
    ctx.db().set_encoding(key, Encoding::Raw);
}

/// PFADD key [element ...]: adds elements (creating the key); 1 when a
/// register changed or the key was created, else 0.
///
/// # Propagation
/// Verbatim, when something changed.
fn pfadd(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let (mut bytes, mut updated) = match read_hll(ctx, key)? {
        Some(bytes) => (bytes, 0),
        None => (hll::new_hll(), 1),
    };
    let max = sparse_max_bytes(ctx);
    for element in argv.iter().skip(2) {
        updated += u64::from(hll::add(&mut bytes, element, max)?);
    }
    if updated > 0 {
        hll::invalidate_cache(&mut bytes);
        write_hll(ctx, key, &bytes);
        ctx.changed(updated);
        ctx.notify(notify::STRING, "pfadd", key);
    }
    ctx.out.integer(i64::from(updated > 0));
    Ok(())
}

/// PFCOUNT key [key ...]: the estimated cardinality of one HyperLogLog
/// (caching it in the value, as Redis does), or of the union of several.
///
/// # Propagation
/// One key whose cache was stale: verbatim (the cached bytes changed).
fn pfcount(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for key in argv.iter().skip(1) {
            if let Some(bytes) = read_hll(ctx, key)? {
                hll::merge_into(&mut max, &bytes)?;
            }
        }
        ctx.out.integer(hll::count_registers(&max) as i64);
        return Ok(());
    }
    let key = argv.get(1);
    let Some(mut bytes) = read_hll(ctx, key)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let cardinality = match hll::cached_cardinality(&bytes) {
        Some(cached) => cached,
        None => {
            let fresh = hll::count(&bytes)?;
            hll::store_cardinality(&mut bytes, fresh);
            write_hll(ctx, key, &bytes);
            ctx.changed(1);
            fresh
        }
    };
    ctx.out.integer(cardinality as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]: the union of the sources (and of
/// `destkey` itself) into `destkey`, dense when any input is.
///
/// # Propagation
/// Verbatim.
fn pfmerge(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for key in argv.iter().skip(1) {
        if let Some(bytes) = read_hll(ctx, key)? {
            use_dense |= !hll::is_sparse(&bytes);
            hll::merge_into(&mut max, &bytes)?;
        }
    }
    let destination = argv.get(1);
    let mut bytes = read_hll(ctx, destination)?.unwrap_or_else(hll::new_hll);
    if use_dense {
        hll::to_dense(&mut bytes)?;
    }
    hll::set_all(&mut bytes, &max, sparse_max_bytes(ctx))?;
    hll::invalidate_cache(&mut bytes);
    write_hll(ctx, destination, &bytes);
    ctx.changed(1);
    ctx.notify(notify::STRING, "pfadd", destination);
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: the registers (turning the
/// value dense), the sparse opcodes, the encoding, or a conversion to
/// dense (1 if it converted).
///
/// # Propagation
/// Verbatim when GETREG or TODENSE converted the value.
fn pfdebug(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let subcommand = String::from_utf8_lossy(argv.get(1)).into_owned();
    let key = argv.get(2);
    let Some(mut bytes) = read_hll(ctx, key)? else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    match subcommand.to_ascii_lowercase().as_str() {
        "getreg" => {
            if hll::to_dense(&mut bytes)? {
                write_hll(ctx, key, &bytes);
                ctx.changed(1);
            }
            let registers = hll::registers(&bytes)?;
            ctx.out.array(registers.len());
            for value in registers {
                ctx.out.integer(i64::from(value));
            }
        }
        "decode" => {
            if !hll::is_sparse(&bytes) {
                return Err(CmdError::err("HLL encoding is not sparse"));
            }
            ctx.out.bulk(hll::decode_text(&bytes).as_bytes());
        }
        "encoding" => ctx.out.simple(if hll::is_sparse(&bytes) {
            "sparse"
        } else {
            "dense"
        }),
        "todense" => {
            let converted = hll::to_dense(&mut bytes)?;
            if converted {
                write_hll(ctx, key, &bytes);
                ctx.changed(1);
            }
            ctx.out.integer(i64::from(converted));
        }
        _ => {
            return Err(CmdError::err(format!(
                "Unknown PFDEBUG subcommand '{subcommand}'"
            )))
        }
    }
    Ok(())
}

/// PFSELFTEST: checks the HyperLogLog code against itself (dense registers
/// at every bit offset, sparse and dense agreeing on registers and
/// counts); `+OK`, or an error naming what broke.
///
/// # Propagation
/// None.
fn pfselftest(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let mut sparse = hll::new_hll();
    let mut dense = hll::new_hll();
    hll::to_dense(&mut dense)?;
    for i in 0..10_000u32 {
        let element = i.to_le_bytes();
        hll::add(&mut sparse, &element, usize::MAX)?;
        hll::add(&mut dense, &element, usize::MAX)?;
        if i % 1000 == 999 && hll::registers(&sparse)? != hll::registers(&dense)? {
            return Err(CmdError::err(format!(
                "TESTFAILED Sparse and dense registers differ after {} elements",
                i + 1
            )));
        }
    }
    let estimate = hll::count(&dense)? as f64;
    // Redis's self-test bound: five times the standard error, 1.04/sqrt(m).
    let error = 5.0 * 1.04 / (hll::REGISTERS as f64).sqrt();
    if (estimate - 10_000.0).abs() > 10_000.0 * error {
        return Err(CmdError::err(format!(
            "TESTFAILED Too big error. card:10000 abserr:{}",
            (estimate - 10_000.0).abs()
        )));
    }
    ctx.out.ok();
    Ok(())
}
