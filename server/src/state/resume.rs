//! Resume tokens: a reconnecting or reloading page gets its session back
//! (same id, same name), and nobody else can.
//!
//! The session id is public (presence shows it), so it cannot be the
//! credential. Each session instead gets a token of 244 random bits
//! (two v4 UUIDs from the OS generator) that only its own client sees, in
//! `connected`. A token is good once: resuming consumes it and issues a new
//! one. It is accepted only while its session is *disconnected* and for at
//! most the TTL after that; anything else (wrong, used, expired, or the
//! session still connected elsewhere) silently yields a fresh session, with
//! the same reply shape, so there is no oracle to probe.
//!
//! Pure state behind a mutex, no I/O; expired entries are dropped lazily
//! (the TTL is fixed, so departures expire in the order they happened).
//! The book is bounded: at most `capacity` departures are remembered, the
//! oldest forgotten first, so a client cycling sessions as fast as it can
//! (≈ 2,000 a second on 30 websockets, ≈ 670 B each for the 600 s TTL:
//! ≈ 0.8 GB) cannot grow it without limit.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shared::events::{ResumeToken, SessionId};
use uuid::Uuid;

/// Sessions that can be resumed, and the tokens that resume them.
#[derive(Debug)]
pub struct ResumeBook {
    ttl: Duration,
    /// Most departures remembered at once.
    capacity: usize,
    inner: Mutex<Inner>,
}

/// The default bound on remembered departures: five times the default
/// connection limit (a whole room reloading, several times over), ≈ 35 MB.
pub const DEFAULT_RESUME_CAPACITY: usize = 50_000;

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<ResumeToken, Entry>,
    /// The current token of each known session.
    by_session: HashMap<SessionId, ResumeToken>,
    /// Departures in order, to expire them without scanning.
    departures: VecDeque<(Instant, ResumeToken)>,
}

#[derive(Debug)]
struct Entry {
    session: SessionId,
    /// The name to restore, as of the departure.
    name: Option<String>,
    /// When the session disconnected; `None` while it is connected.
    left_at: Option<Instant>,
}

/// A session brought back by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    pub session: SessionId,
    pub name: Option<String>,
}

impl ResumeBook {
    pub fn new(ttl: Duration) -> Self {
        ResumeBook::with_capacity(ttl, DEFAULT_RESUME_CAPACITY)
    }

