//! Stream replies in RESP3, byte for byte as redis-server 7.0.15 sends
//! them after `HELLO 3` (captured from it): XREAD and XREADGROUP reply
//! with a map of streams, XINFO with maps, a missing counter is `_`, and
//! a blocked XREAD served later gets a map too.

use std::time::Duration;

use replsim::command::{execute, Ctx};
use replsim::resp::{OwnedArgv, Reply};
use replsim::server::{Client, Config, ServerState};

const NOW_MS: u64 = 1_700_000_000_000;

fn node(clients: u64) -> ServerState {
    let mut state = ServerState::new(Config::default(), 1, NOW_MS, Duration::ZERO);
    for id in 1..=clients {
        let mut client = Client::new(
            id,
            format!("127.0.0.1:{id}"),
            "127.0.0.1:6379".into(),
            Duration::ZERO,
            true,
        );
        client.pushes.set_resp3(true);
        state.clients.insert(id, client);
    }
    state
}

fn run(state: &mut ServerState, id: u64, line: &str) -> String {
    let args: Vec<&str> = line.split(' ').collect();
    let owned = OwnedArgv::from_args(&args);
    let mut client = state.clients.remove(&id).expect("client");
    let mut out = Reply::with_protocol(true);
    let mut ctx = Ctx::new(state, &mut client, &mut out, NOW_MS);
    execute(&mut ctx, owned.argv());
    state.clients.insert(id, client);
    String::from_utf8_lossy(out.as_bytes()).into_owned()
}

#[test]
fn xinfo_and_group_reads_are_maps_in_resp3() {
    let mut state = node(1);
    for line in [
        "XADD s 1-1 a 1",
        "XADD s 2-1 b 2",
        "XADD s 3-1 c 3",
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >",
        "XCLAIM s g carol 0 2-1 3-1 JUSTID",
        "XGROUP CREATECONSUMER s g frank",
        "XGROUP SETID s g $",
        "XACK s g 1-1",
    ] {
        run(&mut state, 1, line);
    }
    assert_eq!(
        run(&mut state, 1, "XREADGROUP GROUP g carol STREAMS s 0"),
        "%1\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        run(&mut state, 1, "XINFO GROUPS s"),
        "*1\r\n%6\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:4\r\n$7\r\npending\r\n:2\r\n$17\r\nlast-delivered-id\r\n$3\r\n3-1\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:0\r\n"
    );
    let mut other = node(1);
    for line in [
        "XADD s 5-1 a 1",
        "XSETID s 5-1 ENTRIESADDED 11 MAXDELETEDID 4-0",
    ] {
        run(&mut other, 1, line);
    }
    assert_eq!(
        run(&mut other, 1, "XINFO STREAM s"),
        "%10\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n5-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n4-0\r\n$13\r\nentries-added\r\n:11\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n5-1\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(run(&mut other, 1, "XREAD STREAMS s 9"), "_\r\n");
}

#[test]
fn a_blocked_xread_served_later_gets_a_map_in_resp3() {
    let mut state = node(2);
    run(&mut state, 1, "XADD t 1-1 b 1");
    assert_eq!(run(&mut state, 2, "XREAD BLOCK 0 STREAMS t $"), "");
    run(&mut state, 1, "XADD t 3-1 e 4");
    let client = state.clients.get_mut(&2).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&client.pushes.take()),
        "%1\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\ne\r\n$1\r\n4\r\n"
    );
}
