//! The pieces of the app's state, each on its own: who is online and what
//! they are called, what every client was told about presence and when it
//! is told next, resume tokens, rate limits, per-socket bookkeeping, and the
//! one place typed events are put onto sockets.
//!
//! They know nothing of HTTP or of Redis; the app's `AppState` holds them
//! together and the cluster shares them across nodes.

pub mod arrival;
pub mod conn;
pub mod emit;
pub mod fanout;
pub mod lookalike;
pub mod presence;
pub mod rate;
pub mod registry;
pub mod resume;