    /// A book that remembers at most `capacity` departures (at least one).
    pub fn with_capacity(ttl: Duration, capacity: usize) -> Self {
        ResumeBook {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// Gives a (new or resumed) connected session a fresh token.
    pub fn issue(&self, session: &SessionId, now: Instant) -> ResumeToken {
        let token = fresh_token();
        let mut inner = self.lock();
        inner.expire(now, self.ttl);
        if let Some(old) = inner.by_session.remove(session) {
            inner.by_token.remove(&old);
        }
        inner.by_session.insert(session.clone(), token.clone());
        inner.by_token.insert(
            token.clone(),
            Entry {
                session: session.clone(),
                name: None,
                left_at: None,
            },
        );
        token
    }

    /// The session `token` resumes, if it is valid now; consumes the token.
    pub fn resume(&self, token: &ResumeToken, now: Instant) -> Option<Resumed> {
        let mut inner = self.lock();
        inner.expire(now, self.ttl);
        // Only a disconnected session can be resumed: a token replayed while
        // its owner is connected must not split or steal the session.
        inner.by_token.get(token)?.left_at?;
        let entry = inner.by_token.remove(token)?;
        inner.by_session.remove(&entry.session);
        Some(Resumed {
            session: entry.session,
            name: entry.name,
        })
    }

    /// The session disconnected with `name`: resumable for the TTL from now.
    pub fn left(&self, session: &SessionId, name: Option<String>, now: Instant) {
        let mut inner = self.lock();
        let Some(token) = inner.by_session.get(session).cloned() else {
            return;
        };
        if let Some(entry) = inner.by_token.get_mut(&token) {
            entry.name = name;
            entry.left_at = Some(now);
            inner.departures.push_back((now, token));
        }
        inner.forget_oldest_beyond(self.capacity);
    }

    /// How many sessions can currently be resumed or are connected (tests, stats).
    pub fn len(&self) -> usize {
        self.lock().by_token.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Plain maps: a panic elsewhere cannot leave them inconsistent.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Forgets the oldest departures until at most `capacity` are left (a
    /// departure whose session resumed since counts until it is dropped
    /// here or by [`Inner::expire`], so the queue itself stays bounded too).
    fn forget_oldest_beyond(&mut self, capacity: usize) {
        while self.departures.len() > capacity {
            let Some((left_at, token)) = self.departures.pop_front() else {
                break;
            };
            self.forget_if_still(left_at, &token);
        }
    }

    /// Drops `token`'s session if it is still the departure at `left_at`
    /// (not resumed, not departed again since).
    fn forget_if_still(&mut self, left_at: Instant, token: &ResumeToken) {
        let stale = self
            .by_token
            .get(token)
            .is_some_and(|e| e.left_at == Some(left_at));
        if stale {
            if let Some(entry) = self.by_token.remove(token) {
                self.by_session.remove(&entry.session);
            }
        }
    }

    /// Drops sessions that left more than `ttl` ago.
    fn expire(&mut self, now: Instant, ttl: Duration) {
        while let Some((left_at, _)) = self.departures.front() {
            if now.saturating_duration_since(*left_at) < ttl {
                break;
            }
            let Some((left_at, token)) = self.departures.pop_front() else {
                break;
            };
            self.forget_if_still(left_at, &token);
        }
    }
}

/// 244 random bits from the OS generator, as 64 hex digits.
/// A new token: 244 random bits from the OS generator.
pub fn fresh_token() -> ResumeToken {
    ResumeToken(format!(
        "{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(600);

    fn id(s: &str) -> SessionId {
        SessionId(s.to_owned())
    }

    #[test]
    fn a_departed_session_resumes_once_with_its_name() {
        let book = ResumeBook::new(TTL);
        let t0 = Instant::now();
        let token = book.issue(&id("a"), t0);
        assert_eq!(token.0.len(), 64);
        assert_eq!(book.resume(&token, t0), None, "still connected");
        book.left(&id("a"), Some("Ada".into()), t0);
        let back = book.resume(&token, t0 + Duration::from_secs(1));
        assert_eq!(
            back,
            Some(Resumed {
                session: id("a"),
                name: Some("Ada".into())
            })
        );
        assert_eq!(book.resume(&token, t0), None, "a token is good once");
        // The resumed session gets a new token, which works after the next departure.
        let next = book.issue(&id("a"), t0);
        assert_ne!(next, token);
        book.left(&id("a"), None, t0);
        assert!(book.resume(&next, t0).is_some());
    }

    #[test]
    fn wrong_and_expired_tokens_resume_nothing() {
        let book = ResumeBook::new(TTL);
        let t0 = Instant::now();
        let token = book.issue(&id("a"), t0);
        book.left(&id("a"), Some("Ada".into()), t0);
        assert_eq!(book.resume(&ResumeToken("guess".into()), t0), None);
        assert_eq!(
            book.resume(&ResumeToken(id("a").0), t0),
            None,
            "the id is no token"
        );
        assert_eq!(book.resume(&token, t0 + TTL), None, "expired");
        assert!(book.is_empty(), "expired entries are dropped");
    }

    #[test]
    fn a_new_token_replaces_the_old_one() {
        let book = ResumeBook::new(TTL);
        let t0 = Instant::now();
        let first = book.issue(&id("a"), t0);
        let second = book.issue(&id("a"), t0);
        book.left(&id("a"), None, t0);
        assert_eq!(book.resume(&first, t0), None);
        assert!(book.resume(&second, t0).is_some());
        assert!(book.is_empty());
    }

    #[test]
    fn the_book_forgets_the_oldest_departures_beyond_its_capacity() {
        let book = ResumeBook::with_capacity(TTL, 3);
        let t0 = Instant::now();
        let tokens: Vec<_> = (0..5)
            .map(|i| {
                let session = id(&format!("s{i}"));
                let token = book.issue(&session, t0);
                book.left(&session, Some(format!("N{i}")), t0);
                token
            })
            .collect();
        assert_eq!(book.len(), 3, "bounded by its capacity");
        assert_eq!(book.resume(&tokens[0], t0), None, "the oldest is forgotten");
        assert_eq!(book.resume(&tokens[1], t0), None);
        let back = book.resume(&tokens[4], t0).expect("the newest is kept");
        assert_eq!(back.name.as_deref(), Some("N4"));
        // A session cycling resume → leave keeps the queue bounded as well.
        let session = id("cycler");
        let mut token = book.issue(&session, t0);
        for _ in 0..100 {
            book.left(&session, None, t0);
            book.resume(&token, t0).expect("resumes");
            token = book.issue(&session, t0);
        }
        assert!(book.lock().departures.len() <= 3);
    }

    #[test]
    fn tokens_are_unique_and_random_looking() {
        let book = ResumeBook::new(TTL);
        let t0 = Instant::now();
        let tokens: std::collections::HashSet<String> = (0..1000)
            .map(|i| book.issue(&id(&i.to_string()), t0).0)
            .collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens
            .iter()
            .all(|t| t.chars().all(|c| c.is_ascii_hexdigit())));
    }
}
