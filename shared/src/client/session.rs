//! The app's typed face of the generic client session.
//!
//! [`sio_client::Session`] deals in event names and raw JSON text and knows
//! no application. This wrapper speaks [`ClientEvent`] and [`ServerEvent`]:
//! it encodes what the page emits, decodes what the server sends, and
//! decodes each ack by the event it answers. Everything else (handshake,
//! heartbeat, reconnects, the offline buffer) is the generic session's.
//!
//! The JSON seam is here: arguments cross it as [`RawJson`] text, so how
//! they are decoded is this crate's choice, not the client's.

use std::collections::HashMap;

use serde_json::Value;
use sio_client::driven::Driven;
use sio_client::raw::JsonObject;
use sio_client::RawJson;

pub use sio_client::session::{AckId, ClientConfig, ConnectionState, EmitError};

use crate::events::{
    Ack, ClientEvent, ClientEventKind, ResumeAuth, ResumeToken, ServerEvent, NAMESPACE,
};

/// The app's client settings: the `/iss` namespace, socket.io's reconnect
/// defaults, no auth until a resume token is known.
#[must_use]
pub fn config() -> ClientConfig {
    ClientConfig::new(NAMESPACE)
}

/// Why a typed ack never came: the session's reason, or a reply that does
/// not have the shape its event promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error(transparent)]
    Session(#[from] sio_client::AckError),
    #[error("unreadable reply: {0}")]
    BadReply(String),
}

/// What the shell does or delivers, typed: [`sio_client::Output`] with its
/// events and acks decoded.
pub type Output = sio_client::Output<ServerEvent, Result<Ack, AckError>>;

/// One `/iss` connection with reconnects, typed; see the module docs.
#[derive(Debug)]
pub struct Session {
    inner: sio_client::Session,
    /// The event each pending ack answers (ACK packets do not repeat it).
    pending: HashMap<AckId, ClientEventKind>,
}

impl Session {
    /// Starts connecting at once.
    pub fn new(config: ClientConfig, now_ms: u64) -> Self {
        Session {
            inner: sio_client::Session::new(config, now_ms),
            pending: HashMap::new(),
        }
    }

    /// The current connection state.
    pub fn state(&self) -> &ConnectionState {
        self.inner.state()
    }

    /// When [`Session::handle_timeout`] should next be called.
    pub fn next_timeout(&self) -> Option<u64> {
        self.inner.next_timeout()
    }

    /// The next thing for the shell to do, if any; events and acks that do
    /// not decode become warnings.
    pub fn poll_output(&mut self) -> Option<Output> {
        let output = self.inner.poll_output()?;
        Some(match output {
            sio_client::Output::OpenTransport => Output::OpenTransport,
            sio_client::Output::Send(frame) => Output::Send(frame),
            sio_client::Output::CloseTransport => Output::CloseTransport,
            sio_client::Output::State(state) => Output::State(state),
            sio_client::Output::Warning(message) => Output::Warning(message),
            sio_client::Output::Event(event) => self.on_event(event),
            sio_client::Output::Ack { id, result } => {
                let kind = self.pending.remove(&id);
                let result = result
                    .map_err(AckError::from)
                    .and_then(|args| decode_ack(kind, &args));
                Output::Ack { id, result }
            }
        })
    }

    /// Asks for this session back with every namespace connect from now on
    /// (`{"resume": token}`), or sends no auth at all (`None`).
    pub fn set_resume(&mut self, token: Option<ResumeToken>) {
        let object = token.and_then(|token| {
            let auth = ResumeAuth {
                resume: Some(token),
            };
            let raw = RawJson::from_serialize(&auth).ok()?;
            JsonObject::try_from(raw).ok()
        });
        self.inner.set_auth(object);
    }

    /// Sends an event without asking for a reply (buffered while disconnected).
    ///
    /// # Errors
    /// The session's [`EmitError`].
    pub fn emit(&mut self, event: ClientEvent) -> Result<(), EmitError> {
        self.inner.emit(event.name(), raw_args(&event))
    }

