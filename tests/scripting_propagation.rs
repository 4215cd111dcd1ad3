//! What a master feeds to its replication stream for scripts and
//! functions, as Redis 7.0.15 does (observed on a real server attached to
//! as a replica): a script's single write goes bare, several go wrapped in
//! MULTI/EXEC, a script without writes sends nothing, EVAL and FCALL
//! themselves never travel, `redis.set_repl` leaves writes out, and
//! FUNCTION LOAD/DELETE/FLUSH/RESTORE travel as they were sent.

mod common;

use common::stream::RecordingMaster as Node;

#[test]
fn a_script_with_one_write_propagates_the_bare_command() {
    let mut node = Node::new(1);
    node.run_args(1, &["EVAL", "redis.call('set','a','1')", "0"]);
    assert_eq!(node.stream(), vec!["SELECT 0", "set a 1"]);
}

#[test]
fn a_script_with_several_writes_propagates_them_in_a_transaction() {
    let mut node = Node::new(1);
    node.run_args(
        1,
        &[
            "EVAL",
            "redis.call('set','a','1'); redis.call('incr','a')",
            "0",
        ],
    );
    assert_eq!(
        node.stream(),
        vec!["SELECT 0", "MULTI", "set a 1", "incr a", "EXEC"]
    );
}

#[test]
fn a_script_without_writes_propagates_nothing() {
    let mut node = Node::new(1);
    node.run_args(1, &["SET", "a", "1"]);
    node.stream();
    assert_eq!(
        node.run_args(1, &["EVAL", "return redis.call('get','a')", "0"]),
        "$1\r\n1\r\n"
    );
    node.run_args(1, &["EVAL", "return redis.pcall('incr','nokey', 'x')", "0"]);
    node.run_args(1, &["EVAL_RO", "return redis.pcall('set','a','2')", "0"]);
    node.run_args(1, &["SCRIPT", "LOAD", "return redis.call('set','a','3')"]);
    node.run_args(1, &["SCRIPT", "FLUSH"]);
    assert_eq!(node.stream(), Vec::<String>::new());
}

#[test]
fn writes_after_select_in_a_script_go_to_its_db() {
    let mut node = Node::new(1);
    node.run_args(
        1,
        &[
            "EVAL",
            "redis.call('select', 3); redis.call('set','b','2')",
            "0",
        ],
    );
    assert_eq!(node.stream(), vec!["SELECT 3", "set b 2"]);
    // The caller's db is untouched by the script's SELECT.
    node.run_args(1, &["SET", "c", "3"]);
    assert_eq!(node.stream(), vec!["SELECT 0", "SET c 3"]);
}

#[test]
fn set_repl_none_leaves_writes_out_of_the_stream() {
    let mut node = Node::new(1);
    node.run_args(1, &[
        "EVAL",
        "redis.set_repl(redis.REPL_NONE); redis.call('set','c','2'); redis.set_repl(redis.REPL_ALL); redis.call('set','d','2')",
        "0",
    ]);
    assert_eq!(node.stream(), vec!["SELECT 0", "set d 2"]);
    assert_eq!(node.run_args(1, &["GET", "c"]), "$1\r\n2\r\n");
}

#[test]
fn function_changes_propagate_verbatim_and_fcall_by_its_effects() {
    let mut node = Node::new(1);
    let library = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
    assert_eq!(
        node.run_args(1, &["FUNCTION", "LOAD", library]),
        "$5\r\nmylib\r\n"
    );
    node.run_args(1, &["FCALL", "f1", "1", "k", "v"]);
    node.run_args(1, &["FUNCTION", "LOAD", library]);
    node.run_args(1, &["FUNCTION", "DELETE", "mylib"]);
    node.run_args(1, &["FUNCTION", "DELETE", "mylib"]);
    node.run_args(1, &["FUNCTION", "FLUSH"]);
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0".to_string(),
            format!("FUNCTION LOAD {library}"),
            "set k v".to_string(),
            "FUNCTION DELETE mylib".to_string(),
            "FUNCTION FLUSH".to_string(),
        ]
    );
}

#[test]
fn a_script_in_a_transaction_propagates_inside_its_multi() {
    let mut node = Node::new(1);
    node.run_args(1, &["MULTI"]);
    node.run_args(1, &["EVAL", "redis.call('set','a','1')", "0"]);
    node.run_args(1, &["SET", "b", "2"]);
    node.run_args(1, &["EXEC"]);
    assert_eq!(
        node.stream(),
        vec!["SELECT 0", "MULTI", "set a 1", "SET b 2", "EXEC"]
    );
}
