//! The one crate that knows the wire.
//!
//! Everything both sides must agree on lives here, and only here:
//! - [`events`]: the typed events the browser and the server exchange, with
//!   each event's wire name written exactly once;
//! - [`engineio`] and [`socketio`]: sans-IO codecs for Engine.IO v4 and
//!   Socket.IO v5 text frames (strings in, typed values out, and back);
//! - [`names`]: the rules a display name must follow;
//! - [`client`]: our Socket.IO client's logic (sans IO), for the browser page
//!   and the native load generator alike;
//! - [`stats`]: the body of the server's `/api/stats`.
//!
//! The crate builds for native targets and for `wasm32-unknown-unknown`; it has
//! no I/O, no async runtime and no browser bindings, and it never panics on input.

pub mod client;
/// The Engine.IO codec lives in the generic client crate.
pub use sio_client::engineio;
pub mod events;
pub mod names;
pub mod socketio;
pub mod stats;
