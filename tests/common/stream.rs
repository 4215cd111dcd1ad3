//! A master's replication stream read back as commands, and a master that
//! records it, for the tests of what each write propagates.

use std::time::Duration;

use replsim::command::{execute, Ctx};
use replsim::resp::{parse_command, ArgvBuf, OwnedArgv, ParseLimits, Parsed, Reply};
use replsim::server::{Client, Config, ServerState};

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

/// A master with a backlog (so it records its stream, as when a replica
/// attaches) and clients 1..=n, run command by command the way a
/// connection runs them.
pub struct RecordingMaster {
    /// The node's state.
    pub state: ServerState,
    read_offset: u64,
}

/// The unix time the recording master's commands run at.
pub const NOW_MS: u64 = 1_700_000_000_000;

impl RecordingMaster {
    /// A master with clients 1..=`clients`.
    pub fn new(clients: u64) -> RecordingMaster {
        let mut state = ServerState::new(Config::default(), 1, NOW_MS, Duration::ZERO);
        state
            .repl
            .ensure_backlog(1 << 20, || "f".repeat(40), |_| {});
        for id in 1..=clients {
            let client = Client::new(
                id,
                format!("127.0.0.1:{id}"),
                "127.0.0.1:6379".into(),
                Duration::ZERO,
                true,
            );
            state.clients.insert(id, client);
        }
        RecordingMaster {
            state,
            read_offset: 1,
        }
    }

    /// Client `id` runs `args`; its reply (empty when it blocked).
    pub fn run_args<A: AsRef<[u8]>>(&mut self, id: u64, args: &[A]) -> String {
        let owned = OwnedArgv::from_args(args);
        let mut client = self.state.clients.remove(&id).expect("client");
        let mut out = Reply::new();
        let mut ctx = Ctx::new(&mut self.state, &mut client, &mut out, NOW_MS);
        execute(&mut ctx, owned.argv());
        self.state.clients.insert(id, client);
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    /// Client `id` runs `line` (arguments split at spaces).
    pub fn run(&mut self, id: u64, line: &str) -> String {
        let args: Vec<&str> = line.split(' ').collect();
        self.run_args(id, &args)
    }

    /// What client `id` was sent while it was not running a command (the
    /// reply of a served blocking command).
    pub fn served(&mut self, id: u64) -> String {
        let client = self.state.clients.get_mut(&id).expect("client");
        String::from_utf8_lossy(&client.pushes.take()).into_owned()
    }

    /// The stream fed since the last call, one command per entry.
    pub fn stream(&mut self) -> Vec<String> {
        commands_since(&self.state, &mut self.read_offset)
    }
}
