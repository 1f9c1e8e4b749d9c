//! The resume tokens a node issued, until Redis holds them for good.
//!
//! A token reaches Redis with its session's first write, a moment after the
//! connect (or, while Redis is down, when it is back). A session that leaves
//! before that write would otherwise lose its token: Redis never saw it, so
//! no node could honour it, where the single process would. So the node
//! keeps what it must still tell Redis: the token of each session it holds,
//! and, for each session that left, its token and name until Redis has
//! settled the leave. A token Redis never stored is then *parked* there with
//! the rest of its TTL, as the leave would have done.
//!
//! No I/O: the task asks, writes, and reports back.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use shared::events::{ResumeToken, SessionId};

/// A held session's token, and whether Redis has stored it.
#[derive(Debug)]
struct Issued {
    token: ResumeToken,
    stored: bool,
}

/// A session that left, as Redis must still learn it.
#[derive(Debug)]
struct Left {
    token: ResumeToken,
    name: Option<String>,
    at: Instant,
    stored: bool,
}

/// A token to park in Redis for a session that left: Redis never stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Park {
    pub token: ResumeToken,
    /// The name the session had when it left (`""` for none).
    pub name: String,
    /// What is left of its TTL, in whole seconds (at least 1).
    pub ttl_secs: u64,
}

/// Every token this node issued that Redis may not hold yet.
#[derive(Debug)]
pub struct Tokens {
    held: HashMap<SessionId, Issued>,
    /// At most `cap`: past it, the oldest leave is forgotten (its token
    /// would expire first anyway), so a Redis outage under churn stays
    /// bounded.
    left: HashMap<SessionId, Left>,
    /// The leaves in the order they happened, oldest first; it may still
    /// name settled ones (skipped, and compacted away as they pile up), so
    /// every operation stays O(1) amortised.
    order: VecDeque<SessionId>,
    ttl: Duration,
    cap: usize,
}

