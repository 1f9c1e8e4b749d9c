//! The app's side of the Socket.IO client, sans IO, shared by the browser
//! page and the native load and fault generators. The protocol itself is the
//! generic `sio-client` crate's; this module adds what only this app knows.
//!
//! - [`session`]: the generic session, typed with this app's events.
//! - [`codec`]: the app's events to and from raw JSON text, without serde.
//! - [`presence`]: the client's copy of who is online.
//! - [`identity`]: reclaiming the chosen name after every (re)connect.
//!
//! Time is plain milliseconds from any fixed origin the shell likes
//! (`performance.now()` in the browser, an `Instant` natively).

pub mod codec;
pub mod identity;
pub mod presence;
pub mod session;

pub use identity::{Identity, Me};
pub use presence::PresenceView;
pub use session::{
    config, decode_reply, AckError, AckId, ClientConfig, ConnectionState, EmitError, Output,
    Pending, RawReply, Session,
};
pub use sio_client::backoff::BackoffConfig;
pub use sio_client::driven::Driven;
pub use sio_client::DEFAULT_BUFFER_LIMIT;
