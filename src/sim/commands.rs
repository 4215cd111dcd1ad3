//! Commands the scenario sends itself: the `command` step (one session
//! per node, its reply checked against the step's expectation and the
//! read-only rule; in the background, a connection of its own, judged when
//! the reply comes) and the `replicaof` step, both keeping the runner's
//! topology in line with every REPLICAOF a node accepted.

use super::cluster;
use super::expect;
use super::losses;
use super::runner::{now, Runner};
use super::workload;
use crate::resp::Frame;
use crate::scenario::Expect;
use crate::server::ServerState;

/// Whether `args` names a command the command table flags as a write (one
/// that may change the keyspace): what a read-only replica refuses, and
/// what may replace or remove a workload's writes.
pub(super) fn is_keyspace_write(args: &[String]) -> bool {
    args.first()
        .and_then(|name| crate::command::lookup(name.as_bytes()))
        .is_some_and(|spec| spec.is_write())
}

/// A `command` step sent in the background (a blocking command, say),
/// awaiting its reply while the next steps run.
pub(super) struct BackgroundCommand {
    path: String,
    on: String,
    args: Vec<String>,
    expect: Option<Expect>,
    /// The reply, and when it came (simulated time since the start).
    reply: madsim::task::JoinHandle<(Option<Frame>, std::time::Duration)>,
}

impl Runner {
    /// A background `command` step: sends `args` to `on` on a connection of
    /// its own, so that the steps after it (and the node's session) go on
    /// while it waits; its reply is judged once every step has run.
    pub(super) fn start_background_command(
        &mut self,
        path: &str,
        on: &str,
        args: &[String],
        db: u8,
        expect: &Option<Expect>,
    ) {
        let session = workload::Session::new(on);
        let args_owned = args.to_vec();
        let reply = self.operator.spawn(async move {
            let reply = session.command(db, args_owned).await.1;
            (reply, madsim::time::TimeHandle::current().elapsed())
        });
        self.event(format!(
            "{path} command on {on} in the background: {}",
            args.join(" ")
        ));
        self.background_commands.push(BackgroundCommand {
            path: path.to_string(),
            on: on.to_string(),
            args: args.to_vec(),
            expect: expect.clone(),
            reply,
        });
    }

    /// Waits for every background command's reply, in the order they were
    /// sent, and judges each as its step says.
    pub(super) async fn join_background_commands(&mut self) {
        for command in std::mem::take(&mut self.background_commands) {
            let (reply, replied_at) = match command.reply.await {
                Ok((reply, at)) => (reply, Some(at)),
                Err(_) => (None, None),
            };
            let when = replied_at.map_or(String::new(), |at| {
                format!(" (replied at {})", super::runner::stamp(at))
            });
            self.event(format!(
                "{} command on {}: {} -> {}{when}",
                command.path,
                command.on,
                command.args.join(" "),
                expect::show_reply(reply.as_ref())
            ));
            self.judge_reply(
                &command.path,
                &command.on,
                &command.args,
                command.expect.as_ref(),
                reply,
            );
        }
    }

    /// A `command` step: sends `args` on `on`'s session (kept across steps,
    /// as one redis-cli session would be, so that WAIT counts the session's
    /// own last write), and checks the reply.
    pub(super) async fn command(
        &mut self,
        path: &str,
        on: &str,
        args: &[String],
        db: u8,
        expect: Option<&Expect>,
    ) {
        let session = self
            .sessions
            .remove(on)
            .unwrap_or_else(|| workload::Session::new(on));
        let args_owned = args.to_vec();
        let reply = match self
            .operator
            .spawn(async move { session.command(db, args_owned).await })
            .await
        {
            Ok((session, reply)) => {
                self.sessions.insert(on.to_string(), session);
                reply
            }
            Err(_) => None,
        };
        self.event(format!(
            "{path} command on {on}: {} -> {}",
            args.join(" "),
            expect::show_reply(reply.as_ref())
        ));
        self.judge_reply(path, on, args, expect, reply);
    }

    /// Checks a command step's reply: its expectation, the read-only rule,
    /// and a REPLICAOF it made.
    fn judge_reply(
        &mut self,
        path: &str,
        on: &str,
        args: &[String],
        expect: Option<&Expect>,
        reply: Option<Frame>,
    ) {
        if let Some(expect) = expect {
            if let Some(problem) = expect::expectation_failure(expect, reply.as_ref()) {
                self.expectation(format!("{path}: {} on {on}: {problem}", args.join(" ")));
            }
        }
        if self.is_readonly_replica(on)
            && is_keyspace_write(args)
            && !matches!(reply, Some(Frame::Error(_)) | None)
        {
            self.violation(format!(
                "{path}: read-only replica {on} accepted {}",
                args.join(" ")
            ));
        }
        self.track_replicaof_command(on, args, reply.as_ref());
        self.track_failover_command(on, args, reply.as_ref());
    }

