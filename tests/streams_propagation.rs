//! What a master feeds its replication stream for stream commands, as
//! observed on redis-server 7.0.15 (MONITOR on a replica): XADD carries
//! the generated ID, approximate trimming goes as exact trimming of what
//! was removed, XREADGROUP as one XCLAIM per delivered entry (XGROUP SETID
//! and CREATECONSUMER with NOACK, in a MULTI), XCLAIM and XAUTOCLAIM as
//! such XCLAIMs, and a blocked XREADGROUP served later the same way
//! (NOACK included).

mod common;

use common::stream::RecordingMaster as Node;

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

#[test]
fn xadd_propagates_the_generated_id_and_exact_trimming() {
    let mut node = Node::new(1);
    node.run(1, "XADD s 1-1 a 1");
    node.run(1, "XADD s 1-* a 2");
    node.run(1, "XADD s * a 3");
    node.run(1, "XADD s MAXLEN ~ 1 * b 2");
    node.run(1, "XADD s MAXLEN 1 5-* b 2");
    let stream = node.stream();
    assert_eq!(stream[0], "SELECT 0");
    assert_eq!(
        stream[1..],
        strings(&[
            "XADD s 1-1 a 1",
            "XADD s 1-2 a 2",
            "XADD s 1700000000000-0 a 3",
            // Nothing could go (one node): "= <length left>".
            "XADD s MAXLEN = 4 1700000000000-1 b 2",
        ])
    );
    // An ID below the top fails and propagates nothing.
    assert!(node.stream().is_empty());
}

#[test]
fn approximate_trimming_propagates_what_it_removed() {
    let mut node = Node::new(1);
    for i in 1..=250 {
        node.run(1, &format!("XADD s {i}-1 f v"));
    }
    node.stream();
    assert_eq!(node.run(1, "XTRIM s MAXLEN ~ 120"), ":100\r\n");
    assert_eq!(node.run(1, "XTRIM s MAXLEN ~ 120"), ":0\r\n");
    assert_eq!(node.run(1, "XTRIM s MINID ~ 250"), ":100\r\n");
    node.run(1, "XADD s MINID ~ 0 LIMIT 10 300-1 f v");
    assert_eq!(
        node.stream(),
        strings(&[
            "XTRIM s MAXLEN = 150",
            "XTRIM s MINID = 201-1",
            "XADD s MINID = 201-1 LIMIT 10 300-1 f v",
        ])
    );
    // A replica applies the rewritten LIMIT with "=" and trims it all.
    let mut replica = Node::new(1);
    replica.state.clients.get_mut(&1).unwrap().is_master = true;
    for i in 1..=10 {
        replica.run(1, &format!("XADD r {i}-1 f v"));
    }
    assert_eq!(replica.run(1, "XTRIM r MAXLEN = 2 LIMIT 1"), ":8\r\n");
}

#[test]
fn xreadgroup_propagates_an_xclaim_per_entry_and_setid_with_noack() {
    let mut node = Node::new(1);
    node.run(1, "XADD s 1-1 a 1");
    node.run(1, "XADD s 2-1 a 2");
    node.run(1, "XGROUP CREATE s g 0");
    node.stream();
    node.run(1, "XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    node.run(1, "XADD s 3-1 b 2");
    node.run(1, "XREADGROUP GROUP g c2 NOACK STREAMS s >");
    // History reads and reads of nothing propagate nothing.
    node.run(1, "XREADGROUP GROUP g c0 STREAMS s 0");
    node.run(1, "XREADGROUP GROUP g c STREAMS s >");
    assert_eq!(
        node.stream(),
        strings(&[
            "XCLAIM s g c 0 1-1 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
            "XADD s 3-1 b 2",
            "MULTI",
            "XGROUP CREATECONSUMER s g c2",
            "XGROUP SETID s g 3-1 ENTRIESREAD 3",
            "EXEC",
        ])
    );
}

#[test]
fn xclaim_and_xautoclaim_propagate_as_xclaims() {
    let mut node = Node::new(1);
    node.run(1, "XADD s 1-1 a 1");
    node.run(1, "XADD s 2-1 a 2");
    node.run(1, "XGROUP CREATE s g 0");
    node.run(1, "XREADGROUP GROUP g c STREAMS s >");
    node.stream();
    node.run(1, "XAUTOCLAIM s g c3 0 0 COUNT 1");
    node.run(1, "XCLAIM s g c4 0 2-1 TIME 5");
    node.run(1, "XDEL s 1-1");
    node.run(1, "XCLAIM s g c4 0 1-1");
    node.run(1, "XCLAIM s g c4 0 9-9 LASTID 9-9");
    assert_eq!(
        node.stream(),
        strings(&[
            "XCLAIM s g c3 0 1-1 TIME 1700000000000 RETRYCOUNT 2 FORCE JUSTID LASTID 2-1",
            "XCLAIM s g c4 0 2-1 TIME 5 RETRYCOUNT 2 FORCE JUSTID LASTID 2-1",
            "XDEL s 1-1",
            // An entry gone from the stream leaves the PEL.
            "XCLAIM s g c3 0 1-1 TIME 1700000000000 RETRYCOUNT 2 FORCE JUSTID LASTID 2-1",
            "XGROUP SETID s g 9-9 ENTRIESREAD 2",
        ])
    );
}

#[test]
fn a_blocked_xreadgroup_served_later_propagates_its_xclaim_after_the_xadd() {
    let mut node = Node::new(2);
    node.run(1, "XGROUP CREATE s g $ MKSTREAM");
    node.stream();
    assert_eq!(node.run(2, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"), "");
    node.run(1, "XADD s 1-1 a 1");
    assert_eq!(
        node.served(2),
        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        node.stream(),
        strings(&[
            "XADD s 1-1 a 1",
            "XCLAIM s g c 0 1-1 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
        ])
    );
}

#[test]
fn a_blocked_noack_xreadgroup_served_later_propagates_consumer_and_group_position() {
    let mut node = Node::new(3);
    node.run(1, "XGROUP CREATE s g $ MKSTREAM");
    node.stream();
    assert_eq!(node.run(2, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"), "");
    assert_eq!(
        node.run(3, "XREADGROUP GROUP g c2 NOACK BLOCK 0 STREAMS s >"),
        ""
    );
    // The first XADD serves c (first blocked); c2 finds nothing new after
    // the group's position and waits for the second.
    node.run(1, "XADD s 1-1 a 1");
    assert_eq!(node.served(3), "");
    node.run(1, "XADD s 2-1 a 1");
    assert!(node.served(3).contains("2-1"));
    assert_eq!(
        node.stream(),
        strings(&[
            "XADD s 1-1 a 1",
            "XCLAIM s g c 0 1-1 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
            "XADD s 2-1 a 1",
            "MULTI",
            "XGROUP CREATECONSUMER s g c2",
            "XGROUP SETID s g 2-1 ENTRIESREAD 2",
            "EXEC",
        ])
    );
}
