//! Our Socket.IO client, sans IO, shared by the browser page and the native
//! load generator.
//!
//! - [`session`]: one namespace connection: handshake, heartbeat, acks,
//!   reconnects, the offline buffer. Frames and a clock in, [`Output`]s out.
//! - [`backoff`]: reconnect delays (socket.io's formula) and a seedable RNG.
//! - [`presence`]: the client's copy of who is online.
//! - [`identity`]: reclaiming the chosen name after every (re)connect.
//!
//! Time is plain milliseconds from any fixed origin the shell likes
//! (`performance.now()` in the browser, an `Instant` natively).

pub mod backoff;
pub mod identity;
pub mod presence;
pub mod session;

pub use backoff::BackoffConfig;
pub use identity::{Identity, Me};
pub use presence::PresenceView;
pub use session::{
    AckError, AckId, ClientConfig, ConnectionState, EmitError, Output, Session,
    DEFAULT_BUFFER_LIMIT,
};
