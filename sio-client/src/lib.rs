//! A Socket.IO client that knows no application: sans IO, for the browser
//! (wasm) and native runtimes alike.
//!
//! - [`session`]: one namespace connection — handshake, heartbeat, acks both
//!   ways, reconnects with backoff, a bounded offline buffer. Frames and a
//!   clock in, [`Output`]s out; events and acks carry [`RawJson`] arguments.
//! - the codecs ([`socketio`], [`engineio`], [`eio3`]) and the JSON
//!   scanner ([`json`], [`raw`]) are the `sio-proto` crate's, re-exported.
//! - [`link`]: the transports under a session — websocket, long-polling,
//!   the upgrade, and finding the server's generation — sans IO too.
//! - [`backoff`]: socket.io's reconnect delays and a seedable RNG.
//! - [`driven`]: what a runtime shell drives; `native` (feature `tokio`):
//!   the reconnecting tokio shell (websocket only); `web` (feature `web`):
//!   the browser shell, websocket and long-polling through a [`link::Link`].
//!
//! Time is plain milliseconds from any fixed origin the shell likes
//! (`performance.now()` in the browser, an `Instant` natively).

#![deny(missing_docs)]

pub mod ack_table;
pub mod backoff;
pub mod driven;
pub mod link;
#[cfg(feature = "tokio")]
pub mod native;
pub mod session;
#[cfg(feature = "web")]
pub mod web;

/// The wire codecs this client speaks, from `sio-proto`.
pub use sio_proto::{eio3, engineio, json, raw, read, socketio, Protocol, RawJson};

pub use backoff::BackoffConfig;
pub use session::{
    AckError, AckId, ClientConfig, ConnectionState, EmitError, Event, Output, ReplyId, Session,
    DEFAULT_BUFFER_LIMIT,
};
