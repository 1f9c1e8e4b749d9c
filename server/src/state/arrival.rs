//! Arrival order of events on one socket.
//!
//! socketioxide spawns every message handler as its own task, so two
//! `identify` events sent back to back by one client can run in either order
//! on a multi-threaded runtime, and the *older* name could win. Extractors,
//! however, run synchronously in arrival order; `conn::ConnEvent` stamps each event
//! with its position so the registry can ignore a name overtaken by a newer one.

/// The 1-based arrival position of an event on its socket, stamped by
/// [`crate::state::conn::ConnEvent`] (0: restored from a resume token, older than
/// anything the socket sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arrival(pub u64);
