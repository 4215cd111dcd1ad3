//! A script that shows a table's or function's identity gets the same text
//! in every run: `tostring` numbers objects in the order they are first
//! shown instead of printing memory addresses, which differ between runs.

mod common;

use common::{start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

fn eval(client: &mut Client, script: &str) -> String {
    match client.cmd(&["EVAL", script, "0"]) {
        Frame::Bulk(Some(bytes)) => String::from_utf8(bytes).unwrap(),
        other => panic!("{script}: {other:?}"),
    }
}

#[test]
fn tostring_names_objects_by_the_order_they_are_first_shown() {
    let mut client = Client::connect(start_replsim(Config::default()));
    let shown = eval(
        &mut client,
        "local t = {} local f = function() end \
         return tostring(t) .. ' ' .. tostring(f) .. ' ' .. tostring(t)",
    );
    assert_eq!(
        shown,
        "table: 0x00000001 function: 0x00000002 table: 0x00000001"
    );
    // Other values keep Lua's own text.
    assert_eq!(
        eval(
            &mut client,
            "return tostring(12) .. tostring(nil) .. tostring(true)"
        ),
        "12niltrue"
    );
    // A fresh node starts counting again, as a replayed run does.
    let mut fresh = Client::connect(start_replsim(Config::default()));
    assert_eq!(eval(&mut fresh, "return tostring({})"), "table: 0x00000001");
}
