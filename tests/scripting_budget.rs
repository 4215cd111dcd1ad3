//! Where a node cannot answer others while a script runs (a simulation,
//! whose clock stands still while a command computes, or a state driven
//! without a runtime as here), a script that does not end is stopped after
//! its instruction budget (`busy-reply-threshold` x 1,000,000 Lua
//! instructions): it gets an error, pcall cannot hold it, and the node
//! goes on serving. (On real TCP a script runs until it ends or is
//! killed, as in Redis: see `scripting_busy.rs`.)

use std::time::Duration;

use replsim::command::{execute, Ctx};
use replsim::resp::{OwnedArgv, Reply};
use replsim::server::{Client, Config, ServerState};

const NOW_MS: u64 = 1_700_000_000_000;

fn run(state: &mut ServerState, client: &mut Client, args: &[&str]) -> String {
    let owned = OwnedArgv::from_args(args);
    let mut out = Reply::new();
    let mut ctx = Ctx::new(state, client, &mut out, NOW_MS);
    execute(&mut ctx, owned.argv());
    String::from_utf8_lossy(out.as_bytes()).into_owned()
}

#[test]
fn looping_scripts_are_stopped_by_their_budget_and_the_node_goes_on() {
    let mut state = ServerState::new(Config::default(), 1, NOW_MS, Duration::ZERO);
    let mut client = Client::new(
        1,
        "127.0.0.1:1".into(),
        "127.0.0.1:6379".into(),
        Duration::ZERO,
        true,
    );
    assert_eq!(
        run(
            &mut state,
            &mut client,
            &["CONFIG", "SET", "busy-reply-threshold", "1"]
        ),
        "+OK\r\n"
    );
    let reply = run(&mut state, &mut client, &["EVAL", "while true do end", "0"]);
    assert!(
        reply.starts_with(
            "-ERR Script exceeded its instruction budget (busy-reply-threshold), killed script: "
        ) && reply.ends_with(", on @user_script:1.\r\n"),
        "{reply}"
    );
    let reply = run(
        &mut state,
        &mut client,
        &[
            "EVAL",
            "while true do pcall(function() while true do end end) end",
            "0",
        ],
    );
    assert!(
        reply.starts_with("-ERR Script exceeded its instruction budget"),
        "{reply}"
    );
    // A script under the budget runs to its end, and the node serves on.
    assert_eq!(
        run(
            &mut state,
            &mut client,
            &[
                "EVAL",
                "local n = 0 for i = 1, 1000 do n = n + i end return n",
                "0"
            ]
        ),
        ":500500\r\n"
    );
    let reply = run(
        &mut state,
        &mut client,
        &["FUNCTION", "LOAD", "#!lua name=slow\nwhile true do end"],
    );
    assert_eq!(
        reply,
        "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    );
}
