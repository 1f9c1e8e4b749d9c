//! The presence book: what every client has been told about who is online,
//! and what has changed since.
//!
//! Pure state, no I/O: handlers [`record`](PresenceBook::record) the wanted
//! state of a session; once per window the fan-out takes one coalesced
//! [`Presence::Delta`] from [`take_delta`](PresenceBook::take_delta). A burst
//! of changes to one session collapses to at most one change (join then leave
//! within a window says nothing at all), so a burst of 20,000 joins is one
//! message per client, not 20,000.

use indexmap::IndexMap;
use shared::events::{OnlineUser, Presence, PresenceChange, SessionId};

/// Published presence plus the changes not yet published.
#[derive(Debug, Default)]
pub struct PresenceBook {
    /// Number of deltas taken so far; a snapshot carries it.
    seq: u64,
    /// Exactly what clients have been told (the result of every delta so far).
    published: IndexMap<SessionId, String>,
    /// The latest wanted state per session since the last delta: `Some(name)`
    /// to be online under that name, `None` to be gone.
    pending: IndexMap<SessionId, Option<String>>,
}

impl PresenceBook {
    /// Notes that `id` should now be shown as `name` (or not at all with `None`).
    pub fn record(&mut self, id: SessionId, name: Option<String>) {
        self.pending.insert(id, name);
    }

    /// What a newly connected client needs: the published list and its seq.
    ///
    /// It is the *published* state (not the registry's latest), so the next
    /// delta applies to it exactly.
    pub fn snapshot(&self) -> Presence {
        Presence::Snapshot {
            seq: self.seq,
            users: self
                .published
                .iter()
                .map(|(id, name)| OnlineUser {
                    id: id.clone(),
                    name: name.clone(),
                })
                .collect(),
        }
    }

    /// Publishes everything pending as one delta; `None` when nothing changed.
    pub fn take_delta(&mut self) -> Option<Presence> {
        let pending = std::mem::take(&mut self.pending);
        let changes: Vec<PresenceChange> = pending
            .into_iter()
            .filter_map(|(id, wanted)| self.publish(id, wanted))
            .collect();
        if changes.is_empty() {
            return None;
        }
        self.seq += 1;
        Some(Presence::Delta {
            seq: self.seq,
            changes,
        })
    }

    /// How many users clients currently see.
    pub fn published_len(&self) -> usize {
        self.published.len()
    }

    /// Applies one wanted state to `published`; returns the change, if any.
    fn publish(&mut self, id: SessionId, wanted: Option<String>) -> Option<PresenceChange> {
        match (self.published.get(&id), wanted) {
            (None, None) => None,
            (Some(_), None) => {
                self.published.swap_remove(&id);
                Some(PresenceChange::Left { id })
            }
            (Some(old), Some(name)) if *old == name => None,
            (Some(_), Some(name)) => {
                self.published.insert(id.clone(), name.clone());
                Some(PresenceChange::Renamed { id, name })
            }
            (None, Some(name)) => {
                self.published.insert(id.clone(), name.clone());
                Some(PresenceChange::Joined { id, name })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SessionId {
        SessionId(s.to_owned())
    }

    fn changes(delta: Option<Presence>) -> Vec<PresenceChange> {
        match delta {
            Some(Presence::Delta { changes, .. }) => changes,
            other => panic!("expected a delta, got {other:?}"),
        }
    }

    #[test]
    fn nothing_pending_means_no_message() {
        let mut book = PresenceBook::default();
        assert_eq!(book.take_delta(), None);
    }

    #[test]
    fn join_then_rename_in_one_window_is_one_join() {
        let mut book = PresenceBook::default();
        book.record(id("a"), Some("Ada".into()));
        book.record(id("a"), Some("Grace".into()));
        assert_eq!(
            changes(book.take_delta()),
            vec![PresenceChange::Joined {
                id: id("a"),
                name: "Grace".into()
            }]
        );
    }

    #[test]
    fn join_then_leave_in_one_window_says_nothing() {
        let mut book = PresenceBook::default();
        book.record(id("a"), Some("Ada".into()));
        book.record(id("a"), None);
        assert_eq!(book.take_delta(), None);
        assert_eq!(
            book.snapshot(),
            Presence::Snapshot {
                seq: 0,
                users: vec![]
            }
        );
    }

    #[test]
    fn rename_and_leave_across_windows() {
        let mut book = PresenceBook::default();
        book.record(id("a"), Some("Ada".into()));
        book.take_delta();
        book.record(id("a"), Some("Ada".into()));
        assert_eq!(book.take_delta(), None, "same name is no change");
        book.record(id("a"), Some("Grace".into()));
        assert_eq!(
            changes(book.take_delta()),
            vec![PresenceChange::Renamed {
                id: id("a"),
                name: "Grace".into()
            }]
        );
        book.record(id("a"), None);
        assert_eq!(
            changes(book.take_delta()),
            vec![PresenceChange::Left { id: id("a") }]
        );
        assert_eq!(book.published_len(), 0);
    }

    #[test]
    fn burst_of_joins_is_one_delta_and_snapshot_matches() {
        let mut book = PresenceBook::default();
        for i in 0..20_000 {
            book.record(id(&i.to_string()), Some(format!("user{i}")));
        }
        let delta = book.take_delta();
        assert!(
            matches!(&delta, Some(Presence::Delta { seq: 1, changes }) if changes.len() == 20_000)
        );
        match book.snapshot() {
            Presence::Snapshot { seq, users } => {
                assert_eq!(seq, 1);
                assert_eq!(users.len(), 20_000);
            }
            other => panic!("{other:?}"),
        }
    }
}
