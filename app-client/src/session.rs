//! The app's typed face of the generic client session.
//!
//! [`sio_client::Session`] deals in event names and raw JSON text and knows
//! no application. This wrapper speaks [`ClientEvent`] and [`ServerEvent`]:
//! it encodes what the page emits and decodes what the server sends; a
//! reply is typed by its request ([`Session::request`] gives a [`Pending`]
//! of the reply type, known at compile time). Everything else (handshake,
//! heartbeat, reconnects, the offline buffer) is the generic session's.
//!
//! The JSON seam is here: arguments cross it as [`RawJson`] text, so how
//! they are decoded is this crate's choice, not the client's. It decodes
//! them with [`codec`], without serde (the page's weight).

use std::fmt;
use std::marker::PhantomData;

use sio_client::driven::Driven;
use sio_client::json::Quoted;
use sio_client::RawJson;

pub use sio_client::session::{AckId, ClientConfig, ConnectionState, EmitError};

use crate::codec;
use crate::request::Reply;
use shared::events::Request;
use shared::events::{ClientEvent, ResumeToken, ServerEvent, NAMESPACE};

/// The app's client settings: the `/iss` namespace, socket.io's reconnect
/// defaults, no auth until a resume token is known.
#[must_use]
pub fn config() -> ClientConfig {
    ClientConfig::new(NAMESPACE)
}

/// Why a typed reply never came: the session's reason, or a reply that does
/// not have the shape its request promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error(transparent)]
    Session(#[from] sio_client::AckError),
    /// The request was refused on the spot (buffer full, too large, the
    /// client closed …), so it was never sent.
    #[error("not sent: {0}")]
    NotSent(#[from] sio_client::EmitError),
    #[error("unreadable reply: {0}")]
    BadReply(String),
}

/// An ack result as the session hands it over: the reply's raw arguments.
pub type RawReply = Result<Vec<RawJson>, sio_client::AckError>;

/// What the shell does or delivers, typed: [`sio_client::Output`] with its
/// events decoded. Acks stay raw until their [`Pending`] decodes them.
pub type Output = sio_client::Output<ServerEvent, RawReply>;

/// A request in flight whose reply will be an `R`: it matches the
/// [`Output::Ack`] with its id and decodes it.
pub struct Pending<R> {
    id: AckId,
    reply: PhantomData<fn() -> R>,
}

impl<R: Reply> Pending<R> {
    /// The id its [`Output::Ack`] will carry.
    pub fn id(&self) -> AckId {
        self.id
    }

    /// Decodes the reply.
    ///
    /// # Errors
    /// The session's reason when none came, [`AckError::BadReply`] when it
    /// does not have `R`'s shape.
    pub fn decode(&self, result: &RawReply) -> Result<R, AckError> {
        decode_reply(result)
    }
}

impl<R> Clone for Pending<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Pending<R> {}

impl<R> PartialEq for Pending<R> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<R> fmt::Debug for Pending<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pending({:?})", self.id)
    }
}

/// Decodes a raw ack result as the reply type `R`.
///
/// # Errors
/// As [`Pending::decode`].
pub fn decode_reply<R: Reply>(result: &RawReply) -> Result<R, AckError> {
    let args = result
        .as_ref()
        .map_err(|err| AckError::Session(err.clone()))?;
    R::from_raw(args).map_err(|e| AckError::BadReply(e.to_string()))
}

/// One `/iss` connection with reconnects, typed; see the module docs.
#[derive(Debug)]
pub struct Session {
    inner: sio_client::Session,
}

impl Session {
    /// Starts connecting at once.
    pub fn new(config: ClientConfig, now_ms: u64) -> Self {
        Session {
            inner: sio_client::Session::new(config, now_ms),
        }
    }

    /// The current connection state.
    pub fn state(&self) -> &ConnectionState {
        self.inner.state()
    }

    /// Asks for this session back with every namespace connect from now on
    /// (`{"resume": token}`), or sends no auth at all (`None`).
    pub fn set_resume(&mut self, token: Option<ResumeToken>) {
        self.inner
            .set_auth(token.as_ref().and_then(codec::resume_auth));
    }

    /// Sends an event without asking for a reply (buffered while disconnected).
    ///
    /// # Errors
    /// The session's [`EmitError`].
    pub fn emit(&mut self, event: ClientEvent) -> Result<(), EmitError> {
        self.inner.emit(event.name(), codec::client_args(&event))
    }

    /// Sends a request; its [`Pending`] decodes the reply, whose type the
    /// request names. The [`Output::Ack`] comes within `timeout_ms` at the
    /// latest (as a timeout).
    ///
    /// # Errors
    /// The session's [`EmitError`].
    pub fn request<Q: Request<Reply: Reply>>(
        &mut self,
        now_ms: u64,
        request: Q,
        timeout_ms: u64,
    ) -> Result<Pending<Q::Reply>, EmitError> {
        let event: ClientEvent = request.into();
        let args = codec::client_args(&event);
        let id = self
            .inner
            .emit_with_ack(now_ms, event.name(), args, timeout_ms)?;
        Ok(Pending {
            id,
            reply: PhantomData,
        })
    }

    /// Leaves the namespace, closes the transport and stops for good.
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// Decodes a server event. The app's server asks for no acks; should a
    /// server ask, it gets an empty answer rather than none.
    fn on_event(&mut self, event: sio_client::Event) -> Output {
        if let Some(reply) = event.reply {
            // The event came on the current transport just now: this cannot
            // fail except by size, and an empty answer is never too large.
            let _ = self.inner.reply(reply, Vec::new());
        }
        match codec::server_event(&event.name, &event.args) {
            Ok(event) => Output::Event(event),
            Err(err) => {
                let name = Quoted(&event.name);
                Output::Warning(format!("ignored event {name}: {err}"))
            }
        }
    }
}

/// Shells drive the typed session as they drive the generic one; so do
/// tests (with [`Driven`] in scope).
impl Driven for Session {
    type Event = ServerEvent;
    type Reply = RawReply;

    /// Events that do not decode become warnings.
    fn poll_output(&mut self) -> Option<Output> {
        let output = self.inner.poll_output()?;
        Some(match output {
            sio_client::Output::OpenTransport => Output::OpenTransport,
            sio_client::Output::Send(frame) => Output::Send(frame),
            sio_client::Output::CloseTransport => Output::CloseTransport,
            sio_client::Output::State(state) => Output::State(state),
            sio_client::Output::Warning(message) => Output::Warning(message),
            sio_client::Output::Event(event) => self.on_event(event),
            sio_client::Output::Ack { id, result } => Output::Ack { id, result },
        })
    }

    fn next_timeout(&self) -> Option<u64> {
        self.inner.next_timeout()
    }

    fn handle_text(&mut self, now_ms: u64, frame: &str) {
        self.inner.handle_text(now_ms, frame);
    }

    fn handle_binary(&mut self) {
        self.inner.handle_binary();
    }

    fn handle_transport_closed(&mut self, now_ms: u64) {
        self.inner.handle_transport_closed(now_ms);
    }

    fn handle_timeout(&mut self, now_ms: u64) {
        self.inner.handle_timeout(now_ms);
    }

    fn retry_now(&mut self, now_ms: u64) {
        self.inner.retry_now(now_ms);
    }

    fn protocol(&self) -> sio_client::Protocol {
        self.inner.protocol()
    }

    fn server_speaks(&mut self, protocol: sio_client::Protocol) {
        self.inner.server_speaks(protocol);
    }
}
