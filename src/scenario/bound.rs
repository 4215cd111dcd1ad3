//! How much simulated time a scenario can take at most: each step's longest
//! wait (its `at` or `after`, and its own duration), walked in file order,
//! then the liveness bound. The runner sets madsim's time limit from it, and
//! validation rejects files whose bound passes [`MAX_SIMULATED_TIME`], at
//! the field that pushes it over.

use std::time::Duration;

use super::model::{Action, DisplayDuration, Scenario, Step};

/// The longest simulated time a scenario may take: 24 hours. A longer run
/// is almost always a mistake (a unit or an `ops` count off by orders of
/// magnitude) and would take hours of wall time.
pub const MAX_SIMULATED_TIME: Duration = Duration::from_secs(24 * 3600);

/// Simulated time a step may take beyond its written durations: waiting
/// for a command's reply (the harness gives up after 30 s) or for a
/// connection.
pub const STEP_SLACK: Duration = Duration::from_secs(30);

/// Simulated time the end of a run may take beyond the liveness bound:
/// healing faults, restarting nodes and joining background workloads.
pub const RUN_SLACK: Duration = Duration::from_secs(60);

/// One way a step moves the clock, with the field it comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    /// The field's keys below the step, like `["workload", "ops"]`.
    pub field: Vec<&'static str>,
    /// The value as the reader wrote it, for messages: `"3601s"`,
    /// `18446744073709551615 ops at 1000/s`.
    pub shown: String,
    /// How it moves the clock.
    pub effect: Effect,
}

/// How a [`Part`] moves the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// `at`: the step starts no earlier than this since the start.
    AtLeast(Duration),
    /// Everything else: this much more time.
    Adds(Duration),
}

impl Effect {
    /// The clock after this part, from `now`.
    pub fn apply(self, now: Duration) -> Duration {
        match self {
            Effect::AtLeast(at) => now.max(at),
            Effect::Adds(d) => now.saturating_add(d),
        }
    }
}

fn quoted(d: Duration) -> String {
    format!("\"{}\"", DisplayDuration(d))
}

/// How long `ops` operations take at `rate` per second, saturating.
fn ops_duration(ops: u64, rate: f64) -> Duration {
    Duration::try_from_secs_f64(ops as f64 / rate).unwrap_or(Duration::MAX)
}

/// The ways `step` moves the clock, in the order they happen, ending with
/// the step's [`STEP_SLACK`].
pub(crate) fn parts(step: &Step) -> Vec<Part> {
    let mut parts = Vec::new();
    if let Some(at) = step.at {
        parts.push(Part {
            field: vec!["at"],
            shown: quoted(at.max),
            effect: Effect::AtLeast(at.max),
        });
    }
    if let Some(after) = step.after {
        parts.push(Part {
            field: vec!["after"],
            shown: quoted(after.max),
            effect: Effect::Adds(after.max),
        });
    }
    let mut adds = |field: Vec<&'static str>, shown: String, d: Duration| {
        parts.push(Part {
            field,
            shown,
            effect: Effect::Adds(d),
        })
    };
    match &step.action {
        Action::Sleep(range) => adds(vec!["sleep"], quoted(range.max), range.max),
        Action::Await { timeout, .. } => adds(vec!["timeout"], quoted(*timeout), *timeout),
        Action::Workload(w) => {
            // A workload stops at `ops` or at `for`, whichever comes first.
            let by_ops = w.ops.map(|ops| {
                let shown = format!("{} ops at {}/s", ops.max, w.rate);
                (
                    vec!["workload", "ops"],
                    shown,
                    ops_duration(ops.max, w.rate),
                )
            });
            let by_time = w
                .duration
                .map(|d| (vec!["workload", "for"], quoted(d.max), d.max));
            let shortest = match (by_ops, by_time) {
                (Some(o), Some(t)) => Some(if o.2 <= t.2 { o } else { t }),
                (o, t) => o.or(t),
            };
            if let Some((field, shown, d)) = shortest {
                adds(field, shown, d);
            }
        }
        Action::Partition {
            duration: Some(d), ..
        }
        | Action::Pause {
            duration: Some(d), ..
        }
        | Action::Throttle {
            duration: Some(d), ..
        }
        | Action::Stall {
            duration: Some(d), ..
        } => adds(vec!["for"], quoted(d.max), d.max),
        _ => {}
    }
    parts.push(Part {
        field: Vec::new(),
        shown: String::new(),
        effect: Effect::Adds(STEP_SLACK),
    });
    parts
}

