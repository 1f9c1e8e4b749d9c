//! Presence fan-out: when and to whom presence messages go.
//!
//! The [`PresenceBook`] decides *what* to say; this decides *when*: a ticker
//! publishes at most one delta per window to every client in the presence
//! room (a change after a quiet window goes at once; the ones that follow
//! wait for the window to end), and a new client gets the snapshot. Both
//! happen under one async lock, so a client always receives its snapshot
//! and the deltas in seq order, and joins the room in the same critical
//! section as its snapshot is taken (no delta can fall between the two).
//!
//! What one client can be sent is bounded per window, whatever others do:
//! - one message per window, encoded once and handed to each socket;
//! - at most `--presence-bytes-per-sec` sustained ([`ByteBudget`]): past
//!   it, changes wait in the book (where they coalesce) until the budget
//!   refills, so a crowd churning through the window costs every listener
//!   at most that, not a message per window;
//! - a delta larger than the snapshot it leads to is sent as that snapshot
//!   (a burst of joins, leaves and renames costs a listener at most one
//!   window's snapshot);
//! - a socket whose outgoing queue is full (a client that stopped reading)
//!   is not queued anything more: it is marked *lagging*, skips deltas, and
//!   once its queue has room gets one fresh snapshot instead of a backlog.
//!   (A queue still full at the next heartbeat makes socketioxide close the
//!   session: it cannot queue the ping.)

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shared::events::{Presence, ServerEvent, SessionId, NAMESPACE};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::task::JoinHandle;

use crate::state::emit::{self, Encoded};
use crate::state::presence::PresenceBook;

/// The room every `/iss` socket joins to receive presence deltas.
const PRESENCE_ROOM: &str = "presence";

/// Deltas encoded larger than this are compared with the snapshot they lead
/// to (encoding the snapshot only then keeps the common small delta cheap).
const SNAPSHOT_CHECK_BYTES: usize = 2048;

/// The presence bytes every listener may be sent, as a token bucket: it
/// holds at most one second's worth, and a message may be sent while any is
/// left (it may overdraw: the next ones wait until it is paid back). So a
/// listener receives at most `bytes_per_sec` sustained, plus one second's
/// worth and one message in a burst. 0 = no budget.
#[derive(Debug, Clone)]
pub struct ByteBudget {
    per_sec: f64,
    tokens: f64,
    at: Instant,
}

impl ByteBudget {
    pub fn new(bytes_per_sec: u32, now: Instant) -> Self {
        let per_sec = f64::from(bytes_per_sec);
        ByteBudget {
            per_sec,
            tokens: per_sec,
            at: now,
        }
    }

    /// Whether a message may go out now.
    pub fn allows(&mut self, now: Instant) -> bool {
        if self.per_sec == 0.0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.per_sec);
        self.at = now;
        self.tokens > 0.0
    }

    /// Pays for a message of `bytes`.
    pub fn spend(&mut self, bytes: usize) {
        if self.per_sec > 0.0 {
            self.tokens -= bytes as f64;
        }
    }
}

/// Encodes a presence message once, for every socket.
fn encode(presence: Presence) -> Encoded {
    Encoded::new(&ServerEvent::Presence(presence))
}

/// Whether an emit failed because the socket's outgoing queue is full.
fn queue_full(result: Result<(), SendError>) -> bool {
    match result {
        Err(SendError::Socket(SocketError::InternalChannelFull)) => true,
        Err(err) => {
            tracing::debug!(%err, "could not send presence");
            false
        }
        Ok(()) => false,
    }
}

/// Shared presence state plus the lock that orders its emissions.
#[derive(Debug, Default)]
pub struct Fanout {
    book: Mutex<PresenceBook>,
    emit_order: tokio::sync::Mutex<()>,
    /// Sockets whose queue was full: they owe a fresh snapshot.
    lagging: Mutex<HashSet<Sid>>,
    /// Wakes the ticker when the book changes (see [`Fanout::spawn_ticker`]).
    changed: tokio::sync::Notify,
    /// Presence bytes handed to sockets so far (`/metrics`).
    sent_bytes: std::sync::atomic::AtomicU64,
}

/// What a [`Fanout::flush`] did, for the ticker to pace the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    /// A message went to at least one socket: the next waits a window.
    pub sent: bool,
    /// Something still waits (a delta held by the byte budget, a lagging
    /// socket's snapshot): flush again after a window, change or not.
    pub pending: bool,
}

impl Fanout {
    /// Notes the wanted state of a session; published at the next flush.
    pub fn record(&self, id: SessionId, name: Option<String>) {
        self.book().record(id, name);
        self.changed.notify_one();
    }

    /// Replaces everyone's wanted state as of the shared store's change
    /// `seq` (see [`PresenceBook::replace_all`]).
    pub fn replace(&self, members: Vec<(SessionId, String)>, seq: u64) {
        self.book().replace_all(members, seq);
        self.changed.notify_one();
    }

    /// Shared mode: the store's change number `seq` (see
    /// [`PresenceBook::record_at`]).
    pub fn record_at(&self, id: SessionId, name: Option<String>, seq: u64) {
        self.book().record_at(id, name, seq);
        self.changed.notify_one();
    }

    /// Shared mode: the changes recorded so far are the store's up to `seq`.
    pub fn advance(&self, seq: u64) {
        self.book().advance(seq);
        self.changed.notify_one();
    }

    /// Sends the snapshot to a new socket and subscribes it to deltas.
    pub async fn welcome<A: Adapter>(&self, socket: &SocketRef<A>) {
        let _order = self.emit_order.lock().await;
        socket.join(PRESENCE_ROOM);
        let snapshot = ServerEvent::Presence(self.book().snapshot());
        if let Err(err) = emit::send(socket, &snapshot) {
            tracing::debug!(%err, "could not send presence snapshot");
        }
    }

