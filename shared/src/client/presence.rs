//! Who is online, as a client sees it: a snapshot, then deltas applied in order.
//!
//! The server names only the first [`PRESENCE_WINDOW`] users and counts the
//! rest, so the view holds at most that many names plus the total.

use indexmap::IndexMap;

#[cfg(doc)]
use crate::events::PRESENCE_WINDOW;
use crate::events::{OnlineUser, Presence, PresenceChange, SessionId};

/// The client's copy of the presence window, in join order, and the total.
///
/// Applying is idempotent (joined/renamed upsert, left removes), so a delta
/// already contained in a snapshot does no harm; deltas at or below the
/// snapshot's seq are skipped, and a jump in seq is reported as a gap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceView {
    users: IndexMap<SessionId, String>,
    total: u64,
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
            Presence::Snapshot { seq, total, users } => {
                self.users = users
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect();
                self.total = *total;
                self.seq = *seq;
                Applied::Updated
            }
            Presence::Delta {
                seq,
                total,
                changes,
            } => {
                if *seq <= self.seq {
                    return Applied::Stale;
                }
                let missing = seq - self.seq - 1;
                self.seq = *seq;
                self.total = *total;
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

    /// How many users are online, named in the window or not.
    pub fn len(&self) -> usize {
        usize::try_from(self.total).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many users the window names.
    pub fn named(&self) -> usize {
        self.users.len()
    }

    /// The name shown for a session, if it is in the window.
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
        self.total = 0;
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
            total: 1,
            users: vec![OnlineUser {
                id: id("a"),
                name: "Ada".into(),
            }],
        });
        assert_eq!(
            view.apply(&Presence::Delta {
                seq: 4,
                total: 1,
                changes: vec![joined("a", "Ada")]
            }),
            Applied::Stale
        );
        view.apply(&Presence::Delta {
            seq: 5,
            total: 2,
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
            total: 1,
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
            total: 1,
            changes: vec![joined("a", "Ada")],
        });
        assert_eq!(applied, Applied::Gap { missing: 2 });
    }

    #[test]
    fn total_counts_beyond_the_window() {
        let mut view = PresenceView::default();
        let users = (0..100)
            .map(|i| OnlineUser {
                id: id(&i.to_string()),
                name: "x".into(),
            })
            .collect();
        view.apply(&Presence::Snapshot {
            seq: 1,
            total: 19_000,
            users,
        });
        assert_eq!(view.len(), 19_000);
        assert_eq!(view.named(), 100);
        // "0" leaves; "100", next in line, enters at the end of the window.
        view.apply(&Presence::Delta {
            seq: 2,
            total: 18_999,
            changes: vec![PresenceChange::Left { id: id("0") }, joined("100", "y")],
        });
        assert_eq!(view.len(), 18_999);
        assert_eq!(view.named(), 100);
        assert_eq!(view.first(1)[0].id, id("1"));
        assert_eq!(view.first(100)[99].id, id("100"));
        view.clear();
        assert!(view.is_empty());
        assert_eq!(view.named(), 0);
    }
}
