//! Who is online, as a client sees it: a snapshot, then deltas applied in order.
//!
//! The server names only the first [`PRESENCE_WINDOW`] users and counts the
//! rest, so the view holds at most that many names plus the total.
//!
//! Names that may look alike (the same [`Look`] key: `Ada`, Cyrillic `Аda`,
//! the same person's `Ada` in a second tab) are listed with a short tag
//! from their session ids ([`PresenceView::shown`], [`tag_lookalikes`]), so
//! people can tell them apart; every other name is listed as it is.

use shared::events::{Look, OnlineUser, Presence, PresenceChange, SessionId, PRESENCE_WINDOW};

/// The most names the view keeps: ten windows. Our server names one window;
/// a server that names everyone is still counted in full (`total`), but
/// past this many names the list stops growing, so each change stays a
/// short search (the page shows one window anyway).
pub const MAX_NAMED: usize = 10 * PRESENCE_WINDOW;

/// The fewest session-id characters a look-alike tag shows.
pub const MIN_TAG_CHARS: usize = 4;

/// The client's copy of the presence window, in join order, and the total.
///
/// Applying is idempotent (joined/renamed upsert, left removes), so a delta
/// already contained in a snapshot does no harm; deltas at or below the
/// snapshot's seq are skipped, and a jump in seq is reported as a gap.
///
/// The window is small (the server names at most [`PRESENCE_WINDOW`], the
/// view keeps at most [`MAX_NAMED`]), so the users are a plain list
/// searched in order: in the browser build a hash map's code would weigh
/// more than the searches cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceView {
    users: Vec<(SessionId, Entry)>,
    total: u64,
    seq: u64,
}

/// What the view keeps per named user.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    name: String,
    look: Look,
}

/// A user as the page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownUser {
    pub id: SessionId,
    pub name: String,
    /// Set when another listed name has the same [`Look`]: the last
    /// characters of this user's session id (dashes skipped), at least
    /// [`MIN_TAG_CHARS`] and as many more as it takes to differ from the
    /// others in the group.
    pub tag: Option<String>,
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
                self.users.clear();
                for user in users {
                    self.upsert(&user.id, &user.name, user.look);
                }
                self.total = *total;
                self.seq = *seq;
                Applied::Updated
            }
            Presence::Delta {
                seq,
                total,
                changes,
                prev,
            } => {
                if *seq <= self.seq {
                    return Applied::Stale;
                }
                // The message this delta follows; anything between it and
                // what we hold never arrived.
                let follows = prev.unwrap_or(seq - 1);
                let missing = follows.saturating_sub(self.seq);
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
            PresenceChange::Joined { id, name, look }
            | PresenceChange::Renamed { id, name, look } => self.upsert(id, name, *look),
            PresenceChange::Left { id } => {
                if let Some(at) = self.position(id) {
                    self.users.remove(at);
                }
            }
        }
    }

    /// A new user goes to the end; a known one keeps their place.
    fn upsert(&mut self, id: &SessionId, name: &str, look: Look) {
        let entry = Entry {
            name: name.to_owned(),
            look,
        };
        match self.position(id) {
            Some(at) => self.users[at].1 = entry,
            None if self.users.len() < MAX_NAMED => self.users.push((id.clone(), entry)),
            None => {}
        }
    }

    fn position(&self, id: &SessionId) -> Option<usize> {
        self.users.iter().position(|(known, _)| known == id)
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
        let at = self.position(id)?;
        Some(self.users[at].1.name.as_str())
    }

    /// The first `limit` users in join order, for a list that must stay small.
    pub fn first(&self, limit: usize) -> Vec<OnlineUser> {
        self.users
            .iter()
            .take(limit)
            .map(|(id, entry)| OnlineUser {
                id: id.clone(),
                name: entry.name.clone(),
                look: entry.look,
            })
            .collect()
    }

    /// The first `limit` users in join order as the page lists them: with a
    /// tag where two or more of them may look alike.
    pub fn shown(&self, limit: usize) -> Vec<ShownUser> {
        tag_lookalikes(self.first(limit))
    }

    /// Forgets everything (the connection was lost; a new snapshot will come).
    pub fn clear(&mut self) {
        self.users.clear();
        self.total = 0;
        self.seq = 0;
    }
}

