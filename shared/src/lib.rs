//! The app's contract: what the browser page and the server agree on.
//!
//! - [`events`]: the typed events the browser and the server exchange, with
//!   each event's wire name written exactly once;
//! - [`names`]: the rules a display name must follow;
//! - [`payload`]: the serde side of event arguments, which the events derive calls;
//! - [`stats`]: the body of the server's `/api/stats`.
//!
//! Only the contract lives here. The wire's codecs are `sio-proto`'s, the
//! generic client is `sio-client`'s, and the app's client side (typed
//! session, lean codec, presence view) is `app-client`'s: the server builds
//! this crate and none of those client crates.
//!
//! The crate builds for native targets and for `wasm32-unknown-unknown`; it has
//! no I/O, no async runtime and no browser bindings, and it never panics on input.

pub mod events;
pub mod names;
pub mod payload;
pub mod stats;
