//! Each simulated node's wall clock: madsim's simulated time plus the
//! node's own skew, which the harness changes (jumps forward or back, and
//! a drift rate). Only the wall clock (`Runtime::unix_time_ms`: expiry,
//! RDB timestamps, log stamps of real time) is skewed; timers and timeouts
//! run on the monotonic clock, as Redis's do, so a clock jump never fires
//! or delays one.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One node's skew.
#[derive(Debug, Clone, Copy, Default)]
struct Skew {
    /// Milliseconds added by jumps, plus the drift accumulated up to
    /// `drift_since`.
    offset_ms: f64,
    /// Extra milliseconds per simulated millisecond (0.001 gains 1 ms per
    /// second; negative loses).
    drift: f64,
    /// When the current drift rate began.
    drift_since: Duration,
}

impl Skew {
    fn at(&self, now: Duration) -> f64 {
        self.offset_ms + self.drift * now.saturating_sub(self.drift_since).as_secs_f64() * 1000.0
    }
}

/// The skew of every node's wall clock (nodes never named have none).
#[derive(Debug, Default)]
pub struct SimClocks {
    skews: Mutex<BTreeMap<String, Skew>>,
}

fn simulated_now() -> Duration {
    madsim::time::TimeHandle::try_current().map_or(Duration::ZERO, |t| t.elapsed())
}

impl SimClocks {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Skew>) -> T) -> T {
        f(&mut self.skews.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// How far `node`'s clock is ahead of true time now, in ms (negative:
    /// behind).
    pub fn skew_ms(&self, node: &str) -> i64 {
        let now = simulated_now();
        self.with(|skews| skews.get(node).map_or(0.0, |skew| skew.at(now)))
            .round() as i64
    }

    /// `node`'s wall clock for a true time of `true_ms` (never below 0).
    pub fn node_time_ms(&self, node: &str, true_ms: u64) -> u64 {
        (true_ms as i64).saturating_add(self.skew_ms(node)).max(0) as u64
    }

    /// Moves `node`'s clock by `delta_ms` at once (back when negative).
    pub fn jump(&self, node: &str, delta_ms: i64) {
        self.with(|skews| skews.entry(node.to_string()).or_default().offset_ms += delta_ms as f64);
    }

    /// From now on `node`'s clock gains `drift` ms per true ms (loses when
    /// negative; 0 stops drifting, keeping what it gained).
    pub fn set_drift(&self, node: &str, drift: f64) {
        let now = simulated_now();
        self.with(|skews| {
            let skew = skews.entry(node.to_string()).or_default();
            skew.offset_ms = skew.at(now);
            skew.drift = drift;
            skew.drift_since = now;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_add_up_and_a_clock_never_reads_before_the_epoch() {
        let clocks = SimClocks::default();
        assert_eq!(clocks.node_time_ms("r1", 10_000), 10_000);
        clocks.jump("r1", 3_000);
        clocks.jump("r1", -500);
        assert_eq!(clocks.skew_ms("r1"), 2_500);
        assert_eq!(clocks.node_time_ms("r1", 10_000), 12_500);
        clocks.jump("r2", -20_000);
        assert_eq!(clocks.node_time_ms("r2", 10_000), 0);
        assert_eq!(clocks.skew_ms("m"), 0);
    }
}