impl Scenario {
    /// An upper bound of the simulated time one run of this scenario takes:
    /// every step at its latest `at`, longest `after` and longest duration
    /// (sleep, await timeout, workload `ops` at its rate or `for`, timed
    /// partition or pause) plus [`STEP_SLACK`], then the liveness bound and
    /// [`RUN_SLACK`]. Saturates instead of overflowing; validation keeps it
    /// within [`MAX_SIMULATED_TIME`].
    pub fn simulated_time_bound(&self) -> Duration {
        let steps_end = self
            .steps
            .iter()
            .flat_map(parts)
            .fold(Duration::ZERO, |now, part| part.effect.apply(now));
        steps_end
            .saturating_add(self.liveness)
            .saturating_add(RUN_SLACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(steps: &str) -> Scenario {
        let text = format!(
            r#"{{"name": "t", "liveness": "10s", "nodes": {{"m": {{}}, "r1": {{"replicaof": "m"}}}}, "steps": [{steps}]}}"#
        );
        Scenario::parse("t.json", &text).unwrap()
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn no_steps_leave_liveness_and_run_slack() {
        assert_eq!(scenario("").simulated_time_bound(), secs(10) + RUN_SLACK);
    }

    #[test]
    fn each_step_adds_its_longest_duration_and_slack() {
        let s = scenario(
            r#"{"sleep": "1s..3s"}, {"after": "2s", "await": "linked", "timeout": "5s"},
               {"pause": "r1", "for": "1s..4s"}, {"partition": {"between": [["m"], ["r1"]]}, "for": "6s"}"#,
        );
        let steps = secs(3) + secs(2 + 5) + secs(4) + secs(6) + STEP_SLACK * 4;
        assert_eq!(s.simulated_time_bound(), steps + secs(10) + RUN_SLACK);
    }

    #[test]
    fn at_moves_the_clock_only_forward() {
        let late = scenario(r#"{"at": "500s", "crash": "r1"}"#);
        assert_eq!(
            late.simulated_time_bound(),
            secs(500) + STEP_SLACK + secs(10) + RUN_SLACK
        );
        // Already past `at`: it adds nothing.
        let early = scenario(r#"{"sleep": "100s"}, {"at": "1s", "crash": "r1"}"#);
        assert_eq!(
            early.simulated_time_bound(),
            secs(100) + STEP_SLACK * 2 + secs(10) + RUN_SLACK
        );
    }

    #[test]
    fn workloads_stop_at_ops_or_for_whichever_is_shorter() {
        let by_ops = scenario(r#"{"workload": {"on": "m", "ops": "10..2000", "rate": 100}}"#);
        assert_eq!(
            by_ops.simulated_time_bound(),
            secs(20) + STEP_SLACK + secs(10) + RUN_SLACK
        );
        let both = scenario(r#"{"workload": {"on": "m", "ops": 2000, "rate": 100, "for": "3s"}}"#);
        assert_eq!(
            both.simulated_time_bound(),
            secs(3) + STEP_SLACK + secs(10) + RUN_SLACK
        );
    }

    #[test]
    fn huge_values_saturate_instead_of_overflowing() {
        let step = Step {
            path: "steps[0]".into(),
            line: 1,
            column: 1,
            at: None,
            after: None,
            background: false,
            action: Action::Sleep(crate::scenario::DurationRange::fixed(Duration::MAX)),
        };
        let mut s = scenario("");
        s.steps = vec![step.clone(), step];
        assert_eq!(s.simulated_time_bound(), Duration::MAX);
        assert_eq!(ops_duration(u64::MAX, 1e-300), Duration::MAX);
    }
}