impl Tokens {
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Tokens {
            held: HashMap::new(),
            left: HashMap::new(),
            order: VecDeque::new(),
            ttl,
            cap,
        }
    }

    /// A connected session got `token` (Redis has not stored it yet).
    pub fn issue(&mut self, session: SessionId, token: ResumeToken) {
        self.left.remove(&session);
        let issued = Issued {
            token,
            stored: false,
        };
        self.held.insert(session, issued);
    }

    /// The token to write with a held session.
    pub fn current(&self, session: &SessionId) -> Option<ResumeToken> {
        self.held.get(session).map(|issued| issued.token.clone())
    }

    /// Redis stored `token` for `session` (a write answered `ok`).
    pub fn stored(&mut self, session: &SessionId, token: &ResumeToken) {
        if let Some(issued) = self.held.get_mut(session) {
            if issued.token == *token {
                issued.stored = true;
            }
        }
    }

    /// `session` left with `name`: keep its token until Redis settles it.
    pub fn left(&mut self, session: &SessionId, name: Option<String>, now: Instant) {
        let Some(issued) = self.held.remove(session) else {
            return;
        };
        if self.left.len() >= self.cap {
            while let Some(oldest) = self.order.pop_front() {
                if self.left.remove(&oldest).is_some() {
                    break;
                }
            }
        }
        let left = Left {
            token: issued.token,
            name,
            at: now,
            stored: issued.stored,
        };
        self.left.insert(session.clone(), left);
        self.order.push_back(session.clone());
        self.compact();
    }

    /// What to park with the leave of `session`: its token, if Redis never
    /// stored it and it has not expired yet.
    pub fn to_park(&self, session: &SessionId, now: Instant) -> Option<Park> {
        let left = self.left.get(session).filter(|left| !left.stored)?;
        let remaining = self
            .ttl
            .checked_sub(now.saturating_duration_since(left.at))
            .filter(|remaining| !remaining.is_zero())?;
        Some(Park {
            token: left.token.clone(),
            name: left.name.clone().unwrap_or_default(),
            ttl_secs: remaining.as_secs().max(1),
        })
    }

    /// Redis settled the leave of `session`: nothing more to tell it.
    pub fn settled(&mut self, session: &SessionId) {
        self.left.remove(session);
    }

    /// Redis lost its data: it stores nothing of ours any more.
    pub fn redis_lost_everything(&mut self) {
        self.held
            .values_mut()
            .for_each(|issued| issued.stored = false);
        self.left.values_mut().for_each(|left| left.stored = false);
    }

    /// The sessions that left and that Redis must still be told of,
    /// oldest first.
    pub fn unsettled(&self) -> Vec<SessionId> {
        let mut seen = std::collections::HashSet::new();
        self.order
            .iter()
            .filter(|session| self.left.contains_key(*session) && seen.insert(*session))
            .cloned()
            .collect()
    }

    /// Forgets the tokens of sessions no longer held (`holds` says which
    /// are) and of leaves whose TTL ran out.
    pub fn prune(&mut self, holds: impl Fn(&SessionId) -> bool, now: Instant) {
        self.held.retain(|session, _| holds(session));
        let ttl = self.ttl;
        self.left
            .retain(|_, left| now.saturating_duration_since(left.at) < ttl);
        self.compact();
    }

    /// Drops settled leaves from `order` once they outnumber the live ones.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.left.len() + 64 {
            let left = &self.left;
            self.order.retain(|session| left.contains_key(session));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(n: u8) -> SessionId {
        SessionId(format!("s{n}"))
    }

    fn token(n: u8) -> ResumeToken {
        ResumeToken(format!("t{n}"))
    }

    fn tokens() -> Tokens {
        Tokens::new(Duration::from_secs(300), 2)
    }

    /// Session 1 got token 1 (confirmed by Redis if `stored`) and left at
    /// `now` as `name`.
    fn came_and_went(stored: bool, name: Option<&str>, now: Instant) -> Tokens {
        let mut tokens = tokens();
        tokens.issue(session(1), token(1));
        if stored {
            tokens.stored(&session(1), &token(1));
        }
        tokens.left(&session(1), name.map(str::to_owned), now);
        tokens
    }

    #[test]
    fn a_token_redis_never_stored_is_parked_with_the_name_and_the_rest_of_its_ttl() {
        let now = Instant::now();
        let mut tokens = came_and_went(false, Some("Ada"), now);
        let park = tokens.to_park(&session(1), now + Duration::from_secs(100));
        assert_eq!(
            park,
            Some(Park {
                token: token(1),
                name: "Ada".into(),
                ttl_secs: 200
            })
        );
        tokens.settled(&session(1));
        assert_eq!(tokens.to_park(&session(1), now), None);
    }

    #[test]
    fn a_stored_token_is_left_to_redis() {
        let now = Instant::now();
        let tokens = came_and_went(true, None, now);
        assert_eq!(tokens.to_park(&session(1), now), None);
        assert_eq!(
            tokens.unsettled(),
            vec![session(1)],
            "the leave is still owed"
        );
    }

    #[test]
    fn a_stale_confirmation_does_not_mark_a_newer_token() {
        let mut tokens = tokens();
        tokens.issue(session(1), token(1));
        tokens.issue(session(1), token(2));
        tokens.stored(&session(1), &token(1));
        tokens.left(&session(1), None, Instant::now());
        assert_eq!(
            tokens.to_park(&session(1), Instant::now()).map(|p| p.token),
            Some(token(2))
        );
    }

    #[test]
    fn after_redis_lost_its_data_every_token_is_parked_again() {
        let now = Instant::now();
        let mut tokens = came_and_went(true, Some("Ada"), now);
        tokens.redis_lost_everything();
        assert_eq!(
            tokens.to_park(&session(1), now).map(|p| p.token),
            Some(token(1))
        );
    }

    #[test]
    fn an_expired_leave_is_not_parked_and_is_pruned() {
        let now = Instant::now();
        let mut tokens = came_and_went(false, None, now);
        let later = now + Duration::from_secs(300);
        assert_eq!(tokens.to_park(&session(1), later), None);
        tokens.prune(|_| true, later);
        assert!(tokens.unsettled().is_empty());
    }

    #[test]
    fn leaves_past_the_cap_forget_the_oldest() {
        let mut tokens = tokens();
        let now = Instant::now();
        for n in 1..=3 {
            tokens.issue(session(n), token(n));
            tokens.left(&session(n), None, now);
        }
        assert_eq!(tokens.unsettled(), vec![session(2), session(3)]);
    }

    #[test]
    fn settled_leaves_do_not_pile_up() {
        let mut tokens = Tokens::new(Duration::from_secs(300), 100_000);
        let now = Instant::now();
        for n in 0..10_000u32 {
            let s = SessionId(format!("s{n}"));
            tokens.issue(s.clone(), ResumeToken(format!("t{n}")));
            tokens.left(&s, None, now);
            tokens.settled(&s);
        }
        assert!(tokens.order.len() <= 64 + 1, "{}", tokens.order.len());
        assert!(tokens.unsettled().is_empty());
    }

    #[test]
    fn prune_forgets_tokens_of_sessions_no_longer_held() {
        let mut tokens = tokens();
        tokens.issue(session(1), token(1));
        tokens.issue(session(2), token(2));
        tokens.prune(|s| *s == session(2), Instant::now());
        assert_eq!(tokens.current(&session(1)), None);
        assert_eq!(tokens.current(&session(2)), Some(token(2)));
    }
}
