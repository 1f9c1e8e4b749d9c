//! Typed server events onto sockets: the one place the server turns a
//! [`ServerEvent`] into a wire name and a payload (both derived with the
//! event: a new event needs nothing here).
//!
//! Also [`emit_to`]: an event for one session, on whichever node it is.
//!
//! An event is encoded once ([`Encoded`]) and can then be sent to any number
//! of sockets: presence goes to every listener with one encoding.

use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use shared::events::{ServerEvent, SessionId, NAMESPACE};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide::{BroadcastError, SendError, SocketIo};

/// A server event, encoded for sending.
#[derive(Debug, Clone)]
pub struct Encoded {
    name: &'static str,
    /// The single argument, or none (a `connected` without payload).
    payload: Option<Box<RawValue>>,
}

impl Encoded {
    pub fn new(event: &ServerEvent) -> Self {
        // Derived with the event: every payload, no match to keep up to date.
        let payload = event.arg_text().map(raw);
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
    pub fn send<A: Adapter>(&self, socket: &SocketRef<A>) -> Result<(), SendError> {
        match &self.payload {
            Some(payload) => socket.emit(self.name, &**payload),
            None => socket.emit(self.name, &()),
        }
    }

    /// Sends the event to every socket `to` selects, on every node.
    pub async fn broadcast<A: Adapter>(
        &self,
        to: BroadcastOperators<A>,
    ) -> Result<(), BroadcastError> {
        match &self.payload {
            Some(payload) => to.emit(self.name, &**payload).await,
            None => to.emit(self.name, &()).await,
        }
    }
}

/// Sends one event to one socket.
pub fn send<A: Adapter>(socket: &SocketRef<A>, event: &ServerEvent) -> Result<(), SendError> {
    Encoded::new(event).send(socket)
}

/// Our payloads hold only strings, numbers and lists: encoding cannot fail.
fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).expect("serde wrote this text as JSON")
}

/// How long a cross-node request (fetch the sockets of a room) waits for
/// the other nodes (socketioxide's Redis adapter is configured with it in
/// shared mode): a hung node's share of the answer never comes.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The room every socket of a session joins (resumed ones too): the session
/// id itself, so "this user" names sockets on any node.
pub fn session_room(session: &SessionId) -> String {
    session.0.clone()
}

/// Why [`emit_to`] could not tell whether its event was delivered.
#[derive(Debug, thiserror::Error)]
pub enum EmitToError {
    /// Another node did not answer in time, or Redis is unavailable.
    #[error("the other nodes could not be reached: {0}")]
    Unreachable(String),
}

/// Sends `event` to every socket of `session`, on whichever node it is
/// connected to (shared mode: through socketioxide's Redis adapter), and
/// says to how many sockets: 0 when the session is connected nowhere.
///
/// # Errors
/// [`EmitToError::Unreachable`] when the sockets could not be counted or
/// the event could not be handed over: the caller must not assume delivery.
pub async fn emit_to<A: Adapter>(
    io: &SocketIo<A>,
    session: &SessionId,
    event: &ServerEvent,
) -> Result<usize, EmitToError> {
    let Some(ns) = io.of(NAMESPACE) else {
        return Ok(0);
    };
    let room = session_room(session);
    let asked = Instant::now();
    let sockets = ns
        .clone()
        .to(room.clone())
        .fetch_sockets()
        .await
        .map_err(|err| EmitToError::Unreachable(err.to_string()))?
        .len();
    // The adapter ends its wait at the timeout with what it has, without
    // saying that a node stayed silent; a wait that long means one did, and
    // the session may be there. (Every node answering takes milliseconds.)
    if sockets == 0 && asked.elapsed() >= REQUEST_TIMEOUT {
        return Err(EmitToError::Unreachable(format!(
            "a node did not answer within {REQUEST_TIMEOUT:?}"
        )));
    }
    if sockets == 0 {
        return Ok(0);
    }
    Encoded::new(event)
        .broadcast(ns.to(room))
        .await
        .map_err(|err| EmitToError::Unreachable(err.to_string()))?;
    Ok(sockets)
}
