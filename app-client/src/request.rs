//! Replies to requests, decoded without serde. The requests themselves
//! (`Identify`, `Wave`, …: client events sent with an ack, each tied at
//! compile time to its reply's type) are derived in `shared::events` from
//! `#[event(ack = …)]`; this is the page's side of their answers.

use shared::events::{Ack, PayloadError};
use sio_client::read::FromObject;
use sio_client::RawJson;

use crate::codec;

/// A reply to an event that asked for one, decoded from the raw arguments
/// of the ACK packet that carries it (by the client, without serde).
pub trait Reply: Sized {
    /// Decodes the ACK arguments.
    ///
    /// # Errors
    /// What is wrong with them.
    fn from_raw(args: &[RawJson]) -> Result<Self, PayloadError>;
}

/// Every request's reply, read by the one lean ack reader: a new request's
/// value type needs only `#[derive(FromJson)]`.
impl<T: FromObject> Reply for Ack<T> {
    fn from_raw(args: &[RawJson]) -> Result<Self, PayloadError> {
        codec::ack(args)
    }
}
