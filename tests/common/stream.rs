//! A master's replication stream read back as commands, for the tests of
//! what each write propagates.

use replsim::resp::{parse_command, ArgvBuf, ParseLimits, Parsed};
use replsim::server::ServerState;

/// The commands `state`'s backlog holds from offset `*from` on, one per
/// entry (arguments joined by spaces); moves `*from` past them.
pub fn commands_since(state: &ServerState, from: &mut u64) -> Vec<String> {
    let backlog = state.repl.backlog.as_ref().expect("a backlog");
    let bytes = backlog.since(*from).expect("offset within the backlog");
    *from += bytes.len() as u64;
    let mut argv = ArgvBuf::default();
    let mut commands = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match parse_command(&bytes[pos..], &mut argv, ParseLimits::default()).unwrap() {
            Parsed::Command { consumed } => {
                let args: Vec<String> = argv
                    .argv(&bytes[pos..])
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                commands.push(args.join(" "));
                pos += consumed;
            }
            other => panic!("stream is not whole commands: {other:?}"),
        }
    }
    commands
}
