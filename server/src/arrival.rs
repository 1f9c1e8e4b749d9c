//! Arrival order of events on one socket.
//!
//! socketioxide spawns every message handler as its own task, so two
//! `identify` events sent back to back by one client can run in either order
//! on a multi-threaded runtime, and the *older* name could win. Extractors,
//! however, run synchronously in arrival order; this one stamps each event
//! with its position so the registry can ignore a name overtaken by a newer one.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;

/// Per-socket counter, stored in the socket's extensions at connect.
#[derive(Debug, Clone, Default)]
pub struct ArrivalCounter(Arc<AtomicU64>);

/// The 1-based arrival position of the current event on its socket
/// (0 if the socket has no counter, which only a misconfiguration causes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arrival(pub u64);

impl<A: Adapter> FromMessageParts<A> for Arrival {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let position = socket
            .extensions
            .get::<ArrivalCounter>()
            .map_or(0, |ArrivalCounter(counter)| {
                counter.fetch_add(1, Ordering::Relaxed) + 1
            });
        Ok(Arrival(position))
    }
}
