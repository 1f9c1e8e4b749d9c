//! The presence book: what every client has been told about who is online,
//! and what has changed since.
//!
//! Pure state, no I/O: handlers [`record`](PresenceBook::record) the wanted
//! state of a session; at most once per window the fan-out takes one coalesced
//! [`Presence::Delta`] from [`take_delta`](PresenceBook::take_delta). A burst
//! of changes to one session collapses to at most one change (join then leave
//! within a window says nothing at all).
//!
//! Clients are told about the first [`PRESENCE_WINDOW`] users in join order
//! and the total; a delta is the difference between the window before and
//! after, so a burst of 20,000 joins is one small message per client (the
//! window fills, the total grows), not 20,000 names.
//!
//! Each name in the window goes out with its look-alike key
//! ([`crate::state::lookalike`]), computed once per stored name, when it first
//! enters the window: users beyond the window, however many, cost nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use indexmap::IndexMap;
use shared::events::{Look, OnlineUser, Presence, PresenceChange, SessionId, PRESENCE_WINDOW};

use crate::state::lookalike::look;

/// Published presence plus the changes not yet published.
#[derive(Debug, Default)]
pub struct PresenceBook {
    /// Number of deltas taken so far; a snapshot carries it.
    seq: u64,
    /// Everyone online as of the last delta, keyed by join order. A user's
    /// `look` is [`Look::UNKNOWN`] until they first enter the window.
    online: BTreeMap<u64, OnlineUser>,
    /// Join-order key of each online session.
    keys: HashMap<SessionId, u64>,
    /// The next join-order key.
    next_key: u64,
    /// Exactly the window clients have been told about (the first
    /// [`PRESENCE_WINDOW`] of `online`).
    shown: Vec<OnlineUser>,
    /// Everyone was replaced: the next message is a snapshot.
    reset: bool,
    /// Shared mode: the shared store's number of the last change recorded.
    /// Messages are then numbered by it (so every node's clients end on the
    /// same seq) and deltas say which seq they follow.
    store_seq: Option<u64>,
    /// The latest wanted state per session since the last delta: `Some(name)`
    /// to be online under that name, `None` to be gone.
    pending: IndexMap<SessionId, Option<String>>,
}

impl PresenceBook {
    /// Notes that `id` should now be shown as `name` (or not at all with `None`).
    pub fn record(&mut self, id: SessionId, name: Option<String>) {
        self.pending.insert(id, name);
    }

    /// Makes `members` (in join order) everyone online, as they are in the
    /// shared store (a shared-mode reload). Clients are then sent a fresh
    /// snapshot at the next tick instead of a delta: the order may differ
    /// from what they hold, and a delta cannot reorder.
    pub fn replace_all(&mut self, members: Vec<(SessionId, String)>, seq: u64) {
        self.store_seq = Some(seq);
        self.pending.clear();
        self.online.clear();
        self.keys.clear();
        for (key, (id, name)) in (0u64..).zip(members) {
            self.keys.insert(id.clone(), key);
            self.online.insert(
                key,
                OnlineUser {
                    id,
                    name,
                    look: Look::UNKNOWN,
                },
            );
        }
        self.next_key = self.online.len() as u64;
        self.reset = true;
    }

    /// Shared mode: [`PresenceBook::record`] for the store's change number
    /// `seq` (one step, so a message never holds a change without its seq).
    pub fn record_at(&mut self, id: SessionId, name: Option<String>, seq: u64) {
        self.record(id, name);
        self.advance(seq);
    }

    /// Shared mode: every change recorded so far is the store's change
    /// number `seq` or older.
    pub fn advance(&mut self, seq: u64) {
        self.store_seq = Some(seq);
    }

    /// What a newly connected client needs: the published window, total and seq.
    ///
    /// It is the *published* state (not the registry's latest), so the next
    /// delta applies to it exactly.
    pub fn snapshot(&self) -> Presence {
        Presence::Snapshot {
            seq: self.seq,
            total: self.total(),
            users: self.shown.clone(),
        }
    }

    /// Publishes everything pending as one delta; `None` when nothing
    /// changed; a snapshot after [`PresenceBook::replace_all`].
    pub fn take_delta(&mut self) -> Option<Presence> {
        let total_before = self.total();
        for (id, wanted) in std::mem::take(&mut self.pending) {
            self.apply(id, wanted);
        }
        let window: Vec<OnlineUser> = self
            .online
            .values_mut()
            .take(PRESENCE_WINDOW)
            .map(|user| {
                if !user.look.is_known() {
                    user.look = look(&user.name);
                }
                user.clone()
            })
            .collect();
        if std::mem::take(&mut self.reset) {
            // The store's number, even if lower (Redis restarted empty):
            // clients take a snapshot's seq as it is.
            self.shown = window;
            self.seq = self.store_seq.unwrap_or(self.seq + 1);
            return Some(self.snapshot());
        }
        let changes = diff(&self.shown, &window);
        self.shown = window;
        let advanced = self.store_seq.is_some_and(|seq| seq > self.seq);
        if changes.is_empty() && self.total() == total_before && !advanced {
            return None;
        }
        let prev = self.seq;
        self.seq = match self.store_seq {
            Some(seq) if seq > prev => seq,
            _ => prev + 1,
        };
        Some(Presence::Delta {
            seq: self.seq,
            total: self.total(),
            changes,
            prev: self.store_seq.map(|_| prev),
        })
    }