/// Lists `users` as shown: users sharing a known [`Look`] with another
/// listed user get a tag from their session id, the same length within a
/// group and long enough to tell the group apart; everyone else gets none.
pub fn tag_lookalikes(users: Vec<OnlineUser>) -> Vec<ShownUser> {
    let mut tags: Vec<Option<String>> = vec![None; users.len()];
    // Groups by look in first-seen order. Quadratic, on purpose: the list
    // is the presence window (≤ 100 names), and a sort would add two
    // quicksort instantiations to the browser build.
    for (first, user) in users.iter().enumerate() {
        let grouped_before = users[..first].iter().any(|u| u.look == user.look);
        if !user.look.is_known() || grouped_before {
            continue;
        }
        let group: Vec<usize> = (first..users.len())
            .filter(|&i| users[i].look == user.look)
            .collect();
        if group.len() < 2 {
            continue;
        }
        let ids: Vec<Vec<char>> = group
            .iter()
            .map(|&i| users[i].id.0.chars().filter(|&c| c != '-').collect())
            .collect();
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        let tail =
            |id: &[char], n: usize| -> String { id[id.len().saturating_sub(n)..].iter().collect() };
        let mut n = MIN_TAG_CHARS;
        while n < longest {
            let tails: Vec<String> = ids.iter().map(|id| tail(id, n)).collect();
            let distinct = tails
                .iter()
                .enumerate()
                .all(|(i, t)| !tails[..i].contains(t));
            if distinct {
                break;
            }
            n += 1;
        }
        for (&i, id) in group.iter().zip(&ids) {
            tags[i] = Some(tail(id, n));
        }
    }
    users
        .into_iter()
        .zip(tags)
        .map(|(u, tag)| ShownUser {
            id: u.id,
            name: u.name,
            tag,
        })
        .collect()
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
            look: Look::UNKNOWN,
        }
    }

    fn user(s: &str, name: &str, look: u32) -> OnlineUser {
        OnlineUser {
            id: id(s),
            name: name.to_owned(),
            look: Look(look),
        }
    }

    fn tags(users: Vec<OnlineUser>) -> Vec<Option<String>> {
        tag_lookalikes(users).into_iter().map(|u| u.tag).collect()
    }

    #[test]
    fn snapshot_then_deltas() {
        let mut view = PresenceView::default();
        view.apply(&Presence::Snapshot {
            seq: 4,
            total: 1,
            users: vec![user("a", "Ada", 0)],
        });
        assert_eq!(
            view.apply(&Presence::Delta {
                seq: 4,
                total: 1,
                changes: vec![joined("a", "Ada")],
                prev: None,
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
                    look: Look::UNKNOWN,
                },
            ],
            prev: None,
        });
        assert_eq!(view.len(), 2);
        assert_eq!(view.name_of(&id("a")), Some("Grace"));
        view.apply(&Presence::Delta {
            seq: 6,
            total: 1,
            changes: vec![PresenceChange::Left { id: id("a") }],
            prev: None,
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
            prev: None,
        });
        assert_eq!(applied, Applied::Gap { missing: 2 });
    }

    /// The shared mode's deltas name the message they follow: a jump in
    /// seq is no gap when `prev` is what the client holds, and is one when
    /// it is not.
    #[test]
    fn deltas_that_name_what_they_follow() {
        let mut view = PresenceView::default();
        view.apply(&Presence::Snapshot {
            seq: 40,
            total: 0,
            users: vec![],
        });
        let delta = |seq, prev| Presence::Delta {
            seq,
            total: 1,
            changes: vec![joined("a", "Ada")],
            prev: Some(prev),
        };
        assert_eq!(view.apply(&delta(47, 40)), Applied::Updated);
        assert_eq!(view.apply(&delta(47, 40)), Applied::Stale);
        assert_eq!(view.apply(&delta(60, 52)), Applied::Gap { missing: 5 });
        assert_eq!(view.len(), 1);
    }

    #[test]
    fn total_counts_beyond_the_window() {
        let mut view = PresenceView::default();
        let users = (0..100).map(|i| user(&i.to_string(), "x", 0)).collect();
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
            prev: None,
        });
        assert_eq!(view.len(), 18_999);
        assert_eq!(view.named(), 100);
        assert_eq!(view.first(1)[0].id, id("1"));
        assert_eq!(view.first(100)[99].id, id("100"));
        view.clear();
        assert!(view.is_empty());
        assert_eq!(view.named(), 0);
    }

    /// `Ada`, Cyrillic `Аda` and a second `Ada` (one look) each get a tag;
    /// `Bob` (his own look) and names with no known look get none.
    #[test]
    fn lookalikes_get_tags_from_their_session_ids() {
        let users = vec![
            user("0190c0de-0000-7000-8000-00000000a1a1", "Ada", 7),
            user("0190c0de-0000-7000-8000-0000000b0b0b", "Bob", 9),
            user("0190c0de-0000-7000-8000-00000000c2c2", "\u{0410}da", 7),
            user("0190c0de-0000-7000-8000-00000000d3d3", "Ada", 7),
            user("0190c0de-0000-7000-8000-00000000e4e4", "Eve", 0),
            user("0190c0de-0000-7000-8000-00000000f5f5", "Eve", 0),
        ];
        assert_eq!(
            tags(users),
            vec![
                Some("a1a1".to_owned()),
                None,
                Some("c2c2".to_owned()),
                Some("d3d3".to_owned()),
                None,
                None,
            ]
        );
    }

    /// Tags grow until they differ within the group (the last four
    /// characters of two ids can be the same), dashes skipped.
    #[test]
    fn tags_grow_until_they_differ() {
        let users = vec![
            user("0190c0de-0000-7000-8000-000000a1beef", "Ada", 7),
            user("0190c0de-0000-7000-8000-000000b2beef", "Ada", 7),
            user("0190c0de-0000-7000-8000-000000c3cafe", "Ada", 7),
            user("0190c0de-0000-7000-8000-000000d4beef", "Bob", 9),
        ];
        assert_eq!(
            tags(users),
            vec![
                Some("1beef".to_owned()),
                Some("2beef".to_owned()),
                Some("3cafe".to_owned()),
                None,
            ]
        );
        // Across a dash, and with ids shorter than a tag.
        let users = vec![
            user("ab-cdef", "Ada", 3),
            user("x-bcdef", "Ada", 3),
            user("s", "Ada", 3),
        ];
        assert_eq!(
            tags(users),
            vec![
                Some("abcdef".into()),
                Some("xbcdef".into()),
                Some("s".into())
            ]
        );
    }

    /// The view keeps each user's look through snapshots, joins and renames.
    #[test]
    fn the_view_tags_lookalikes_as_they_come_and_go() {
        let mut view = PresenceView::default();
        view.apply(&Presence::Snapshot {
            seq: 1,
            total: 2,
            users: vec![user("aaaa1111", "Ada", 7), user("bbbb2222", "Bob", 9)],
        });
        assert!(view.shown(10).iter().all(|u| u.tag.is_none()));
        view.apply(&Presence::Delta {
            seq: 2,
            total: 3,
            changes: vec![PresenceChange::Joined {
                id: id("cccc3333"),
                name: "\u{0410}da".into(),
                look: Look(7),
            }],
            prev: None,
        });
        let shown = view.shown(10);
        assert_eq!(shown[0].tag.as_deref(), Some("1111"));
        assert_eq!(shown[1].tag, None);
        assert_eq!(shown[2].tag.as_deref(), Some("3333"));
        // The look-alike renames away: nobody needs a tag any more.
        view.apply(&Presence::Delta {
            seq: 3,
            total: 3,
            changes: vec![PresenceChange::Renamed {
                id: id("cccc3333"),
                name: "Cleo".into(),
                look: Look(11),
            }],
            prev: None,
        });
        assert!(view.shown(10).iter().all(|u| u.tag.is_none()));
        assert_eq!(view.first(10)[2].look, Look(11));
    }

    /// A server that names everyone: the view keeps `MAX_NAMED` names and
    /// counts the rest.
    #[test]
    fn a_huge_snapshot_is_counted_but_kept_short() {
        let users: Vec<OnlineUser> = (0..MAX_NAMED + 500)
            .map(|n| OnlineUser {
                id: id(&format!("s{n}")),
                name: format!("n{n}"),
                look: Look::UNKNOWN,
            })
            .collect();
        let total = users.len() as u64;
        let mut view = PresenceView::default();
        view.apply(&Presence::Snapshot {
            seq: 1,
            total,
            users,
        });
        assert_eq!(view.named(), MAX_NAMED);
        assert_eq!(view.len(), MAX_NAMED + 500);
        assert_eq!(view.name_of(&id("s0")), Some("n0"));
        assert_eq!(view.name_of(&id(&format!("s{MAX_NAMED}"))), None);
    }
}
