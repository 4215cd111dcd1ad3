//! Where a command's keys are in its arguments, as COMMAND GETKEYS reports
//! them: a fixed range for most commands, and Redis's key-finding rules
//! for the others (a `numkeys` argument, the keys after STREAMS, SORT's
//! STORE, the key of a subcommand such as MEMORY USAGE).

use super::CommandSpec;
use crate::resp::Argv;

/// Why no key positions could be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysError {
    /// The command takes no keys at all.
    NoKeys,
    /// Its arguments do not say where its keys are (a bad `numkeys`).
    InvalidArguments,
}

/// Commands whose keys a `numkeys` argument counts, with where it is and
/// where their destination key is (0: none).
const NUMKEYS_COMMANDS: &[(&str, usize, usize)] = &[
    ("eval", 2, 0),
    ("evalsha", 2, 0),
    ("eval_ro", 2, 0),
    ("evalsha_ro", 2, 0),
    ("fcall", 2, 0),
    ("fcall_ro", 2, 0),
    ("zunion", 1, 0),
    ("zinter", 1, 0),
    ("zdiff", 1, 0),
    ("zintercard", 1, 0),
    ("sintercard", 1, 0),
    ("lmpop", 1, 0),
    ("zmpop", 1, 0),
    ("zunionstore", 2, 1),
    ("zinterstore", 2, 1),
    ("zdiffstore", 2, 1),
    ("blmpop", 2, 0),
    ("bzmpop", 2, 0),
];

/// Commands whose keys are found by a rule other than `numkeys` or a range.
const RULED_COMMANDS: &[&str] = &[
    "xread",
    "xreadgroup",
    "sort",
    "sort_ro",
    "georadius",
    "georadiusbymember",
    "migrate",
];

/// Whether the command's keys move with its arguments (COMMAND INFO's
/// `movablekeys`): found by a rule, not a range.
pub fn keys_move(spec: &CommandSpec) -> bool {
    spec.parent.is_empty()
        && (NUMKEYS_COMMANDS
            .iter()
            .any(|(name, _, _)| *name == spec.name)
            || RULED_COMMANDS.contains(&spec.name))
}

/// The key range COMMAND INFO shows (first, last, step): the table's,
/// or position 2 for the subcommands whose key follows their name.
pub fn shown_key_range(spec: &CommandSpec) -> (i32, i32, i32) {
    if subcommand_key(spec) {
        (2, 2, 1)
    } else {
        (spec.first_key, spec.last_key, spec.key_step)
    }
}

/// Whether `spec` is a subcommand whose key is the argument after its
/// name (MEMORY USAGE key, OBJECT ENCODING key, XGROUP CREATE key, ...).
fn subcommand_key(spec: &CommandSpec) -> bool {
    match spec.parent {
        "object" | "xgroup" | "xinfo" => spec.name != "help",
        "memory" => spec.name == "usage",
        _ => false,
    }
}

/// The positions of the keys of `argv` (a whole command, its name at 0),
/// run as `spec`.
pub fn key_positions(spec: &CommandSpec, argv: Argv<'_>) -> Result<Vec<usize>, KeysError> {
    let name = spec.full_name();
    let numkeys = NUMKEYS_COMMANDS
        .iter()
        .find(|(command, _, _)| *command == name);
    if let Some(&(_, at, destination)) = numkeys {
        return numkeys_keys(argv, at, destination);
    }
    match name.as_str() {
        "xread" | "xreadgroup" => return stream_keys(argv),
        "sort" | "sort_ro" => return Ok(super::sort::sort_key_positions(argv)),
        "migrate" => return Ok(migrate_keys(argv)),
        "georadius" => return Ok(super::geo::georadius_key_positions(argv, false)),
        "georadiusbymember" => return Ok(super::geo::georadius_key_positions(argv, true)),
        _ => {}
    }
    if subcommand_key(spec) {
        return Ok(vec![2]);
    }
    if spec.first_key <= 0 {
        return Err(KeysError::NoKeys);
    }
    let argc = argv.len() as i32;
    let last = if spec.last_key < 0 {
        argc + spec.last_key
    } else {
        spec.last_key.min(argc - 1)
    };
    Ok((spec.first_key..=last)
        .step_by(spec.key_step.max(1) as usize)
        .map(|i| i as usize)
        .collect())
}

/// Keys counted by the `numkeys` argument at `at`, after it; a destination
/// key at `destination` (0: none) comes first.
fn numkeys_keys(argv: Argv<'_>, at: usize, destination: usize) -> Result<Vec<usize>, KeysError> {
    let count = crate::resp::parse_i64(argv.get(at)).ok_or(KeysError::InvalidArguments)?;
    if count < 0 || count as usize > argv.len().saturating_sub(at + 1) {
        return Err(KeysError::InvalidArguments);
    }
    let mut keys: Vec<usize> = (destination > 0)
        .then_some(destination)
        .into_iter()
        .collect();
    keys.extend(at + 1..at + 1 + count as usize);
    Ok(keys)
}

/// XREAD and XREADGROUP: the first half of the arguments after STREAMS
/// (rounded down, as Redis's key spec counts them).
fn stream_keys(argv: Argv<'_>) -> Result<Vec<usize>, KeysError> {
    let streams = (1..argv.len())
        .find(|&i| argv.get(i).eq_ignore_ascii_case(b"streams"))
        .ok_or(KeysError::InvalidArguments)?;
    let rest = argv.len() - streams - 1;
    if rest < 2 {
        return Err(KeysError::InvalidArguments);
    }
    Ok((streams + 1..streams + 1 + rest / 2).collect())
}

/// MIGRATE: the key argument, or with KEYS (and an empty key argument)
/// every argument after KEYS.
fn migrate_keys(argv: Argv<'_>) -> Vec<usize> {
    if argv.get(3).is_empty() {
        if let Some(keys) = (6..argv.len()).find(|&i| argv.get(i).eq_ignore_ascii_case(b"keys")) {
            return (keys + 1..argv.len()).collect();
        }
    }
    vec![3]
}
