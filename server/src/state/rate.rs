//! A per-socket limit on `identify`: a token bucket, and a way out for
//! sockets that keep flooding.
//!
//! A person renames a few times a minute at most; a script can send 10,000
//! identifies a second over one socket, each costing the server a parse, the
//! name rules and a registry update. Within the limit nothing changes; above
//! it the sender gets a `rate_limited` error ack (cheap: no name rules, no
//! registry), and a socket that goes on sending after
//! [`Verdict::Disconnect`]'s threshold is disconnected, so a flood costs
//! the server a bounded amount of work before it ends.

use std::sync::Mutex;
use std::time::Instant;

/// The limit: a sustained rate and a burst. `per_sec == 0` turns it off
/// (the throughput benchmark measures the identify path itself).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second (fractions allowed: 0.1 is one per 10 s).
    pub per_sec: f64,
    pub burst: u32,
}

impl RateLimit {
    /// Refusals in a row after which the socket is disconnected.
    fn patience(&self) -> u32 {
        self.burst.saturating_mul(10).max(100)
    }
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Answer `rate_limited`, keep the socket.
    Refuse,
    /// It keeps flooding: answer nothing more and disconnect it.
    Disconnect,
    /// Already being disconnected: drop the event without an answer.
    Ignore,
}

/// One socket's bucket (in its extensions).
#[derive(Debug)]
pub struct Bucket {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
    refused_in_a_row: u32,
    cut_off: bool,
}

impl Bucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Bucket {
            state: Mutex::new(State {
                tokens: f64::from(limit.burst),
                last: now,
                refused_in_a_row: 0,
                cut_off: false,
            }),
        }
    }

    /// Takes a token for one event at `now`.
    pub fn check(&self, limit: RateLimit, now: Instant) -> Verdict {
        if limit.per_sec <= 0.0 {
            return Verdict::Allow;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.cut_off {
            return Verdict::Ignore;
        }
        if s.take(limit, now) {
            s.refused_in_a_row = 0;
            return Verdict::Allow;
        }
        s.refused_in_a_row = s.refused_in_a_row.saturating_add(1);
        if s.refused_in_a_row > limit.patience() {
            s.cut_off = true;
            Verdict::Disconnect
        } else {
            Verdict::Refuse
        }
    }

    /// Takes a token at `now` if there is one: a plain token bucket, with
    /// no flood bookkeeping (for limits whose refusals are not a flood).
    pub fn take(&self, limit: RateLimit, now: Instant) -> bool {
        if limit.per_sec <= 0.0 {
            return true;
        }
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(limit, now)
    }
}

impl State {
    /// Refills for the time since the last call, then takes one token.
    fn take(&mut self, limit: RateLimit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * limit.per_sec).min(f64::from(limit.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LIMIT: RateLimit = RateLimit {
        per_sec: 10.0,
        burst: 20,
    };

    #[test]
    fn a_burst_passes_then_the_rate_refills() {
        let t0 = Instant::now();
        let bucket = Bucket::new(LIMIT, t0);
        for i in 0..20 {
            assert_eq!(bucket.check(LIMIT, t0), Verdict::Allow, "event {i}");
        }
        assert_eq!(bucket.check(LIMIT, t0), Verdict::Refuse);
        // 100 ms later one token is back, not more.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(bucket.check(LIMIT, t1), Verdict::Allow);
        assert_eq!(bucket.check(LIMIT, t1), Verdict::Refuse);
        // After a quiet second and more, at most the burst again.
        let t2 = t1 + Duration::from_secs(60);
        let allowed = (0..100)
            .filter(|_| bucket.check(LIMIT, t2) == Verdict::Allow)
            .count();
        assert_eq!(allowed, 20);
    }

    #[test]
    fn a_flood_ends_in_a_disconnect() {
        let t0 = Instant::now();
        let bucket = Bucket::new(LIMIT, t0);
        let verdicts: Vec<Verdict> = (0..1000).map(|_| bucket.check(LIMIT, t0)).collect();
        let refused = verdicts.iter().filter(|v| **v == Verdict::Refuse).count();
        assert_eq!(refused, 200, "patience: 10 × the burst");
        assert_eq!(verdicts[20 + 200], Verdict::Disconnect);
        assert!(
            verdicts[20 + 201..].iter().all(|v| *v == Verdict::Ignore),
            "one disconnect, then silence"
        );
    }

    #[test]
    fn a_slow_limit_refills_in_fractions() {
        let renames = RateLimit {
            per_sec: 0.1,
            burst: 2,
        };
        let t0 = Instant::now();
        let bucket = Bucket::new(renames, t0);
        assert!(bucket.take(renames, t0) && bucket.take(renames, t0));
        assert!(!bucket.take(renames, t0));
        assert!(!bucket.take(renames, t0 + Duration::from_secs(9)));
        assert!(bucket.take(renames, t0 + Duration::from_secs(10)));
        // Refusals never cut the socket off.
        assert!((0..1000).all(|_| !bucket.take(renames, t0 + Duration::from_secs(10))));
        assert!(bucket.take(renames, t0 + Duration::from_secs(21)));
    }

    #[test]
    fn zero_means_unlimited() {
        let off = RateLimit {
            per_sec: 0.0,
            burst: 0,
        };
        let t0 = Instant::now();
        let bucket = Bucket::new(off, t0);
        assert!((0..10_000).all(|_| bucket.check(off, t0) == Verdict::Allow));
    }
}