    /// Sends an event and asks for a reply, decoded by the event's kind.
    ///
    /// # Errors
    /// The session's [`EmitError`].
    pub fn emit_with_ack(
        &mut self,
        now_ms: u64,
        event: ClientEvent,
        timeout_ms: u64,
    ) -> Result<AckId, EmitError> {
        let args = raw_args(&event);
        let id = self
            .inner
            .emit_with_ack(now_ms, event.name(), args, timeout_ms)?;
        self.pending.insert(id, event.kind());
        Ok(id)
    }

    /// Leaves the namespace, closes the transport and stops for good.
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// If waiting between attempts, tries again now (the browser went online).
    pub fn retry_now(&mut self, now_ms: u64) {
        self.inner.retry_now(now_ms);
    }

    /// The transport reported an error or closed.
    pub fn handle_transport_closed(&mut self, now_ms: u64) {
        self.inner.handle_transport_closed(now_ms);
    }

    /// A binary frame arrived; this client speaks text frames only.
    pub fn handle_binary(&mut self) {
        self.inner.handle_binary();
    }

    /// A text frame arrived on the current transport.
    pub fn handle_text(&mut self, now_ms: u64, frame: &str) {
        self.inner.handle_text(now_ms, frame);
    }

    /// The clock reached (or passed) [`Session::next_timeout`].
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.inner.handle_timeout(now_ms);
    }

    /// Decodes a server event. The app's server asks for no acks; should a
    /// server ask, it gets an empty answer rather than none.
    fn on_event(&mut self, event: sio_client::Event) -> Output {
        if let Some(reply) = event.reply {
            // The event came on the current transport just now: this cannot
            // fail except by size, and an empty answer is never too large.
            let _ = self.inner.reply(reply, Vec::new());
        }
        let decoded = values(&event.args).and_then(|args| {
            ServerEvent::from_parts(&event.name, &args).map_err(|e| e.to_string())
        });
        match decoded {
            Ok(event) => Output::Event(event),
            Err(err) => Output::Warning(format!("ignored event {:?}: {err}", event.name)),
        }
    }
}

/// The event's arguments as JSON text.
fn raw_args(event: &ClientEvent) -> Vec<RawJson> {
    event
        .args()
        .iter()
        .filter_map(|arg| RawJson::from_serialize(arg).ok())
        .collect()
}

/// Parses raw arguments into values for the typed decoders.
fn values(args: &[RawJson]) -> Result<Vec<Value>, String> {
    args.iter()
        .map(|arg| arg.deserialize::<Value>().map_err(|e| e.to_string()))
        .collect()
}

/// Decodes the reply to an event of `kind`.
fn decode_ack(kind: Option<ClientEventKind>, args: &[RawJson]) -> Result<Ack, AckError> {
    let kind = kind.ok_or_else(|| AckError::BadReply("a reply to no known event".to_owned()))?;
    let args = values(args).map_err(AckError::BadReply)?;
    Ack::decode(kind.name(), &args).map_err(|e| AckError::BadReply(e.to_string()))
}

/// Shells drive the typed session as they drive the generic one.
impl Driven for Session {
    type Event = ServerEvent;
    type Reply = Result<Ack, AckError>;

    fn poll_output(&mut self) -> Option<Output> {
        Session::poll_output(self)
    }

    fn next_timeout(&self) -> Option<u64> {
        Session::next_timeout(self)
    }

    fn handle_text(&mut self, now_ms: u64, frame: &str) {
        Session::handle_text(self, now_ms, frame);
    }

    fn handle_binary(&mut self) {
        Session::handle_binary(self);
    }

    fn handle_transport_closed(&mut self, now_ms: u64) {
        Session::handle_transport_closed(self, now_ms);
    }

    fn handle_timeout(&mut self, now_ms: u64) {
        Session::handle_timeout(self, now_ms);
    }

    fn retry_now(&mut self, now_ms: u64) {
        Session::retry_now(self, now_ms);
    }
}
