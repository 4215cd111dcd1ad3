//! COMMAND's introspection against a real redis-server 7.0: every command
//! both servers have shows the same arity, flags and key range in COMMAND
//! INFO (subcommands included); COMMAND GETKEYS finds the same keys by
//! every rule (a range, `numkeys`, STREAMS, SORT's STORE, a subcommand's
//! key) with the same errors; COMMAND LIST filters as Redis does. (ACL
//! categories, tips and key specs are not modelled: see the README.)

mod common;

use std::collections::BTreeMap;

use common::script::compare;
use common::{start_redis, start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

/// Name, arity, flags and the key range of a COMMAND INFO entry, and the
/// same for each of its subcommands, by full name.
fn shape(entry: &Frame, shapes: &mut BTreeMap<String, String>) {
    let Frame::Array(Some(fields)) = entry else {
        return;
    };
    let text = |frame: &Frame| match frame {
        Frame::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        Frame::Simple(s) => s.clone(),
        Frame::Integer(n) => n.to_string(),
        Frame::Array(Some(items)) | Frame::Set(items) => items
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()
            .join(" "),
        other => format!("{other:?}"),
    };
    let name = text(&fields[0]);
    let described = fields[1..6].iter().map(text).collect::<Vec<_>>().join(" ");
    shapes.insert(name, described);
    if let Some(Frame::Array(Some(subcommands))) = fields.get(9) {
        for subcommand in subcommands {
            shape(subcommand, shapes);
        }
    }
}

#[test]
fn every_shared_command_has_redis_arity_flags_and_key_range() {
    let Some(redis) = start_redis("command-info-shapes", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let mut theirs = Client::connect(redis.port);
    let mut mine = Client::connect(ours);
    let Frame::Array(Some(names)) = mine.cmd(&["COMMAND", "LIST"]) else {
        panic!("COMMAND LIST");
    };
    let mut differences = Vec::new();
    let mut compared = 0;
    for name in names {
        let Frame::Bulk(Some(name)) = name else {
            continue;
        };
        let info = |client: &mut Client| {
            let mut shapes = BTreeMap::new();
            match client.cmd(&[b"COMMAND".as_slice(), b"INFO", &name]) {
                Frame::Array(Some(entries)) => shape(&entries[0], &mut shapes),
                other => panic!("COMMAND INFO replied {other:?}"),
            }
            shapes
        };
        let expected = info(&mut theirs);
        // Subcommands replsim lacks are listed in the README, not here.
        for (name, found) in info(&mut mine) {
            compared += 1;
            match expected.get(&name) {
                Some(wanted) if *wanted == found => {}
                Some(wanted) => differences.push(format!("{name}: redis {wanted}, ours {found}")),
                None => differences.push(format!("{name}: not in redis")),
            }
        }
    }
    assert!(compared > 200, "only {compared} commands compared");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn command_getkeys_and_list_match_redis() {
    compare(
        "command-getkeys",
        r#"
        0> COMMAND GETKEYS get key
        0> COMMAND GETKEYS mset a 1 b 2
        0> COMMAND GETKEYS memory usage key
        0> COMMAND GETKEYS object encoding key
        0> COMMAND GETKEYS xgroup create key group $
        0> COMMAND GETKEYS xinfo stream key
        0> COMMAND GETKEYS eval "return 1" 2 a b
        0> COMMAND GETKEYS eval "return 1" 0
        0> COMMAND GETKEYS eval "return 1" 3 a b
        0> COMMAND GETKEYS fcall f 1 a
        0> COMMAND GETKEYS lcs key1 key2
        0> COMMAND GETKEYS zunionstore target 3 a b c WEIGHTS 1 2 3
        0> COMMAND GETKEYS zunionstore target 4 a b c
        0> COMMAND GETKEYS zinter 2 a b
        0> COMMAND GETKEYS sintercard 2 a b LIMIT 1
        0> COMMAND GETKEYS lmpop 2 a b LEFT
        0> COMMAND GETKEYS blmpop 0 2 a b LEFT COUNT 2
        0> COMMAND GETKEYS bzmpop 0 1 a MIN
        0> COMMAND GETKEYS xread COUNT 2 STREAMS a b 0 0
        0> COMMAND GETKEYS xreadgroup GROUP g c STREAMS a >
        0> COMMAND GETKEYS xread STREAMS a b 0
        0> COMMAND GETKEYS sort k1 BY w* GET # STORE k2
        0> COMMAND GETKEYS sort_ro k1
        0> COMMAND GETKEYS rename a b
        0> COMMAND GETKEYS smove a b m
        # The errors, in Redis's order
        0> COMMAND GETKEYS ping
        0> COMMAND GETKEYS nosuch x
        0> COMMAND GETKEYS get
        0> COMMAND GETKEYS set k
        0> COMMAND GETKEYS zunion x a
        # LIST and its filters
        ~0> COMMAND LIST FILTERBY PATTERN config|*re*
        ~0> COMMAND LIST FILTERBY PATTERN set
        ~0> COMMAND LIST FILTERBY PATTERN non_exists*
        0> COMMAND LIST FILTERBY MODULE nothing
        0> COMMAND LIST FILTERBY ACLCAT non_existing_category
        0> COMMAND LIST bad_arg
        0> COMMAND LIST FILTERBY bad_arg
        0> COMMAND LIST FILTERBY bad_arg bad_arg2
        # Unknown subcommands are nil
        0> COMMAND INFO get|key config|get|key
        "#,
    );
}
