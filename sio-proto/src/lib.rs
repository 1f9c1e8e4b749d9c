//! The Socket.IO wire, sans IO: text in, typed packets out, and back.
//!
//! No runtime, no client, no application. Both ends of this project build
//! on it: the client (`sio-client`) for its session and transports, and the
//! server for the Engine.IO v3 polling bodies it checks before socketioxide
//! sees them.
//!
//! - [`engineio`]: Engine.IO v4 text frames and polling payloads;
//!   [`eio3`]: Engine.IO v3 long-polling bodies (text and binary framing,
//!   the 2016 generation).
//! - [`socketio`]: Socket.IO v5 (and v4) packets.
//! - [`json`]: the scanner that checks and splits JSON without parsing it
//!   into values, so no full JSON parser is forced into a browser build;
//!   [`raw`]: the checked JSON text it hands over ([`RawJson`]);
//!   [`read`]: typed values from that text and back without serde, the
//!   traits `events-derive` implements for an app's payloads.
//!
//! Nothing here panics on input, whatever bytes a peer sends.

pub mod eio3;
pub mod engineio;
pub mod json;
pub mod raw;
pub mod read;
pub mod socketio;

pub use engineio::Protocol;
pub use raw::RawJson;
