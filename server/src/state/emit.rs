//! Typed server events onto sockets: the one place the server turns a
//! [`ServerEvent`] into a wire name and a payload (an exhaustive match, so a
//! new event is a compile error here until it is handled).
//!
//! An event is encoded once ([`Encoded`]) and can then be sent to any number
//! of sockets: presence goes to every listener with one encoding.

use serde::Serialize;
use serde_json::value::RawValue;
use shared::events::ServerEvent;
use socketioxide::extract::SocketRef;
use socketioxide::SendError;

/// A server event, encoded for sending.
#[derive(Debug, Clone)]
pub struct Encoded {
    name: &'static str,
    /// The single argument, or none (a `connected` without payload).
    payload: Option<Box<RawValue>>,
}

impl Encoded {
    pub fn new(event: &ServerEvent) -> Self {
        let payload = match event {
            ServerEvent::Connected(Some(connected)) => Some(raw(connected)),
            ServerEvent::Connected(None) => None,
            ServerEvent::Presence(presence) => Some(raw(presence)),
        };
        Encoded {
            name: event.name(),
            payload,
        }
    }

    /// The payload's size in bytes (what a listener is sent, near enough).
    pub fn len(&self) -> usize {
        self.payload.as_ref().map_or(0, |p| p.get().len())
    }

    /// Queues the event on `socket` (fails at once if its queue is full).
    pub fn send(&self, socket: &SocketRef) -> Result<(), SendError> {
        match &self.payload {
            Some(payload) => socket.emit(self.name, &**payload),
            None => socket.emit(self.name, &()),
        }
    }
}

/// Sends one event to one socket.
pub fn send(socket: &SocketRef, event: &ServerEvent) -> Result<(), SendError> {
    Encoded::new(event).send(socket)
}

/// Our payloads hold only strings, numbers and lists: encoding cannot fail.
fn raw(payload: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(payload).expect("server payloads always encode")
}
