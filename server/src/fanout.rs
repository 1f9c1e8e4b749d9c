//! Presence fan-out: when and to whom presence messages go.
//!
//! The [`PresenceBook`] decides *what* to say; this decides *when*: a ticker
//! publishes at most one delta per window to every client in the presence
//! room, and a new client gets the snapshot. Both happen under one async lock,
//! so a client always receives its snapshot and the deltas in seq order, and
//! joins the room in the same critical section as its snapshot is taken (no
//! delta can fall between the two).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shared::events::{wire, Presence, SessionId, NAMESPACE};
use socketioxide::extract::SocketRef;
use socketioxide::SocketIo;
use tokio::task::JoinHandle;

use crate::presence::PresenceBook;

/// The room every `/iss` socket joins to receive presence deltas.
const PRESENCE_ROOM: &str = "presence";

/// The default coalescing window: at most one presence message per client per window.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(100);

/// Shared presence state plus the lock that orders its emissions.
#[derive(Debug, Default)]
pub struct Fanout {
    book: Mutex<PresenceBook>,
    emit_order: tokio::sync::Mutex<()>,
    /// Whether a failed broadcast was logged already: one client that stops
    /// reading makes every later broadcast fail for it, up to ten a second,
    /// and the default log level must not carry a line for each.
    warned: AtomicBool,
}

impl Fanout {
    /// Notes the wanted state of a session; published at the next tick.
    pub fn record(&self, id: SessionId, name: Option<String>) {
        self.book().record(id, name);
    }

    /// Sends the snapshot to a new socket and subscribes it to deltas.
    pub async fn welcome(&self, socket: &SocketRef) {
        let _order = self.emit_order.lock().await;
        socket.join(PRESENCE_ROOM);
        let snapshot = self.book().snapshot();
        if let Err(err) = socket.emit(wire::PRESENCE, &snapshot) {
            tracing::debug!(%err, "could not send presence snapshot");
        }
    }

    /// Publishes pending changes as one delta to every subscribed socket.
    pub async fn flush(&self, io: &SocketIo) {
        let _order = self.emit_order.lock().await;
        let Some(delta) = self.book().take_delta() else {
            return;
        };
        let Some(ns) = io.of(NAMESPACE) else {
            return;
        };
        if let Err(err) = ns.to(PRESENCE_ROOM).emit(wire::PRESENCE, &delta).await {
            if self.warned.swap(true, Ordering::Relaxed) {
                tracing::debug!(%err, "presence broadcast failed for some sockets");
            } else {
                tracing::warn!(
                    "presence broadcast failed for some sockets (a client not reading?); \
                     further failures are logged at debug"
                );
            }
        }
    }

    /// Runs [`Fanout::flush`] once per `window` until the task is aborted.
    pub fn spawn_ticker(self: Arc<Self>, io: SocketIo, window: Duration) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(window);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                self.flush(&io).await;
            }
        })
    }

    /// The current snapshot (for tests and diagnostics).
    pub fn snapshot(&self) -> Presence {
        self.book().snapshot()
    }

    /// Publishes pending changes without sending them (unit tests have no sockets).
    #[cfg(test)]
    pub fn flush_book_for_tests(&self) {
        self.book().take_delta();
    }

    /// The book holds plain maps; a panic elsewhere cannot leave them invalid.
    fn book(&self) -> MutexGuard<'_, PresenceBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}
