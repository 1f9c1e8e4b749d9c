//! Requests: client events sent with an ack, each tied at compile time to
//! the type of its reply (ACK packets do not repeat the event, so the type
//! must travel with the request), and the replies decoded without serde.

use shared::events::{Ack, ClientEvent, IdentifyAck, PayloadError, SessionId, WaveAck};
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

/// A client event sent with an ack, and the type of its reply: emitting an
/// [`Identify`] yields an [`IdentifyAck`], known at compile time (ACK packets
/// do not repeat the event, so the type must travel with the request).
pub trait Request: Into<ClientEvent> {
    /// What the server answers.
    type Reply: Reply;
}

/// `identify`, asking for the server's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identify {
    /// The name as typed; the server applies the name rules.
    pub name: String,
}

impl From<Identify> for ClientEvent {
    fn from(identify: Identify) -> Self {
        ClientEvent::Identify {
            name: identify.name,
        }
    }
}

impl Request for Identify {
    type Reply = IdentifyAck;
}

/// `wave`, asking whether it reached its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    /// The session waved at.
    pub to: SessionId,
}

impl From<Wave> for ClientEvent {
    fn from(wave: Wave) -> Self {
        ClientEvent::Wave { to: wave.to }
    }
}

impl Request for Wave {
    type Reply = WaveAck;
}
