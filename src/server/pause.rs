//! Client pauses, as Redis 7.0 keeps them: `CLIENT PAUSE timeout
//! [WRITE|ALL]` and the write pause a coordinated `FAILOVER` holds until it
//! ends. While a pause is in force, normal clients' commands that it covers
//! wait (Redis's `BLOCKED_POSTPONE`) and run once it is lifted; the dataset
//! stays still: keys do not expire, actively or on access.
//!
//! Each purpose keeps its own pause; the one in force is the most
//! restrictive of them, lasting as long as the longest of that kind.
//! Waiting connections sleep until its end or until a purpose is lifted
//! early (CLIENT UNPAUSE, the end of a failover), which bumps `epoch` and
//! wakes them to look again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::command::flags;

/// What a pause holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseKind {
    /// Commands that may write or replicate (`WRITE`, `MAY_REPLICATE`
    /// flags, and EXEC of a transaction holding one).
    Write,
    /// Every command of a normal client.
    All,
}

/// The pauses in force and the wake-up of the connections they hold.
#[derive(Debug, Default)]
pub struct ClientPauses {
    /// CLIENT PAUSE's: its kind and end (monotonic).
    by_command: Option<(PauseKind, Duration)>,
    /// A coordinated failover's write pause, until it ends.
    during_failover: bool,
    /// Bumped whenever a pause is lifted before its end.
    epoch: u64,
    /// Wakes the connections waiting on a pause when `epoch` moves.
    lifted: Arc<Notify>,
    /// The clients whose next command waits (counted in INFO
    /// `blocked_clients`, as Redis counts its postponed clients).
    held: std::collections::BTreeSet<u64>,
}

/// A command held back by a pause: the connection waits until `until`
/// (`None`: until lifted), or until the pauses' epoch moves past `epoch`.
#[derive(Debug, Clone)]
pub struct Postponed {
    /// The end of the pause that holds the command.
    pub until: Option<Duration>,
    /// The epoch the decision was taken in.
    pub epoch: u64,
    /// Notified when a pause is lifted early.
    pub lifted: Arc<Notify>,
}

impl ClientPauses {
    /// CLIENT PAUSE: merged with a pause already set by the command, as
    /// Redis merges (the more restrictive kind, the later end).
    pub fn pause_by_command(&mut self, kind: PauseKind, end: Duration) {
        let merged = match self.by_command {
            Some((old_kind, old_end)) => (old_kind.max(kind), old_end.max(end)),
            None => (kind, end),
        };
        // Waiters on the old end wake then and find the new one.
        self.by_command = Some(merged);
    }

    /// CLIENT UNPAUSE.
    pub fn unpause_by_command(&mut self) {
        if self.by_command.take().is_some() {
            self.lift();
        }
    }

    /// A coordinated failover pauses writes until it ends.
    pub fn pause_for_failover(&mut self) {
        self.during_failover = true;
    }

    /// The failover ended (done or aborted): its pause is lifted.
    pub fn unpause_failover(&mut self) {
        if std::mem::take(&mut self.during_failover) {
            self.lift();
        }
    }

    fn lift(&mut self) {
        self.epoch += 1;
        self.lifted.notify_waiters();
    }

    /// The pause in force at `now`: its kind and end (`None`: until
    /// lifted). A CLIENT PAUSE whose end passed is forgotten.
    pub fn current(&mut self, now: Duration) -> Option<(PauseKind, Option<Duration>)> {
        // Redis drops a pause once its end is in the past (`end < now`).
        if self.by_command.is_some_and(|(_, end)| end < now) {
            self.by_command = None;
        }
        let failover = self.during_failover.then_some((PauseKind::Write, None));
        let command = self.by_command.map(|(kind, end)| (kind, Some(end)));
        match (command, failover) {
            (None, other) | (other, None) => other,
            (Some(command), Some(failover)) => Some(match command.0.cmp(&failover.0) {
                std::cmp::Ordering::Greater => command,
                std::cmp::Ordering::Less => failover,
                // Of one kind, the longer: the failover's lasts until lifted.
                std::cmp::Ordering::Equal => failover,
            }),
        }
    }

    /// Whether any pause is in force at `now` (the dataset stays still:
    /// no expiry, no eviction).
    pub fn is_paused(&mut self, now: Duration) -> bool {
        self.current(now).is_some()
    }

    /// Whether the pause in force at `now` holds back a command whose
    /// flags are `command_flags` (for EXEC: `queued` are its transaction's
    /// commands' flags); what the connection is to wait for if so.
    pub fn postpones(
        &mut self,
        now: Duration,
        command_flags: u32,
        queued: impl IntoIterator<Item = u32>,
    ) -> Option<Postponed> {
        let (kind, until) = self.current(now)?;
        let replicates = |flags: u32| flags & (flags::WRITE | flags::MAY_REPLICATE) != 0;
        let held = match kind {
            PauseKind::All => true,
            PauseKind::Write => replicates(command_flags) || queued.into_iter().any(replicates),
        };
        held.then(|| Postponed {
            until,
            epoch: self.epoch,
            lifted: self.lifted.clone(),
        })
    }

    /// Client `id` waits for the pause to end.
    pub fn hold(&mut self, id: u64) {
        self.held.insert(id);
    }

    /// Client `id` no longer waits (it runs its command, or is gone).
    pub fn release(&mut self, id: u64) {
        self.held.remove(&id);
    }

    /// How many clients wait for a pause to end.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// The epoch now: a waiter whose epoch is older looks again.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_command_pause_ends_after_its_end_time() {
        let mut pauses = ClientPauses::default();
        pauses.pause_by_command(PauseKind::Write, SECOND);
        assert_eq!(
            pauses.current(SECOND),
            Some((PauseKind::Write, Some(SECOND)))
        );
        assert_eq!(pauses.current(SECOND + Duration::from_millis(1)), None);
    }

    #[test]
    fn pauses_merge_to_the_more_restrictive_kind_and_the_later_end() {
        let mut pauses = ClientPauses::default();
        pauses.pause_by_command(PauseKind::All, SECOND);
        pauses.pause_by_command(PauseKind::Write, 3 * SECOND);
        assert_eq!(
            pauses.current(Duration::ZERO),
            Some((PauseKind::All, Some(3 * SECOND)))
        );
    }

    #[test]
    fn a_failover_pause_outlasts_a_command_write_pause_and_yields_to_all() {
        let mut pauses = ClientPauses::default();
        pauses.pause_for_failover();
        pauses.pause_by_command(PauseKind::Write, SECOND);
        assert_eq!(
            pauses.current(Duration::ZERO),
            Some((PauseKind::Write, None))
        );
        pauses.pause_by_command(PauseKind::All, SECOND);
        assert_eq!(
            pauses.current(Duration::ZERO),
            Some((PauseKind::All, Some(SECOND)))
        );
        let before = pauses.epoch();
        pauses.unpause_by_command();
        assert!(pauses.epoch() > before);
        pauses.unpause_failover();
        assert_eq!(pauses.current(Duration::ZERO), None);
    }
}
