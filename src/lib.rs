//! replsim: a deterministic simulation testbed for Redis-style master/replica
//! replication.
//!
//! A Redis 7.0-compatible server core runs either on real TCP (`replsim
//! serve`, usable with `redis-cli`, `redis-benchmark` and real redis-server
//! peers) or, unchanged, inside madsim's seeded simulated network and clock.
//!
//! # Layout
//!
//! - [`resp`]: RESP2 request parsing (incremental, multibulk and inline) and
//!   reply encoding.
//! - [`keyspace`]: 16 databases of strings, lists, hashes, sets and sorted
//!   sets and streams with absolute expiry times; never reads a clock.
//! - [`stream`]: the stream type: entries in Redis's node layout, consumer
//!   groups, pending entries, trimming.
//! - [`digest`]: `DEBUG DIGEST` with Redis 7.0's algorithm.
//! - [`rdb`]: the RDB v10 snapshot format: encoder, and a decoder for every
//!   encoding a Redis 7.0 master sends (plus older ones).
//! - [`longdouble`]: x87 extended precision for INCRBYFLOAT.
//! - [`geohash`]: the GEO commands' geohash scores, search cells and
//!   distances, bit for bit as Redis computes them.
//! - [`scripting`]: Lua 5.1 scripting as Redis 7.0 has it: EVAL scripts,
//!   FUNCTION libraries, the `redis.*` API, the sandbox and reply
//!   conversions.
//! - [`command`]: the command table, Redis's pre-execution checks, every
//!   command family, and propagation of writes.
//! - [`server`]: node state, connections, config, INFO, pub/sub delivery.
//! - [`replication`]: ids, offsets, backlog, PSYNC, the master and replica
//!   sides of a link.
//! - [`log`]: Redis-style log lines, deterministic in simulation.
//! - [`sentinel`]: Redis Sentinel 7.0 on the runtime seam (monitoring,
//!   votes per epoch, failover), for the simulation and `replsim sentinel`.
//! - `sweep` (madsim builds): seed lists, shards and worker threads for
//!   running many seeds.
//! - `explore` (madsim builds): whole runs drawn from a seed, and
//!   shrinking of failures to minimal scenario files.
//! - `report` (madsim builds): the JSON lines of sweeps and shards merged
//!   into one summary, as text or an HTML page.
//! - `sim` (madsim builds): the harness that plays a scenario for a seed
//!   (cluster, faults, workloads) and the checker that judges it.
//! - `timeline` (madsim builds): a run's timeline, recorded as it plays
//!   and drawn as a self-contained HTML page.
//! - [`runtime`]: the seam to the world (tasks, time, TCP, storage) with a
//!   tokio and a madsim implementation.
//! - [`bench`]: the `replsim bench` comparison against a real redis-server.
//! - [`scenario`]: the scenario file format: strict JSON parsing and
//!   validation into the model the simulation runner executes.
//! - `fuzzing` (hidden): entry points for the fuzz targets in `fuzz/`.

#![deny(missing_docs)]

pub mod bench;
pub mod command;
pub mod digest;
#[cfg(madsim)]
pub mod explore;
#[doc(hidden)]
pub mod fuzzing;
pub mod geohash;
pub mod hll;
pub mod keyspace;
pub mod log;
pub mod longdouble;
pub mod rdb;
pub mod replication;
#[cfg(madsim)]
pub mod report;
pub mod resp;
pub mod runtime;
pub mod scenario;
pub mod scripting;
pub mod sentinel;
pub mod server;
#[cfg(madsim)]
pub mod sim;
pub mod stream;
#[cfg(madsim)]
pub mod sweep;
#[cfg(madsim)]
pub mod timeline;

/// The Redis version whose behaviour replsim reproduces, reported where
/// Redis reports its own version (INFO, HELLO) so that clients treat replsim
/// as that version.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";
