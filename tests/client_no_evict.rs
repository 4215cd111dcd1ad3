//! CLIENT NO-EVICT against a real redis-server 7.0: ON and OFF in any
//! case, Redis's errors, and the `e` flag CLIENT INFO shows while it is
//! on. Skipped (with a note) when redis-server is not installed, except
//! in CI.

mod common;

use common::script::compare;
use common::{start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

#[test]
fn client_no_evict_replies_as_redis_does() {
    compare(
        "client-no-evict",
        r#"
        0> CLIENT NO-EVICT on
        0> CLIENT NO-EVICT OFF
        0> CLIENT NO-EVICT maybe
        0> CLIENT NO-EVICT
        0> CLIENT NO-EVICT on off
        "#,
    );
}

#[test]
fn client_info_shows_the_no_evict_flag_while_it_is_on() {
    let port = start_replsim(Config::default());
    let mut client = Client::connect(port);
    let flags = |client: &mut Client| match client.cmd(&["CLIENT", "INFO"]) {
        Frame::Bulk(Some(line)) => String::from_utf8_lossy(&line)
            .split(' ')
            .find_map(|field| field.strip_prefix("flags=").map(str::to_string))
            .unwrap_or_default(),
        other => panic!("CLIENT INFO replied {other:?}"),
    };
    assert_eq!(flags(&mut client), "N");
    client.cmd(&["CLIENT", "NO-EVICT", "ON"]);
    assert_eq!(flags(&mut client), "e");
    client.cmd(&["CLIENT", "NO-EVICT", "off"]);
    assert_eq!(flags(&mut client), "N");
}
