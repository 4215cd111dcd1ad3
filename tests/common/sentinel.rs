//! Sentinel processes for the real-TCP tests: `replsim sentinel` or a real
//! `redis-sentinel`, each with its own sentinel.conf in a fresh directory,
//! killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use replsim::resp::Frame;

use super::{free_port, fresh_dir, wait_for_ping, Client};

/// Which Sentinel implementation a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Replsim,
    Redis,
}

pub struct SentinelProcess {
    pub port: u16,
    pub dir: std::path::PathBuf,
    pub flavor: Flavor,
    child: Option<Child>,
}

impl SentinelProcess {
    /// Starts a Sentinel whose sentinel.conf holds `body` after its port.
    pub fn start(flavor: Flavor, name: &str, body: &str) -> SentinelProcess {
        let port = free_port();
        let dir = fresh_dir(&format!("sentinel-{name}-{port}"));
        let conf = dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir \"{}\"\n{body}",
                dir.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("sentinel.log")).unwrap();
        let mut command = match flavor {
            Flavor::Replsim => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_replsim"));
                c.arg("sentinel");
                c
            }
            Flavor::Redis => Command::new("redis-sentinel"),
        };
        let child = command
            .arg(&conf)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn sentinel");
        wait_for_ping(port);
        SentinelProcess {
            port,
            dir,
            flavor,
            child: Some(child),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sentinel.log")).unwrap_or_default()
    }

    pub fn conf(&self) -> String {
        std::fs::read_to_string(self.dir.join("sentinel.conf")).unwrap_or_default()
    }

    pub fn cmd(&self, args: &[&str]) -> Frame {
        Client::connect(self.port).cmd(args)
    }

    /// `host:port` it names as the master of `name`.
    pub fn master_addr(&self, name: &str) -> Option<String> {
        match self.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]) {
            Frame::Array(Some(items)) => match &items[..] {
                [Frame::Bulk(Some(h)), Frame::Bulk(Some(p))] => Some(format!(
                    "{}:{}",
                    String::from_utf8_lossy(h),
                    String::from_utf8_lossy(p)
                )),
                _ => None,
            },
            _ => None,
        }
    }

    /// A field of SENTINEL MASTER `name`.
    pub fn master_field(&self, name: &str, field: &str) -> Option<String> {
        let Frame::Array(Some(items)) = self.cmd(&["SENTINEL", "MASTER", name]) else {
            return None;
        };
        items.chunks(2).find_map(|pair| match pair {
            [Frame::Bulk(Some(k)), Frame::Bulk(Some(v))] if k == field.as_bytes() => {
                Some(String::from_utf8_lossy(v).into_owned())
            }
            _ => None,
        })
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `check` holds, up to `secs`; how long it took, or None.
pub fn within(secs: u64, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