    /// A FAILOVER a master accepted: its outcome comes later (see
    /// [`Runner::follow_failovers`]).
    fn track_failover_command(&mut self, on: &str, args: &[String], reply: Option<&Frame>) {
        let starts_failover = args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case("FAILOVER"))
            && !args.get(1).is_some_and(|a| a.eq_ignore_ascii_case("ABORT"))
            && matches!(reply, Some(Frame::Simple(_)));
        if starts_failover && !self.pending_failovers.iter().any(|f| f.old == on) {
            let force = args.iter().any(|a| a.eq_ignore_ascii_case("FORCE"));
            self.pending_failovers.push(losses::CoordinatedFailover {
                old: on.to_string(),
                target: String::new(),
                from: now(),
                force,
            });
        }
    }

    /// Brings the topology in line with the coordinated failovers that
    /// ended: a master that turned into its target's replica follows it,
    /// and the target (which promoted itself) is a master; an aborted
    /// failover changes nothing. The target is the node the old master
    /// now points at, named or addressed by IP; the checker goes on
    /// judging that both ends agree.
    pub(super) fn follow_failovers(&mut self) {
        let pending = std::mem::take(&mut self.pending_failovers);
        for mut failover in pending {
            let master = failover.old.clone();
            let outcome = self.node(&master).with_state(|state| {
                (
                    state.repl.failover.is_some(),
                    state.repl.master.as_ref().map(|link| link.host.clone()),
                )
            });
            match outcome {
                Some((true, _)) => self.pending_failovers.push(failover),
                Some((false, Some(host))) => {
                    let target = self
                        .nodes
                        .iter()
                        .find(|n| n.name == host || n.ip.to_string() == host)
                        .map(|n| n.name.clone());
                    if let Some(target) = target {
                        self.event(format!("failover of {master} to {target} done"));
                        self.topology.insert(target.clone(), None);
                        self.topology.insert(master, Some(target.clone()));
                        failover.target = target;
                        self.failovers_done.push(failover);
                    }
                }
                // Aborted (still a master), or the node is down: nothing
                // changed hands.
                _ => {}
            }
        }
    }

    /// Applies REPLICAOF sent as a plain command to the topology.
    fn track_replicaof_command(&mut self, on: &str, args: &[String], reply: Option<&Frame>) {
        let is_replicaof = args.first().is_some_and(|a| {
            a.eq_ignore_ascii_case("REPLICAOF") || a.eq_ignore_ascii_case("SLAVEOF")
        });
        if !is_replicaof || !matches!(reply, Some(Frame::Simple(_))) || args.len() != 3 {
            return;
        }
        if args[1].eq_ignore_ascii_case("NO") && args[2].eq_ignore_ascii_case("ONE") {
            self.topology.insert(on.to_string(), None);
        } else if self.nodes.iter().any(|n| n.name == args[1]) {
            self.topology.insert(on.to_string(), Some(args[1].clone()));
        }
    }

    /// A `replicaof` step: `REPLICAOF master` (or `NO ONE`) on a fresh
    /// connection; a reply other than a status line fails the step.
    pub(super) async fn replicaof(&mut self, path: &str, node: &str, master: Option<&str>) {
        let args: Vec<String> = match master {
            Some(m) => vec!["REPLICAOF".into(), m.to_string(), cluster::PORT.to_string()],
            None => vec!["REPLICAOF".into(), "NO".into(), "ONE".into()],
        };
        let host = node.to_string();
        let sent = args.clone();
        let reply = self
            .operator
            .spawn(async move { workload::one_command(&host, 0, &sent).await })
            .await
            .ok()
            .flatten();
        self.event(format!(
            "{path} {} on {node} -> {}",
            args.join(" "),
            expect::show_reply(reply.as_ref())
        ));
        match reply {
            Some(Frame::Simple(_)) => {
                self.topology
                    .insert(node.to_string(), master.map(str::to_string));
            }
            other => self.expectation(format!(
                "{path}: {} on {node} replied {}",
                args.join(" "),
                expect::show_reply(other.as_ref())
            )),
        }
    }

    /// Whether `name` is a replica that refuses writes from clients.
    pub(super) fn is_readonly_replica(&self, name: &str) -> bool {
        self.node(name)
            .with_state(ServerState::is_readonly_replica)
            .unwrap_or(false)
    }
}
