//! The app's side of the Socket.IO client, sans IO, shared by the browser
//! page (`frontend`) and the native load and fault generators (`bench`).
//!
//! Why a crate of its own: the contract (`shared`) is what both ends agree
//! on, and the server builds it; the generic client (`sio-client`) knows no
//! app. What only this app's *client* needs sits here, between the two.
//!
//! - [`session`]: the generic session, typed with this app's events.
//! - [`request`]: the replies to requests (events sent with an ack), read without serde.
//! - [`codec`]: the app's events to and from raw JSON text, without serde.
//! - [`presence`]: the client's copy of who is online.
//! - [`identity`]: reclaiming the chosen name after every (re)connect.
//!
//! Time is plain milliseconds from any fixed origin the shell likes
//! (`performance.now()` in the browser, an `Instant` natively).

pub mod codec;
pub mod identity;
pub mod presence;
pub mod request;
pub mod session;

pub use identity::{Identity, Me};
pub use presence::PresenceView;
pub use request::Reply;
pub use session::{
    config, decode_reply, AckError, AckId, ClientConfig, ConnectionState, EmitError, Output,
    Pending, RawReply, Session,
};
pub use shared::events::{Identify, Request, Wave};
pub use sio_client::backoff::BackoffConfig;
pub use sio_client::driven::Driven;
pub use sio_client::DEFAULT_BUFFER_LIMIT;
