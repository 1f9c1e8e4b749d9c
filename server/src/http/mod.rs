//! The HTTP side: every guard a connection and a request pass before
//! socketioxide or the static files see them, in the order they meet them.
//!
//! ```text
//!  TCP accept ─▶ limit (slots per source; stall: the write-stall deadline)
//!             ─▶ serve (hyper, HTTP/1.1 only: head timeout, bounded heads; source: the peer)
//!             ─▶ deadline (every body within the handshake timeout)
//!             ─▶ host ─▶ origin ─▶ detach (copy the kept headers)
//!             ─▶ sessions (a slot per Engine.IO session)
//!             ─▶ legacy_polling (checks EIO=3 polling bodies; engine_request)
//!             ─▶ socketioxide, or static_files
//! ```
//!
//! Nothing here knows the app's state: the guards count into
//! [`crate::observe`] and nothing else.

pub mod deadline;
pub mod detach;
pub mod engine_request;
pub mod host;
pub mod legacy_polling;
pub mod limit;
pub mod origin;
pub mod serve;
pub mod sessions;
pub mod source;
pub mod stall;
pub mod static_files;
