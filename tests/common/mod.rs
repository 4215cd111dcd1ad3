//! Helpers shared by the integration tests: a blocking RESP client, a real
//! redis-server process, and a replsim server on a background thread.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use replsim::resp::{encode_command, Frame, FrameError};
use replsim::runtime::{DirStorage, TokioRuntime};
use replsim::server::{Config, Server};

/// A blocking RESP client that returns raw reply bytes.
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one reply frame; returns its raw bytes, or `None` on EOF.
    pub fn read_raw(&mut self) -> Option<Vec<u8>> {
        loop {
            match Frame::parse(&self.buffer) {
                Ok((_, used)) => {
                    let raw = self.buffer[..used].to_vec();
                    self.buffer.drain(..used);
                    return Some(raw);
                }
                Err(FrameError::Incomplete) => {}
                Err(e) => panic!("bad reply {e}: {:?}", String::from_utf8_lossy(&self.buffer)),
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a command and returns the raw reply.
    pub fn raw<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        let mut request = Vec::new();
        encode_command(&mut request, args);
        self.send_raw(&request);
        self.read_raw().expect("connection closed before the reply")
    }

    /// Sends a command and returns the parsed reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        Frame::parse(&self.raw(args)).unwrap().0
    }

    /// True once the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

/// A free loopback port (bind to 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_ping(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            drop(stream);
            let mut client = Client::connect(port);
            let reply = client.raw(&["PING"]);
            if reply == b"+PONG\r\n" || reply.starts_with(b"-NOAUTH") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no server answered on port {port}");
}

/// A real redis-server 7.0 process, killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Child,
    pub dir: std::path::PathBuf,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts redis-server with `extra` arguments, or returns `None` (after
/// printing that the test is skipped) when it is not installed. In CI
/// (`CI=true`) a missing redis-server fails the test instead.
pub fn start_redis(test: &str, extra: &[&str]) -> Option<RedisServer> {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: redis-server is not installed, and CI requires it");
        }
        eprintln!("{test}: skipped, redis-server is not installed (apt-get install redis-server)");
        return None;
    }
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("replsim-test-redis-{test}-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--enable-debug-command", "yes", "--dir"])
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    let server = RedisServer { port, child, dir };
    wait_for_ping(port);
    Some(server)
}

/// Starts a replsim server on real TCP in a background thread.
pub fn start_replsim(mut config: Config) -> u16 {
    let port = free_port();
    config.port = port;
    config.bind = "127.0.0.1".into();
    if config.enable_debug_command == "no" {
        config.enable_debug_command = "yes".into();
    }
    let dir = std::env::temp_dir().join(format!("replsim-test-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = Server::new(TokioRuntime::new(Arc::new(DirStorage::new(dir))), config);
            let listener = server.bind().await.expect("bind");
            server.serve(listener).await.unwrap();
        });
    });
    wait_for_ping(port);
    port
}

/// Is redis-cli / redis-benchmark installed? Same skip rules as redis-server.
pub fn tool_available(test: &str, tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {tool} is not installed, and CI requires it");
    }
    eprintln!("{test}: skipped, {tool} is not installed (apt-get install redis-tools)");
    false
}