    /// Publishes pending changes as one delta to every subscribed socket,
    /// and a fresh snapshot to each lagging socket that has room again.
    pub async fn flush<A: Adapter>(&self, io: &SocketIo<A>, budget: &mut ByteBudget) -> Flushed {
        let _order = self.emit_order.lock().await;
        let allowed = budget.allows(Instant::now());
        let delta = if allowed {
            self.book().take_delta()
        } else {
            None
        };
        let held = Flushed {
            sent: false,
            pending: !allowed,
        };
        if delta.is_none() && self.lagging().is_empty() {
            return held;
        }
        let Some(ns) = io.of(NAMESPACE) else {
            return held;
        };
        let mut snapshot = None;
        let mut message = delta.map(encode);
        if let Some(encoded) = &message {
            if encoded.len() > SNAPSHOT_CHECK_BYTES {
                let full = snapshot.get_or_insert_with(|| encode(self.book().snapshot()));
                if full.len() < encoded.len() {
                    message = Some(full.clone());
                }
            }
        }
        if let Some(message) = &message {
            budget.spend(message.len());
        }
        // Rebuilt each time, so sockets that are gone leave it by themselves.
        let mut was_lagging = std::mem::take(&mut *self.lagging());
        let mut still_lagging = HashSet::new();
        let mut sent_any = false;
        let mut bytes = 0;
        for socket in ns.to(PRESENCE_ROOM).sockets() {
            let sent = if was_lagging.remove(&socket.id) {
                let full = snapshot.get_or_insert_with(|| encode(self.book().snapshot()));
                bytes += full.len();
                full.send(&socket)
            } else if let Some(message) = &message {
                bytes += message.len();
                message.send(&socket)
            } else {
                continue;
            };
            sent_any = true;
            if queue_full(sent) {
                still_lagging.insert(socket.id);
            }
        }
        self.sent_bytes
            .fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
        let pending = held.pending || !still_lagging.is_empty();
        *self.lagging() = still_lagging;
        Flushed {
            sent: sent_any,
            pending,
        }
    }

    /// Runs [`Fanout::flush`] until the task is aborted: at most once per
    /// `window` while anything changes, and at once (not at the next tick)
    /// for a change after a quiet window. So an isolated change reaches
    /// everyone without waiting out a window, and a crowd's changes still
    /// coalesce into one message per window.
    pub fn spawn_ticker<A: Adapter>(
        self: Arc<Self>,
        io: SocketIo<A>,
        window: Duration,
        bytes_per_sec: u32,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut budget = ByteBudget::new(bytes_per_sec, Instant::now());
            let mut last_sent: Option<tokio::time::Instant> = None;
            let mut pending = false;
            loop {
                if !pending {
                    // A change made during the last flush left a permit:
                    // this returns at once, and nothing is missed.
                    self.changed.notified().await;
                }
                if let Some(at) = last_sent {
                    tokio::time::sleep_until(at + window).await;
                }
                let started = tokio::time::Instant::now();
                let flushed = self.flush(&io, &mut budget).await;
                // Something sent, or held back: the next flush is a window on.
                if flushed.sent || flushed.pending {
                    last_sent = Some(started);
                }
                pending = flushed.pending;
            }
        })
    }

    /// Presence bytes handed to sockets so far (those a full queue
    /// refused included: they were encoded and offered).
    pub fn sent_bytes(&self) -> u64 {
        self.sent_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current snapshot (unit tests).
    #[cfg(test)]
    pub fn snapshot(&self) -> Presence {
        self.book().snapshot()
    }

    /// Publishes pending changes without sending them (unit tests have no sockets).
    #[cfg(test)]
    pub fn flush_book_for_tests(&self) {
        self.book().take_delta();
    }

    fn lagging(&self) -> MutexGuard<'_, HashSet<Sid>> {
        self.lagging.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The book holds plain maps; a panic elsewhere cannot leave them invalid.
    fn book(&self) -> MutexGuard<'_, PresenceBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::events::{OnlineUser, PRESENCE_WINDOW};

    #[test]
    fn the_budget_bounds_bytes_per_second_with_one_message_of_overdraft() {
        let start = Instant::now();
        let mut budget = ByteBudget::new(1000, start);
        let mut sent = 0;
        // Ticks every 10 ms for 10 s, 600-byte messages whenever allowed.
        for tick in 0..1000u64 {
            let now = start + Duration::from_millis(10 * tick);
            if budget.allows(now) {
                budget.spend(600);
                sent += 600;
            }
        }
        // 10 s × 1000 B/s, plus the first second's worth and one message.
        assert!(sent <= 10_000 + 1000 + 600, "sent {sent}");
        assert!(sent >= 9_000, "the budget is not starved: {sent}");
        let mut off = ByteBudget::new(0, start);
        assert!(off.allows(start));
    }

    /// The largest presence message any listener can get in one window: a
    /// snapshot of a full window of the longest names (32 four-byte
    /// characters). Deltas larger than the snapshot are sent as it.
    #[test]
    fn the_largest_presence_message() {
        let users: Vec<OnlineUser> = (0..PRESENCE_WINDOW)
            .map(|_| OnlineUser {
                id: shared::events::SessionId(uuid::Uuid::now_v7().to_string()),
                name: "🦀".repeat(shared::names::MAX_NAME_CHARS),
                look: shared::events::Look(u32::MAX),
            })
            .collect();
        let snapshot = Presence::Snapshot {
            seq: u64::MAX,
            total: u64::MAX,
            users,
        };
        let bytes = encode(snapshot).len();
        println!("largest presence message: {bytes} B");
        assert!(bytes < 20 * 1024, "{bytes}");
    }
}
