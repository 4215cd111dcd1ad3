//! `unixsocket` on `replsim serve`, against a real redis-server 7.0 when
//! one is installed: clients connect through the socket file (made with
//! `unixsocketperm`, octal), are named `<path>:0` and flagged `U` in
//! CLIENT LIST, and SHUTDOWN removes the file, logging as Redis logs.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use common::{fresh_dir, start_redis, ReplsimProcess};

/// Sends `request` (inline) through the socket at `path`; the reply.
fn ask(path: &Path, request: &str) -> String {
    let mut stream = UnixStream::connect(path).expect("connect to the Unix socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(format!("{request}\r\n").as_bytes())
        .unwrap();
    let mut reply = vec![0u8; 64 * 1024];
    let n = stream.read(&mut reply).unwrap();
    String::from_utf8_lossy(&reply[..n]).into_owned()
}

/// What a client of the socket at `path` sees of itself and the settings.
fn through_the_socket(path: &Path) -> Vec<String> {
    let me = ask(path, "CLIENT INFO");
    let field = |name: &str| {
        me.split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")).map(str::to_string))
            .unwrap_or_default()
    };
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    vec![
        ask(path, "PING"),
        field("addr").replace(&*path.to_string_lossy(), "PATH"),
        field("laddr").replace(&*path.to_string_lossy(), "PATH"),
        field("flags"),
        ask(path, "CONFIG GET unixsocketperm"),
        format!("{mode:o}"),
    ]
}

#[test]
fn clients_of_the_unix_socket_are_named_after_it_and_shutdown_removes_it() {
    let expected = vec![
        "+PONG\r\n".to_string(),
        "PATH:0".to_string(),
        "PATH:0".to_string(),
        "U".to_string(),
        "*2\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n".to_string(),
        "700".to_string(),
    ];
    let dir = fresh_dir("unix-socket");
    let redis_path = dir.join("redis.sock");
    let redis_text = redis_path.to_string_lossy().into_owned();
    if let Some(_redis) = start_redis(
        "unix-socket",
        &["--unixsocket", &redis_text, "--unixsocketperm", "700"],
    ) {
        assert_eq!(through_the_socket(&redis_path), expected);
    }
    let path = dir.join("replsim.sock");
    let text = path.to_string_lossy().into_owned();
    let node = ReplsimProcess::start(
        "unix-socket",
        &["--unixsocket", &text, "--unixsocketperm", "700"],
    );
    assert_eq!(through_the_socket(&path), expected);
    let mut stream = UnixStream::connect(&path).unwrap();
    stream.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let mut node = node;
    assert!(node.wait_exit(10).is_some(), "the node did not exit");
    assert!(!path.exists(), "the socket file is still there");
    let log = node.log();
    for line in [
        &format!("The server is now ready to accept connections at {text}"),
        "Removing the unix socket file.",
    ] {
        assert!(log.contains(line), "{line:?} not in the log:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
