//! The one crate that knows the wire.
//!
//! Everything both sides must agree on lives here, and only here:
//! - [`events`]: the typed events the browser and the server exchange, with
//!   each event's wire name written exactly once;
//! - [`engineio`] and [`socketio`]: the sans-IO Engine.IO v4 and Socket.IO
//!   v5 codecs, re-exported from the generic `sio-client` crate;
//! - [`names`]: the rules a display name must follow;
//! - [`client`]: our Socket.IO client's logic (sans IO), for the browser page
//!   and the native load generator alike;
//! - [`stats`]: the body of the server's `/api/stats`.
//!
//! The crate builds for native targets and for `wasm32-unknown-unknown`; it has
//! no I/O, no async runtime and no browser bindings, and it never panics on input.

pub mod client;
/// The codecs live in the generic client crate.
pub use sio_client::{engineio, socketio};
pub mod events;
pub mod names;
pub mod stats;
