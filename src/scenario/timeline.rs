//! The static walk over the steps: in file order (which is the order steps
//! run in, whatever their timing), it tracks each node's life (up, crashed,
//! paused) and the replication topology, and explains why a step cannot
//! happen — restarting a running node, resuming one that is not paused, a
//! command on a crashed node, a `replicaof` that makes a cycle.

use std::collections::BTreeMap;

/// Why a step cannot happen: the message, and a hint when there is a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn new(message: String) -> Self {
        Problem {
            message,
            hint: None,
        }
    }

    fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_string());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Up,
    Crashed,
    Paused,
}

#[derive(Debug, Clone)]
struct NodeTrack {
    life: Life,
    master: Option<String>,
    /// The node's `replicaof` in the file: a restart comes back to it.
    configured_master: Option<String>,
    /// Events so far, like "crashed at steps[1]".
    history: Vec<String>,
    /// The step of the latest `pause` with `for`, while no later event.
    timed_pause: Option<String>,
}

/// Node states and topology at one point of the steps.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    nodes: BTreeMap<String, NodeTrack>,
}

impl Timeline {
    /// Every node up, replicating as `topology` says: `(node, master)`.
    pub fn new<'a>(topology: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        let nodes = topology
            .into_iter()
            .map(|(name, master)| {
                let track = NodeTrack {
                    life: Life::Up,
                    master: master.map(str::to_string),
                    configured_master: master.map(str::to_string),
                    history: Vec::new(),
                    timed_pause: None,
                };
                (name.to_string(), track)
            })
            .collect();
        Timeline { nodes }
    }

    fn track(&mut self, node: &str) -> &mut NodeTrack {
        // Names reach the timeline only after they were checked against the
        // topology; an unknown one gets a fresh entry rather than a panic.
        self.nodes
            .entry(node.to_string())
            .or_insert_with(|| NodeTrack {
                life: Life::Up,
                master: None,
                configured_master: None,
                history: Vec::new(),
                timed_pause: None,
            })
    }

    fn record(&mut self, node: &str, event: String) {
        let track = self.track(node);
        track.history.push(event);
        track.timed_pause = None;
    }

    /// "it is up: crashed at steps[1], restarted at steps[3]".
    fn situation(&mut self, node: &str) -> String {
        let track = self.track(node);
        let life = match track.life {
            Life::Up => "up",
            Life::Crashed => "crashed",
            Life::Paused => "paused",
        };
        if track.history.is_empty() {
            return "it is up: no earlier step crashed or paused it".to_string();
        }
        const SHOWN: usize = 4;
        let skipped = track.history.len().saturating_sub(SHOWN);
        let mut events = track.history[skipped..].join(", ");
        if skipped > 0 {
            events = format!("..., {events}");
        }
        format!("it is {life}: {events}")
    }

    /// `crash` at `step`.
    pub fn crash(&mut self, node: &str, step: &str) -> Result<(), Problem> {
        if self.track(node).life == Life::Crashed {
            let situation = self.situation(node);
            return Err(
                Problem::new(format!("node '{node}' is already crashed ({situation})"))
                    .hint("add a `restart` step before crashing it again"),
            );
        }
        self.track(node).life = Life::Crashed;
        self.record(node, format!("crashed at {step}"));
        Ok(())
    }

    /// `restart` at `step`.
    pub fn restart(&mut self, node: &str, step: &str) -> Result<(), Problem> {
        let life = self.track(node).life;
        if life != Life::Crashed {
            let situation = self.situation(node);
            let problem = Problem::new(format!(
                "node '{node}' is not crashed at this point, so it cannot restart ({situation})"
            ));
            return Err(if life == Life::Paused {
                problem.hint("a paused node continues with `resume`")
            } else {
                problem
            });
        }
        // A restarted node comes back with its configuration: replicating
        // its configured master, whatever REPLICAOF said before the crash.
        let track = self.track(node);
        let before = std::mem::replace(&mut track.master, track.configured_master.clone());
        if let Some(cycle) = self.cycle_through(node) {
            self.track(node).master = before;
            let master = self
                .track(node)
                .configured_master
                .clone()
                .unwrap_or_default();
            return Err(Problem::new(format!(
                "restarted, node '{node}' replicates its configured master '{master}' again, which makes a replication cycle: {cycle}"
            ))
            .hint("point the other nodes elsewhere with `replicaof` before this restart"));
        }
        self.track(node).life = Life::Up;
        self.record(node, format!("restarted at {step}"));
        Ok(())
    }

    /// `pause` at `step`; `timed` when it has `for` (it resumes by itself).
    pub fn pause(&mut self, node: &str, step: &str, timed: bool) -> Result<(), Problem> {
        match self.track(node).life {
            Life::Up => {}
            Life::Crashed => {
                let situation = self.situation(node);
                return Err(Problem::new(format!(
                    "node '{node}' is crashed, so it cannot be paused ({situation})"
                )));
            }
            Life::Paused => {
                let situation = self.situation(node);
                return Err(Problem::new(format!(
                    "node '{node}' is already paused ({situation})"
                )));
            }
        }
        if timed {
            self.record(node, format!("paused at {step} with `for`"));
            self.track(node).timed_pause = Some(step.to_string());
        } else {
            self.track(node).life = Life::Paused;
            self.record(node, format!("paused at {step}"));
        }
        Ok(())
    }

    /// `resume` at `step`.
    pub fn resume(&mut self, node: &str, step: &str) -> Result<(), Problem> {
        let track = self.track(node);
        if track.life == Life::Paused {
            track.life = Life::Up;
            self.record(node, format!("resumed at {step}"));
            return Ok(());
        }
        if let Some(paused_at) = track.timed_pause.clone() {
            return Err(Problem::new(format!(
                "node '{node}' resumes by itself: the pause at {paused_at} has `for`"
            ))
            .hint("remove `for` from that pause to resume the node with a step"));
        }
        let situation = self.situation(node);
        Err(Problem::new(format!(
            "node '{node}' is not paused at this point, so it cannot resume ({situation})"
        )))
    }

    /// Something that needs `node` running (`doing`, like "run a command").
    pub fn require_running(&mut self, node: &str, doing: &str) -> Result<(), Problem> {
        if self.track(node).life != Life::Crashed {
            return Ok(());
        }
        let situation = self.situation(node);
        Err(Problem::new(format!(
            "node '{node}' is crashed at this point, so it cannot {doing} ({situation})"
        ))
        .hint("add a `restart` step before this one"))
    }

    /// `replicaof`: `node` now replicates `master` (`None`: NO ONE).
    pub fn replicaof(&mut self, node: &str, master: Option<&str>) -> Result<(), Problem> {
        self.require_running(node, "change its master")?;
        if master == Some(node) {
            return Err(Problem::new(format!(
                "node '{node}' cannot be a replica of itself"
            )));
        }
        let before = self.track(node).master.clone();
        self.track(node).master = master.map(str::to_string);
        if let Some(cycle) = self.cycle_through(node) {
            self.track(node).master = before;
            return Err(
                Problem::new(format!("this makes a replication cycle: {cycle}")).hint(
                    "every chain of replicas must end at a master (a node without replicaof)",
                ),
            );
        }
        Ok(())
    }

    /// If following masters from `start` comes back to it, the cycle in
    /// words: "a is a replica of b, which is a replica of a".
    pub fn cycle_through(&self, start: &str) -> Option<String> {
        let mut chain = vec![start];
        let mut current = start;
        while let Some(master) = self.nodes.get(current).and_then(|t| t.master.as_deref()) {
            if master == start {
                chain.push(master);
                let mut words = format!("{} is a replica of {}", chain[0], chain[1]);
                for next in &chain[2..] {
                    words.push_str(&format!(", which is a replica of {next}"));
                }
                return Some(words);
            }
            if chain.contains(&master) || chain.len() > self.nodes.len() {
                return None; // a cycle further up, reported for its own nodes
            }
            chain.push(master);
            current = master;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Timeline {
        Timeline::new([("m", None), ("r1", Some("m")), ("r2", Some("r1"))])
    }

    #[test]
    fn restart_needs_a_crash_and_explains_history() {
        let mut t = chain();
        let e = t.restart("r1", "steps[0]").unwrap_err();
        assert_eq!(
            e.message,
            "node 'r1' is not crashed at this point, so it cannot restart \
             (it is up: no earlier step crashed or paused it)"
        );
        t.crash("r1", "steps[1]").unwrap();
        t.restart("r1", "steps[2]").unwrap();
        let e = t.restart("r1", "steps[3]").unwrap_err();
        assert!(e
            .message
            .ends_with("(it is up: crashed at steps[1], restarted at steps[2])"));
        assert!(t.crash("r1", "steps[4]").is_ok());
        assert!(t.crash("r1", "steps[5]").is_err());
    }

    #[test]
    fn pause_and_resume_follow_each_other() {
        let mut t = chain();
        assert!(t.resume("m", "steps[0]").is_err());
        t.pause("m", "steps[1]", false).unwrap();
        assert!(t.pause("m", "steps[2]", false).is_err());
        assert!(t.require_running("m", "run a command").is_ok());
        t.resume("m", "steps[3]").unwrap();
        t.pause("m", "steps[4]", true).unwrap();
        let e = t.resume("m", "steps[5]").unwrap_err();
        assert_eq!(
            e.message,
            "node 'm' resumes by itself: the pause at steps[4] has `for`"
        );
        t.crash("m", "steps[6]").unwrap();
        assert!(t.pause("m", "steps[7]", false).is_err());
        assert!(t.require_running("m", "run a command").is_err());
    }

    #[test]
    fn replicaof_rejects_itself_and_cycles() {
        let mut t = chain();
        assert!(t.replicaof("m", Some("m")).is_err());
        let e = t.replicaof("m", Some("r2")).unwrap_err();
        assert_eq!(
            e.message,
            "this makes a replication cycle: m is a replica of r2, \
             which is a replica of r1, which is a replica of m"
        );
        // The rejected change was not kept.
        assert_eq!(t.cycle_through("m"), None);
        t.replicaof("r2", None).unwrap();
        t.replicaof("m", Some("r2")).unwrap();
    }

    #[test]
    fn long_histories_show_the_latest_events() {
        let mut t = chain();
        for i in 0..3 {
            t.crash("r2", &format!("steps[{}]", 2 * i)).unwrap();
            t.restart("r2", &format!("steps[{}]", 2 * i + 1)).unwrap();
        }
        let e = t.restart("r2", "steps[6]").unwrap_err();
        assert!(e.message.ends_with(
            "(it is up: ..., crashed at steps[2], restarted at steps[3], \
             crashed at steps[4], restarted at steps[5])"
        ));
    }
}