    /// How many users clients currently see online (named or counted).
    #[cfg(test)]
    pub fn published_len(&self) -> usize {
        self.online.len()
    }

    fn total(&self) -> u64 {
        self.online.len() as u64
    }

    /// Applies one wanted state to `online`.
    fn apply(&mut self, id: SessionId, wanted: Option<String>) {
        match (self.keys.get(&id).copied(), wanted) {
            (None, None) => {}
            (Some(key), None) => {
                self.keys.remove(&id);
                self.online.remove(&key);
            }
            (Some(key), Some(name)) => {
                if let Some(user) = self.online.get_mut(&key) {
                    if user.name != name {
                        user.name = name;
                        user.look = Look::UNKNOWN;
                    }
                }
            }
            (None, Some(name)) => {
                let key = self.next_key;
                self.next_key += 1;
                self.keys.insert(id.clone(), key);
                let user = OnlineUser {
                    id,
                    name,
                    look: Look::UNKNOWN,
                };
                self.online.insert(key, user);
            }
        }
    }
}

/// The changes that turn window `old` into window `new`: who left it, then
/// who was renamed or entered it, in window order.
///
/// Entrants always sort after everyone who stays (they joined later, or were
/// further down the line), so a client that appends them keeps join order.
fn diff(old: &[OnlineUser], new: &[OnlineUser]) -> Vec<PresenceChange> {
    let new_ids: HashSet<&SessionId> = new.iter().map(|u| &u.id).collect();
    let old_names: HashMap<&SessionId, &str> =
        old.iter().map(|u| (&u.id, u.name.as_str())).collect();
    let left = old
        .iter()
        .filter(|u| !new_ids.contains(&u.id))
        .map(|u| PresenceChange::Left { id: u.id.clone() });
    let entered_or_renamed = new.iter().filter_map(|u| {
        let (id, name, look) = (u.id.clone(), u.name.clone(), u.look);
        match old_names.get(&u.id) {
            None => Some(PresenceChange::Joined { id, name, look }),
            Some(old) if *old != u.name => Some(PresenceChange::Renamed { id, name, look }),
            Some(_) => None,
        }
    });
    left.chain(entered_or_renamed).collect()
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
            name: name.into(),
            look: look(name),
        }
    }

    fn renamed(s: &str, name: &str) -> PresenceChange {
        PresenceChange::Renamed {
            id: id(s),
            name: name.into(),
            look: look(name),
        }
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
        assert_eq!(changes(book.take_delta()), vec![joined("a", "Grace")]);
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
                total: 0,
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
        assert_eq!(changes(book.take_delta()), vec![renamed("a", "Grace")]);
        book.record(id("a"), None);
        assert_eq!(
            changes(book.take_delta()),
            vec![PresenceChange::Left { id: id("a") }]
        );
        assert_eq!(book.published_len(), 0);
    }

    #[test]
    fn burst_of_joins_is_one_small_delta_and_snapshot_matches() {
        let mut book = PresenceBook::default();
        for i in 0..20_000 {
            book.record(id(&i.to_string()), Some(format!("user{i}")));
        }
        match book.take_delta() {
            Some(Presence::Delta {
                seq: 1,
                total: 20_000,
                changes,
                prev: None,
            }) => {
                assert_eq!(changes.len(), PRESENCE_WINDOW);
                assert_eq!(changes[0], joined("0", "user0"));
            }
            other => panic!("{other:?}"),
        }
        match book.snapshot() {
            Presence::Snapshot { seq, total, users } => {
                assert_eq!((seq, total), (1, 20_000));
                assert_eq!(users.len(), PRESENCE_WINDOW);
                assert_eq!(users[99].name, "user99");
            }
            other => panic!("{other:?}"),
        }
        // Joins beyond the window only move the total.
        book.record(id("late"), Some("Late".into()));
        assert_eq!(
            book.take_delta(),
            Some(Presence::Delta {
                seq: 2,
                total: 20_001,
                changes: vec![],
                prev: None,
            })
        );
    }

    #[test]
    fn the_next_in_line_enters_when_someone_in_the_window_leaves() {
        let mut book = PresenceBook::default();
        for i in 0..=PRESENCE_WINDOW {
            book.record(id(&i.to_string()), Some(format!("user{i}")));
        }
        book.take_delta();
        book.record(id("5"), None);
        book.record(id("7"), Some("Seven".into()));
        let expected = vec![
            PresenceChange::Left { id: id("5") },
            renamed("7", "Seven"),
            joined("100", "user100"),
        ];
        assert_eq!(
            book.take_delta(),
            Some(Presence::Delta {
                seq: 2,
                total: 100,
                changes: expected,
                prev: None,
            })
        );
        // A client applying snapshot + deltas ends with the server's window.
        let Presence::Snapshot { users, .. } = book.snapshot() else {
            unreachable!()
        };
        assert_eq!(users.len(), PRESENCE_WINDOW);
        assert_eq!(users.last().map(|u| u.id.clone()), Some(id("100")));
        assert!(!users.iter().any(|u| u.id == id("5")));
    }

    /// Random joins, renames and leaves: a client that starts from any
    /// snapshot and applies every later delta always holds the server's window.
    #[test]
    fn clients_following_deltas_match_every_snapshot() {
        use app_client::PresenceView;
        let mut book = PresenceBook::default();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut followers: Vec<PresenceView> = Vec::new();
        for round in 0..300 {
            for _ in 0..next(40) {
                let who = id(&next(400).to_string());
                let name = (next(3) > 0).then(|| format!("n{}", next(5)));
                book.record(who, name);
            }
            if let Some(delta) = book.take_delta() {
                for view in &mut followers {
                    view.apply(&delta);
                }
            }
            let snapshot = book.snapshot();
            let mut fresh = PresenceView::default();
            fresh.apply(&snapshot);
            for (i, view) in followers.iter().enumerate() {
                assert_eq!(view.len(), fresh.len(), "round {round}, follower {i}");
                assert_eq!(
                    view.first(PRESENCE_WINDOW),
                    fresh.first(PRESENCE_WINDOW),
                    "round {round}, follower {i}"
                );
            }
            if round % 30 == 0 {
                followers.push(fresh);
            }
        }
        assert!(
            book.published_len() > PRESENCE_WINDOW,
            "the window overflowed"
        );
    }

    /// Presence carries each name's look-alike key: the same for `Ada`,
    /// Cyrillic `Аda` and a second `Ada`, in deltas and snapshots alike, and
    /// a rename brings the new name's key.
    #[test]
    fn names_carry_their_look_alike_key() {
        let mut book = PresenceBook::default();
        book.record(id("a"), Some("Ada".into()));
        book.record(id("b"), Some("\u{0410}da".into()));
        book.record(id("c"), Some("Ada".into()));
        book.record(id("d"), Some("Bob".into()));
        let looks: Vec<Look> = changes(book.take_delta())
            .into_iter()
            .map(|change| match change {
                PresenceChange::Joined { look, .. } => look,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(looks.iter().all(|l| l.is_known()));
        assert_eq!(looks[0], looks[1]);
        assert_eq!(looks[0], looks[2]);
        assert_ne!(looks[0], looks[3]);
        let Presence::Snapshot { users, .. } = book.snapshot() else {
            unreachable!()
        };
        let snapshot_looks: Vec<Look> = users.iter().map(|u| u.look).collect();
        assert_eq!(snapshot_looks, looks);
        book.record(id("b"), Some("Bob".into()));
        assert_eq!(changes(book.take_delta()), vec![renamed("b", "Bob")]);
    }

    /// A shared-mode reload replaces everyone, in the store's order, and
    /// clients get one snapshot (a delta cannot reorder what they hold).
    #[test]
    fn a_reload_is_sent_as_one_snapshot_in_the_new_order() {
        let mut book = PresenceBook::default();
        book.record(id("a"), Some("Ada".into()));
        book.record(id("b"), Some("Bob".into()));
        book.take_delta();
        book.replace_all(vec![(id("c"), "Cy".into()), (id("b"), "Bo".into())], 9);
        match book.take_delta() {
            Some(Presence::Snapshot {
                seq: 9,
                total: 2,
                users,
            }) => {
                let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
                assert_eq!(names, ["Cy", "Bo"]);
                assert!(users.iter().all(|u| u.look.is_known()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(book.take_delta(), None, "one snapshot, then quiet");
        book.record_at(id("d"), Some("Di".into()), 12);
        assert_eq!(
            book.take_delta(),
            Some(Presence::Delta {
                seq: 12,
                total: 3,
                changes: vec![joined("d", "Di")],
                prev: Some(9),
            })
        );
        // The store moved on with nothing this window shows (a rename
        // beyond it, say): clients still learn the new seq.
        book.advance(15);
        assert_eq!(
            book.take_delta(),
            Some(Presence::Delta {
                seq: 15,
                total: 3,
                changes: vec![],
                prev: Some(12),
            })
        );
        assert_eq!(book.take_delta(), None);
    }

    /// Users beyond the window get their key when they enter it.
    #[test]
    fn the_next_in_line_enters_with_its_key() {
        let mut book = PresenceBook::default();
        for i in 0..=PRESENCE_WINDOW {
            book.record(id(&i.to_string()), Some(format!("user{i}")));
        }
        book.take_delta();
        assert!(book
            .online
            .values()
            .skip(PRESENCE_WINDOW)
            .all(|u| !u.look.is_known()));
        book.record(id("0"), None);
        assert_eq!(
            changes(book.take_delta()),
            vec![
                PresenceChange::Left { id: id("0") },
                joined("100", "user100")
            ]
        );
    }
}
