//! Every parameter Redis 7.0.15 has (`CONFIG GET *` of a default
//! redis-server, plus the hidden debug parameters), with its alias, whether
//! CONFIG SET may change it, how its value is checked, and its default as
//! CONFIG GET prints it. Parameters replsim honours are handled by
//! [`super::config`]'s own table; the rest are accepted, checked with
//! Redis's rules and shown, but change nothing (the README lists them).

/// How a parameter's value is checked, with Redis's rules.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// An integer within bounds.
    Int {
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// An integer written in octal (`unixsocketperm 700`) within bounds.
    Octal {
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A memory value (`64mb`, `1gb`, bytes) within bounds.
    Memory {
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A memory value or a percentage (`10%`, shown as a negative number
    /// internally by Redis); accepted like a memory value.
    Percent {
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Flags: one or more words of a fixed set (`"nosave now"`), each
    /// with its bit; a word of value 0 (`default`) stands alone.
    Flags(&'static [(&'static str, u32)]),
    /// Any string.
    Str,
}

/// One parameter of Redis 7.0.
#[derive(Debug)]
pub struct Spec {
    /// Its name.
    pub name: &'static str,
    /// The old name Redis also accepts (`slave-read-only`).
    pub alias: Option<&'static str>,
    /// CONFIG SET may change it.
    pub mutable: bool,
    /// `enable-protected-configs` gates CONFIG SET of it.
    pub protected: bool,
    /// Left out of `CONFIG GET *` (Redis's debug parameters).
    pub hidden: bool,
    /// How its value is checked.
    pub kind: Kind,
    /// Its default, as CONFIG GET prints it.
    pub default: &'static str,
}

/// The flags of `shutdown-on-sigint` and `shutdown-on-sigterm`, with
/// Redis's bits (`SHUTDOWN_SAVE` ...).
const SHUTDOWN_FLAGS: &[(&str, u32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];

/// Redis 7.0.15's parameters (special ones, whose values have their own
/// syntax, are in [`SPECIAL`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    Spec { name: "rdbchecksum", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "daemonize", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "io-threads-do-reads", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "always-show-logo", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "protected-mode", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "rdbcompression", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "rdb-del-sync-files", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "activerehashing", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "stop-writes-on-bgsave-error", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "set-proc-title", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "dynamic-hz", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "lazyfree-lazy-eviction", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "lazyfree-lazy-expire", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "lazyfree-lazy-server-del", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "lazyfree-lazy-user-del", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "lazyfree-lazy-user-flush", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "repl-disable-tcp-nodelay", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "repl-diskless-sync", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "aof-rewrite-incremental-fsync", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "no-appendfsync-on-rewrite", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "cluster-require-full-coverage", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "rdb-save-incremental-fsync", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "aof-load-truncated", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "aof-use-rdb-preamble", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "aof-timestamp-enabled", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "cluster-replica-no-failover", alias: Some("cluster-slave-no-failover"), mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "replica-lazy-flush", alias: Some("slave-lazy-flush"), mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "replica-serve-stale-data", alias: Some("slave-serve-stale-data"), mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "replica-read-only", alias: Some("slave-read-only"), mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "replica-ignore-maxmemory", alias: Some("slave-ignore-maxmemory"), mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "jemalloc-bg-thread", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "activedefrag", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "syslog-enabled", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "cluster-enabled", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "appendonly", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "cluster-allow-reads-when-down", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "cluster-allow-pubsubshard-when-down", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "crash-log-enabled", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "crash-memcheck-enabled", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "use-exit-on-panic", alias: None, mutable: true, protected: false, hidden: true, kind: Kind::Bool, default: "no" },
    Spec { name: "disable-thp", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "cluster-allow-replica-migration", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "replica-announced", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "latency-tracking", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "yes" },
    Spec { name: "aof-disable-auto-gc", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "replica-ignore-disk-write-errors", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Bool, default: "no" },
    Spec { name: "aclfile", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "unixsocket", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "pidfile", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "replica-announce-ip", alias: Some("slave-announce-ip"), mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "masteruser", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "cluster-announce-ip", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "cluster-config-file", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "nodes.conf" },
    Spec { name: "cluster-announce-hostname", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "syslog-ident", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "redis" },
    Spec { name: "dbfilename", alias: None, mutable: true, protected: true, hidden: false, kind: Kind::Str, default: "dump.rdb" },
    Spec { name: "appendfilename", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "appendonly.aof" },
    Spec { name: "appenddirname", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "appendonlydir" },
    Spec { name: "server_cpulist", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "bio_cpulist", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "aof_rewrite_cpulist", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "bgsave_cpulist", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "ignore-warnings", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "proc-title-template", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "{title} {listen-addr} {server-mode}" },
    Spec { name: "bind-source-addr", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "logfile", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "masterauth", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "requirepass", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Str, default: "" },
    Spec { name: "supervised", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Enum(&["upstart", "systemd", "auto", "no"]), default: "no" },
    Spec { name: "syslog-facility", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), default: "local0" },
    Spec { name: "repl-diskless-load", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), default: "disabled" },
    Spec { name: "loglevel", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["debug", "verbose", "notice", "warning"]), default: "notice" },
    Spec { name: "maxmemory-policy", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]), default: "noeviction" },
    Spec { name: "appendfsync", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["everysec", "always", "no"]), default: "everysec" },
    Spec { name: "oom-score-adj", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["no", "yes", "relative", "absolute"]), default: "no" },
    Spec { name: "acl-pubsub-default", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["allchannels", "resetchannels"]), default: "resetchannels" },
    Spec { name: "sanitize-dump-payload", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["no", "yes", "clients"]), default: "no" },
    Spec { name: "enable-protected-configs", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Enum(&["no", "yes", "local"]), default: "no" },
    Spec { name: "enable-debug-command", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Enum(&["no", "yes", "local"]), default: "no" },
    Spec { name: "enable-module-command", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Enum(&["no", "yes", "local"]), default: "no" },
    Spec { name: "cluster-preferred-endpoint-type", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), default: "ip" },
    Spec { name: "propagation-error-behavior", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), default: "ignore" },
    Spec { name: "shutdown-on-sigint", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Flags(SHUTDOWN_FLAGS), default: "default" },
    Spec { name: "shutdown-on-sigterm", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Flags(SHUTDOWN_FLAGS), default: "default" },
    Spec { name: "databases", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 2147483647 }, default: "16" },
    Spec { name: "port", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 65535 }, default: "6379" },
    Spec { name: "io-threads", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 128 }, default: "1" },
    Spec { name: "auto-aof-rewrite-percentage", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "100" },
    Spec { name: "cluster-replica-validity-factor", alias: Some("cluster-slave-validity-factor"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "10" },
    Spec { name: "list-max-listpack-size", alias: Some("list-max-ziplist-size"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: -2147483648, max: 2147483647 }, default: "-2" },
    Spec { name: "tcp-keepalive", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "300" },
    Spec { name: "cluster-migration-barrier", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "1" },
    Spec { name: "active-defrag-cycle-min", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 99 }, default: "1" },
    Spec { name: "active-defrag-cycle-max", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 99 }, default: "25" },
    Spec { name: "active-defrag-threshold-lower", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 1000 }, default: "10" },
    Spec { name: "active-defrag-threshold-upper", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 1000 }, default: "100" },
    Spec { name: "lfu-log-factor", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "10" },
    Spec { name: "lfu-decay-time", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "1" },
    Spec { name: "replica-priority", alias: Some("slave-priority"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "100" },
    Spec { name: "repl-diskless-sync-delay", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "5" },
    Spec { name: "maxmemory-samples", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 2147483647 }, default: "5" },
    Spec { name: "maxmemory-eviction-tenacity", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 100 }, default: "10" },
    Spec { name: "timeout", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "0" },
    Spec { name: "replica-announce-port", alias: Some("slave-announce-port"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 65535 }, default: "0" },
    Spec { name: "tcp-backlog", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "511" },
    Spec { name: "cluster-port", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 65535 }, default: "0" },
    Spec { name: "cluster-announce-bus-port", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 65535 }, default: "0" },
    Spec { name: "cluster-announce-port", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 65535 }, default: "0" },
    Spec { name: "cluster-announce-tls-port", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 65535 }, default: "0" },
    Spec { name: "repl-timeout", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 2147483647 }, default: "60" },
    Spec { name: "repl-ping-replica-period", alias: Some("repl-ping-slave-period"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 2147483647 }, default: "10" },
    Spec { name: "list-compress-depth", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "0" },
    Spec { name: "rdb-key-save-delay", alias: None, mutable: true, protected: false, hidden: true, kind: Kind::Int { min: -2147483648, max: 2147483647 }, default: "0" },
    Spec { name: "key-load-delay", alias: None, mutable: true, protected: false, hidden: true, kind: Kind::Int { min: -2147483648, max: 2147483647 }, default: "0" },
    Spec { name: "active-expire-effort", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 10 }, default: "1" },
    Spec { name: "hz", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "10" },
    Spec { name: "min-replicas-to-write", alias: Some("min-slaves-to-write"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "0" },
    Spec { name: "min-replicas-max-lag", alias: Some("min-slaves-max-lag"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "10" },
    Spec { name: "watchdog-period", alias: None, mutable: true, protected: false, hidden: true, kind: Kind::Int { min: 0, max: 2147483647 }, default: "0" },
    Spec { name: "shutdown-timeout", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "10" },
    Spec { name: "repl-diskless-sync-max-replicas", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 2147483647 }, default: "0" },
    Spec { name: "maxclients", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 4294967295 }, default: "10000" },
    Spec { name: "unixsocketperm", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Octal { min: 0, max: 511 }, default: "0" },
    Spec { name: "socket-mark-id", alias: None, mutable: false, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 4294967295 }, default: "0" },
    Spec { name: "active-defrag-max-scan-fields", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 1, max: 9223372036854775807 }, default: "1000" },
    Spec { name: "slowlog-max-len", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "128" },
    Spec { name: "acllog-max-len", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "128" },
    Spec { name: "busy-reply-threshold", alias: Some("lua-time-limit"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "5000" },
    Spec { name: "cluster-node-timeout", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "15000" },
    Spec { name: "slowlog-log-slower-than", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: -1, max: 9223372036854775807 }, default: "10000" },
    Spec { name: "latency-monitor-threshold", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "0" },
    Spec { name: "proto-max-bulk-len", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 1048576, max: 9223372036854775807 }, default: "536870912" },
    Spec { name: "stream-node-max-entries", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "100" },
    Spec { name: "repl-backlog-size", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 1, max: 9223372036854775807 }, default: "1048576" },
    Spec { name: "maxmemory", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: u64::MAX as i128 }, default: "0" },
    Spec { name: "cluster-link-sendbuf-limit", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: u64::MAX as i128 }, default: "0" },
    Spec { name: "hash-max-listpack-entries", alias: Some("hash-max-ziplist-entries"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "512" },
    Spec { name: "set-max-intset-entries", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "512" },
    Spec { name: "zset-max-listpack-entries", alias: Some("zset-max-ziplist-entries"), mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "128" },
    Spec { name: "active-defrag-ignore-bytes", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 1, max: 9223372036854775807 }, default: "104857600" },
    Spec { name: "hash-max-listpack-value", alias: Some("hash-max-ziplist-value"), mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: 9223372036854775807 }, default: "64" },
    Spec { name: "stream-node-max-bytes", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: 9223372036854775807 }, default: "4096" },
    Spec { name: "zset-max-listpack-value", alias: Some("zset-max-ziplist-value"), mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: 9223372036854775807 }, default: "64" },
    Spec { name: "hll-sparse-max-bytes", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: 9223372036854775807 }, default: "3000" },
    Spec { name: "tracking-table-max-keys", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "1000000" },
    Spec { name: "client-query-buffer-limit", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 1048576, max: 9223372036854775807 }, default: "1073741824" },
    Spec { name: "maxmemory-clients", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Percent { min: -100, max: 9223372036854775807 }, default: "0" },
    Spec { name: "repl-backlog-ttl", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Int { min: 0, max: 9223372036854775807 }, default: "3600" },
    Spec { name: "auto-aof-rewrite-min-size", alias: None, mutable: true, protected: false, hidden: false, kind: Kind::Memory { min: 0, max: 9223372036854775807 }, default: "67108864" },
    Spec { name: "loading-process-events-interval-bytes", alias: None, mutable: true, protected: false, hidden: true, kind: Kind::Int { min: 1024, max: 2147483647 }, default: "2097152" },
];

/// Redis's parameters with a syntax of their own (several words, flags):
/// name, alias, default. replsim models `save`, `bind`, `replicaof` and
/// `client-output-buffer-limit` itself (and `notify-keyspace-events`, in
/// `config`'s own table); the others are kept as given.
pub const SPECIAL: &[(&str, Option<&str>, &str)] = &[
    ("oom-score-adj-values", None, "0 200 800"),
    ("latency-tracking-info-percentiles", None, "50 99 99.9"),
];

/// Multi-word parameters: their words are joined with spaces when they come
/// from a config file line or the command line.
pub const MULTI_ARG: &[&str] = &[
    "save",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "bind",
    "replicaof",
    "latency-tracking-info-percentiles",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
];

/// The spec of `name` (or of the parameter `name` is an alias of).
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| {
        s.name.eq_ignore_ascii_case(name) || s.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// The canonical name of `name` when it is an alias (`slaveof` ->
/// `replicaof`), else `name` itself.
pub fn canonical(name: &str) -> &str {
    if name.eq_ignore_ascii_case("slaveof") {
        return "replicaof";
    }
    match spec(name) {
        Some(s) => s.name,
        None => name,
    }
}
