//! INFO's sections against a real redis-server 7.0 when one is installed:
//! which sections each argument list prints (`default`, `all`,
//! `everything`, names, mixes, any case), in Redis's order, each once;
//! the memory, cpu, modules and cluster sections' fields replsim has;
//! `rdb_changes_since_last_save` counting each change, as Redis counts it.

mod common;

use common::{start_redis, start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

/// The section headers each INFO call prints.
fn headers(port: u16) -> Vec<String> {
    let mut client = Client::connect(port);
    let calls: &[&[&str]] = &[
        &["INFO"],
        &["INFO", "default"],
        &["INFO", "all"],
        &["INFO", "everything"],
        &["INFO", "cpu"],
        &["INFO", "cpu", "sentinel"],
        &["INFO", "cpu", "all"],
        &["INFO", "cpu", "default"],
        &["INFO", "commandSTATS"],
        &["INFO", "modules", "cluster", "memory"],
    ];
    calls
        .iter()
        .map(|call| {
            let Frame::Bulk(Some(text)) = client.cmd(call) else {
                panic!("INFO answered no text");
            };
            String::from_utf8_lossy(&text)
                .lines()
                .filter(|line| line.starts_with('#'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn info_prints_redis_sections_for_every_argument_list() {
    let port = start_replsim(Config::default());
    let ours = headers(port);
    if let Some(redis) = start_redis("info-sections", &[]) {
        assert_eq!(ours, headers(redis.port));
    }
    let default = "# Server # Clients # Memory # Persistence # Stats # Replication # CPU \
                   # Modules # Errorstats # Cluster # Keyspace";
    assert_eq!(ours[0], default);
    assert_eq!(ours[7], default);
}

#[test]
fn memory_cpu_and_cluster_sections_carry_their_fields() {
    let port = start_replsim(Config::default());
    let mut client = Client::connect(port);
    client.raw(&["SET", "k", "v"]);
    client.raw(&["SCRIPT", "LOAD", "return 1"]);
    let Frame::Bulk(Some(text)) = client.cmd(&["INFO", "memory", "cpu", "cluster"]) else {
        panic!("INFO answered no text");
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    assert!(field("used_memory").parse::<u64>().unwrap() > 0);
    assert!(field("used_memory_rss").parse::<u64>().unwrap() > 0);
    assert_eq!(field("number_of_cached_scripts"), "1");
    assert_eq!(field("maxmemory_policy"), "noeviction");
    assert!(field("used_cpu_user").parse::<f64>().is_ok());
    assert_eq!(field("used_cpu_sys_children"), "0.000000");
    assert_eq!(field("cluster_enabled"), "0");
}

#[test]
fn changes_since_the_last_save_count_every_change_as_redis_does() {
    let Some(redis) = start_redis("info-dirty", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let steps: &[&[&str]] = &[
        &["MSET", "a", "1", "b", "2"],
        &["SADD", "s", "1", "2", "3"],
        &["SADD", "s", "3"],
        &["HSET", "h", "f", "v", "g", "w"],
        &["DEL", "a", "b", "nothing"],
        &["INCR", "n"],
        &["RPUSH", "l", "x", "y"],
        &["LPOP", "l", "2"],
        &["EXPIRE", "n", "100"],
    ];
    let changes = |port: u16| -> Vec<String> {
        let mut client = Client::connect(port);
        steps
            .iter()
            .map(|step| {
                client.cmd(step);
                common::info_field(port, "rdb_changes_since_last_save").unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(changes(ours), changes(redis.port));
}

#[test]
fn lastsave_is_the_last_saves_time_as_info_reports_it() {
    let port = start_replsim(Config::default());
    let mut client = Client::connect(port);
    let lastsave = |client: &mut Client| match client.cmd(&["LASTSAVE"]) {
        Frame::Integer(n) => n,
        other => panic!("LASTSAVE replied {other:?}"),
    };
    let info = || -> i64 {
        common::info_field(port, "rdb_last_save_time")
            .unwrap()
            .parse()
            .unwrap()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Before any save: the start time.
    let started = lastsave(&mut client);
    assert!((now - 5..=now).contains(&started), "{started} vs {now}");
    assert_eq!(started, info());
    assert_eq!(client.cmd(&["SAVE"]), Frame::Simple("OK".into()));
    let saved = lastsave(&mut client);
    assert!(saved >= started);
    assert_eq!(saved, info());
}
