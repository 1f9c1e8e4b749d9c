//! A Socket.IO client that knows no application: sans IO, for the browser
//! (wasm) and native runtimes alike.
//!
//! - [`session`]: one namespace connection — handshake, heartbeat, acks both
//!   ways, reconnects with backoff, a bounded offline buffer. Frames and a
//!   clock in, [`Output`]s out; events and acks carry [`RawJson`] arguments.
//! - [`socketio`] and [`engineio`]: the Socket.IO v5 / Engine.IO v4
//!   text-frame codecs; [`eio3`]: Engine.IO v3 long-polling bodies (text
//!   and binary framing, the 2016 generation).
//! - [`link`]: the transports under a session — websocket, long-polling,
//!   the upgrade, and finding the server's generation — sans IO too.
//! - [`json`]: the scanner that checks and splits JSON without parsing it
//!   into values, so no full JSON parser is forced into a browser build;
//!   [`raw`]: the checked JSON text it hands over.
//! - [`backoff`]: socket.io's reconnect delays and a seedable RNG.
//! - [`driven`]: what a runtime shell drives; `native` (feature `tokio`):
//!   the reconnecting tokio shell (websocket only); `web` (feature `web`):
//!   the browser shell, websocket and long-polling through a [`link::Link`].
//!
//! Time is plain milliseconds from any fixed origin the shell likes
//! (`performance.now()` in the browser, an `Instant` natively).

pub mod ack_table;
pub mod backoff;
pub mod driven;
pub mod eio3;
pub mod engineio;
pub mod json;
pub mod link;
#[cfg(feature = "tokio")]
pub mod native;
pub mod raw;
pub mod session;
pub mod socketio;
#[cfg(feature = "web")]
pub mod web;

pub use backoff::BackoffConfig;
pub use engineio::Protocol;
pub use raw::RawJson;
pub use session::{
    AckError, AckId, ClientConfig, ConnectionState, EmitError, Event, Output, ReplyId, Session,
    DEFAULT_BUFFER_LIMIT,
};
