//! What a master feeds its replication stream for blocking pops, served
//! at once or later by another client's write (observed on redis-server
//! 7.0.15 as a replica: the non-blocking single-key form of what was
//! served), and for PUBLISH.

mod common;

use common::stream::RecordingMaster as Node;

#[test]
fn blocking_pops_served_at_once_propagate_their_non_blocking_form() {
    let mut node = Node::new(1);
    node.run(1, "RPUSH l a b c d e f");
    node.run(1, "ZADD z 1 a 2 b 3 c 4 d");
    node.stream();
    node.run(1, "BLPOP nosuch l 0");
    node.run(1, "BRPOP l 0");
    node.run(1, "BLMOVE l dst Left RIGHT 0");
    node.run(1, "BRPOPLPUSH l dst 0");
    node.run(1, "BLMPOP 0 1 l RIGHT COUNT 5");
    node.run(1, "BZPOPMIN z 0");
    node.run(1, "BZPOPMAX z 0");
    node.run(1, "BZMPOP 0 1 z MIN COUNT 9");
    assert_eq!(
        node.stream(),
        vec![
            "LPOP l",
            "RPOP l",
            "LMOVE l dst Left RIGHT",
            "RPOPLPUSH l dst",
            "RPOP l 2",
            "ZPOPMIN z",
            "ZPOPMAX z",
            "ZPOPMIN z 2",
        ]
    );
}

#[test]
fn served_blocked_clients_propagate_after_the_write_that_woke_them() {
    let mut node = Node::new(5);
    assert_eq!(node.run(1, "BLPOP q 0"), "");
    assert_eq!(node.run(2, "BLMOVE q moved LEFT RIGHT 0"), "");
    assert_eq!(node.run(3, "BRPOPLPUSH q moved 0"), "");
    assert_eq!(node.run(4, "BLMPOP 0 1 q LEFT COUNT 2"), "");
    assert_eq!(node.state.blocking.count(), 4);
    assert_eq!(node.run(5, "RPUSH q a b c d e f"), ":6\r\n");
    assert_eq!(node.served(1), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(node.served(2), "$1\r\nb\r\n");
    assert_eq!(node.served(3), "$1\r\nf\r\n");
    assert_eq!(
        node.served(4),
        "*2\r\n$1\r\nq\r\n*2\r\n$1\r\nc\r\n$1\r\nd\r\n"
    );
    assert_eq!(node.state.blocking.count(), 0);
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0",
            "RPUSH q a b c d e f",
            "LPOP q",
            "LMOVE q moved left right",
            "RPOPLPUSH q moved",
            "LPOP q 2",
        ]
    );
    assert_eq!(node.run(5, "LRANGE q 0 -1"), "*1\r\n$1\r\ne\r\n");
    assert_eq!(
        node.run(5, "LRANGE moved 0 -1"),
        "*2\r\n$1\r\nf\r\n$1\r\nb\r\n"
    );
}

#[test]
fn a_transaction_wakes_blocked_clients_once_it_completed() {
    let mut node = Node::new(2);
    node.run(1, "BZPOPMIN z1 z2 0");
    node.run(2, "MULTI");
    node.run(2, "ZADD z2 2 b");
    node.run(2, "ZADD z1 1 a");
    let exec = node.run(2, "EXEC");
    assert_eq!(exec, "*2\r\n:1\r\n:1\r\n");
    // z2 became ready first: it serves the client.
    assert_eq!(node.served(1), "*3\r\n$2\r\nz2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0",
            "MULTI",
            "ZADD z2 2 b",
            "ZADD z1 1 a",
            "EXEC",
            "ZPOPMIN z2"
        ]
    );
}

#[test]
fn a_blocking_pop_that_times_out_or_blocks_in_a_transaction_propagates_nothing() {
    let mut node = Node::new(2);
    node.run(1, "MULTI");
    node.run(1, "BLPOP nothing 0");
    assert_eq!(node.run(1, "EXEC"), "*1\r\n*-1\r\n");
    node.run(2, "BLPOP nothing 1");
    replsim::command::time_out_blocked(&mut node.state, 2);
    assert_eq!(node.served(2), "*-1\r\n");
    assert_eq!(node.stream(), Vec::<String>::new());
}

#[test]
fn publish_reaches_the_stream_without_counting_as_a_change() {
    let mut node = Node::new(1);
    node.run(1, "PUBLISH news hello");
    node.run(1, "SPUBLISH shard hi");
    assert_eq!(
        node.stream(),
        vec!["SELECT 0", "PUBLISH news hello", "SPUBLISH shard hi"]
    );
    assert_eq!(node.state.stats.dirty, 0);
}
