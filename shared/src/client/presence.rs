//! Who is online, as a client sees it: a snapshot, then deltas applied in order.

use indexmap::IndexMap;

use crate::events::{OnlineUser, Presence, PresenceChange, SessionId};

/// The client's copy of the presence list, in join order.
///
/// Applying is idempotent (joined/renamed upsert, left removes), so a delta
/// already contained in a snapshot does no harm; deltas at or below the
/// snapshot's seq are skipped, and a jump in seq is reported as a gap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceView {
    users: IndexMap<SessionId, String>,
    seq: u64,
}

/// What applying a presence message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Updated,
    /// Already contained in what we have; nothing changed.
    Stale,
    /// Applied, but at least one delta before it never arrived.
    Gap {
        missing: u64,
    },
}

impl PresenceView {
    /// Applies a snapshot or a delta.
    pub fn apply(&mut self, presence: &Presence) -> Applied {
        match presence {
            Presence::Snapshot { seq, users } => {
                self.users = users
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect();
                self.seq = *seq;
                Applied::Updated
            }
            Presence::Delta { seq, changes } => {
                if *seq <= self.seq {
                    return Applied::Stale;
                }
                let missing = seq - self.seq - 1;
                self.seq = *seq;
                for change in changes {
                    self.apply_change(change);
                }
                if missing > 0 {
                    Applied::Gap { missing }
                } else {
                    Applied::Updated
                }
            }
        }
    }

    fn apply_change(&mut self, change: &PresenceChange) {
        match change {
            PresenceChange::Joined { id, name } | PresenceChange::Renamed { id, name } => {
                self.users.insert(id.clone(), name.clone());
            }
            PresenceChange::Left { id } => {
                self.users.shift_remove(id);
            }
        }
    }

    /// How many users are online.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The name shown for a session, if online.
    pub fn name_of(&self, id: &SessionId) -> Option<&str> {
        self.users.get(id).map(String::as_str)
    }

    /// The first `limit` users in join order, for a list that must stay small.
    pub fn first(&self, limit: usize) -> Vec<OnlineUser> {
        self.users
            .iter()
            .take(limit)
            .map(|(id, name)| OnlineUser {
                id: id.clone(),
                name: name.clone(),
            })
            .collect()
    }

    /// Forgets everything (the connection was lost; a new snapshot will come).
    pub fn clear(&mut self) {
        self.users.clear();
        self.seq = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SessionId {
        SessionId(s.to_owned())
    }

    fn joined(s: &str, name: &str) -> PresenceChange {
        PresenceChange::Joined {
            id: id(s),
            name: name.to_owned(),
        }
    }

    #[test]
    fn snapshot_then_deltas() {
        let mut view = PresenceView::default();
        view.apply(&Presence::Snapshot {
            seq: 4,
            users: vec![OnlineUser {
                id: id("a"),
                name: "Ada".into(),
            }],
        });
        assert_eq!(
            view.apply(&Presence::Delta {
                seq: 4,
                changes: vec![joined("a", "Ada")]
            }),
            Applied::Stale
        );
        view.apply(&Presence::Delta {
            seq: 5,
            changes: vec![
                joined("b", "Bob"),
                PresenceChange::Renamed {
                    id: id("a"),
                    name: "Grace".into(),
                },
            ],
        });
        assert_eq!(view.len(), 2);
        assert_eq!(view.name_of(&id("a")), Some("Grace"));
        view.apply(&Presence::Delta {
            seq: 6,
            changes: vec![PresenceChange::Left { id: id("a") }],
        });
        assert_eq!(view.first(10).len(), 1);
        assert_eq!(view.first(10)[0].name, "Bob");
    }

    #[test]
    fn gaps_are_reported() {
        let mut view = PresenceView::default();
        let applied = view.apply(&Presence::Delta {
            seq: 3,
            changes: vec![joined("a", "Ada")],
        });
        assert_eq!(applied, Applied::Gap { missing: 2 });
    }

    #[test]
    fn first_limits_a_large_list() {
        let mut view = PresenceView::default();
        let changes = (0..20_000).map(|i| joined(&i.to_string(), "x")).collect();
        view.apply(&Presence::Delta { seq: 1, changes });
        assert_eq!(view.len(), 20_000);
        assert_eq!(view.first(100).len(), 100);
        assert_eq!(view.first(100)[0].id, id("0"));
    }
}
