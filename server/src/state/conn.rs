//! What one socket carries from event to event, in one place.
//!
//! Every `identify` needs the socket's session id, its arrival counter and
//! its rate-limit buckets. socketioxide keeps per-socket values in a map
//! behind a lock, and each `Extension` lookup clones out of it; three
//! lookups per event were a measurable share of the server's per-event work
//! in S1, so the three live together behind one `Arc` and one lookup.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use shared::events::SessionId;
use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;

use crate::state::arrival::Arrival;
use crate::state::rate::{Bucket, RateLimit};

/// One socket's state, stored in its extensions at connect.
#[derive(Debug)]
pub struct Conn {
    /// The session this socket speaks for (public; shown in presence).
    pub session: SessionId,
    /// Events seen so far on this socket, for [`Arrival`].
    arrivals: AtomicU64,
    /// The socket's `identify` rate limit.
    pub bucket: Bucket,
    /// The socket's limit on name changes that show in presence.
    pub renames: Bucket,
    /// The socket's `wave` rate limit.
    pub waves: Bucket,
}

impl Conn {
    pub fn new(
        session: SessionId,
        identify: RateLimit,
        renames: RateLimit,
        waves: RateLimit,
        now: Instant,
    ) -> Arc<Conn> {
        Arc::new(Conn {
            session,
            arrivals: AtomicU64::new(0),
            bucket: Bucket::new(identify, now),
            renames: Bucket::new(renames, now),
            waves: Bucket::new(waves, now),
        })
    }

    /// Stamps the next event: 1 for the first, then 2, 3, …
    fn next_arrival(&self) -> Arrival {
        Arrival(self.arrivals.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// Extractor: the socket's [`Conn`] and the current event's arrival position.
///
/// Extractors run synchronously in arrival order (handlers then run as tasks
/// of their own, in any order), so the stamp is taken here.
pub struct ConnEvent {
    pub conn: Arc<Conn>,
    pub arrival: Arrival,
}

/// The socket has no [`Conn`]: only possible if `on_connect` did not run.
#[derive(Debug, thiserror::Error)]
#[error("socket has no connection state")]
pub struct NoConn;

impl<A: Adapter> FromMessageParts<A> for ConnEvent {
    type Error = NoConn;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, NoConn> {
        let conn = socket.extensions.get::<Arc<Conn>>().ok_or(NoConn)?;
        let arrival = conn.next_arrival();
        Ok(ConnEvent { conn, arrival })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_count_from_one() {
        let config = crate::config::Config::defaults();
        let conn = Conn::new(
            SessionId("s".into()),
            config.identify_limit(),
            config.rename_limit(),
            config.wave_limit(),
            Instant::now(),
        );
        assert_eq!(conn.next_arrival(), Arrival(1));
        assert_eq!(conn.next_arrival(), Arrival(2));
    }
}
