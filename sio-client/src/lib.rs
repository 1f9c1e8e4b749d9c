//! A Socket.IO client that knows no application: sans IO, for the browser
//! (wasm) and native runtimes alike.
//!
//! **Status: being extracted** from the application's `shared/src/client/`
//! (see `ARCHITECTURE.md` at the repository root). Today this crate holds:
//! - [`json`]: the scanner that lets the codecs and the session hand the
//!   application the *raw JSON text* of event arguments instead of parsed
//!   values, so no full JSON parser is forced into a browser build;
//! - [`engineio`]: the Engine.IO v4 text-frame codec (its handshake read by
//!   [`json`], no serde).

pub mod engineio;
pub mod json;
