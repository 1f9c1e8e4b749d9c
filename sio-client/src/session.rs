//! The client side of one Socket.IO namespace connection, sans IO.
//!
//! [`Session`] is driven by what happens to it — a text frame arrived, the
//! transport closed, the clock reached [`Session::next_timeout`], the
//! application emitted — and answers with [`Output`]s for its shell to carry
//! out: open or close the transport, send a frame, publish a state, deliver an
//! event or an ack. Shells for a runtime (a browser websocket, tokio) stay
//! thin; every protocol decision is here, where it is tested natively in
//! microseconds against recorded frames.
//!
//! It knows no application: events go out and come in as a name and
//! [`RawJson`] arguments, acks come back raw, matched by id, and events the
//! server sends with an ack id are handed over with a [`ReplyId`] for the
//! application to answer with [`Session::reply`].
//!
//! What it handles, per docs/PROTOCOL.md: Engine.IO open handshake and the
//! server's `maxPayload`; pings at any time (including right after open);
//! namespace CONNECT with an auth payload; events that arrive *before* the
//! CONNECT ack (Flask-SocketIO's default); CONNECT_ERROR as an object or a
//! bare string; acks with timeouts; heartbeat loss; reconnecting with backoff;
//! and a bounded buffer for emits made while disconnected.

use std::collections::VecDeque;

pub use crate::ack_table::AckId;
use crate::ack_table::AckTable;
use crate::backoff::{Backoff, BackoffConfig, Rng};
use sio_proto::engineio::{EnginePacket, OpenPacket, Protocol};
use sio_proto::json::Quoted;
use sio_proto::raw::{JsonObject, RawJson};
use sio_proto::socketio::{Packet, RESERVED_EVENTS};

/// Settings of a [`Session`]. [`ClientConfig::new`] gives socket.io's
/// reconnect defaults for a namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The namespace to join, e.g. `/chat` (`/` is the main namespace).
    pub namespace: String,
    /// Sent as the CONNECT payload.
    pub auth: Option<JsonObject>,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// How long opening the transport, the Engine.IO handshake and the
    /// namespace CONNECT may take together before the attempt counts as failed.
    pub join_timeout_ms: u64,
    /// How many emits may wait while disconnected. Beyond it, emits fail with
    /// [`EmitError::BufferFull`] instead of growing memory without bound.
    pub buffer_limit: usize,
    /// Seed for the backoff jitter (the shell passes real randomness).
    pub seed: u64,
    /// The Engine.IO generation to speak first.
    pub protocol: Protocol,
    /// Whether the session (and a transport layer over it) may switch to
    /// Engine.IO v3 when the server shows it speaks only that: an unasked
    /// join of `/` (Socket.IO revision 4), a refused v4 handshake, a v3
    /// polling body. The switch lasts for the session's life. `false`
    /// forces [`ClientConfig::protocol`].
    pub detect_protocol: bool,
}

/// The documented default bound of the offline emit buffer.
pub const DEFAULT_BUFFER_LIMIT: usize = 100;

impl ClientConfig {
    /// Joins `namespace` without auth, with socket.io's reconnect defaults,
    /// a 10 s join timeout and a buffer of [`DEFAULT_BUFFER_LIMIT`] emits.
    #[must_use]
    pub fn new(namespace: &str) -> Self {
        ClientConfig {
            namespace: namespace.to_owned(),
            auth: None,
            backoff: BackoffConfig::default(),
            join_timeout_ms: 10_000,
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            seed: 1,
            protocol: Protocol::V4,
            detect_protocol: true,
        }
    }
}

/// What the page shows about the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening a transport; `attempt` is 0 for the first connect.
    Connecting {
        /// Which retry this is: 0 for the first connect, counting up until
        /// the namespace is joined.
        attempt: u32,
    },
    /// Joined the namespace; emits go out immediately.
    Connected,
    /// Waiting `delay_ms` before attempt number `attempt`, due at `retry_at_ms`.
    Reconnecting {
        /// The number of the attempt to come (1 for the first retry).
        attempt: u32,
        /// The backoff delay chosen, in milliseconds.
        delay_ms: u64,
        /// When the attempt is due, on the session's clock.
        retry_at_ms: u64,
    },
    /// Stopped: closed by the application, refused by the server, or out of attempts.
    Offline {
        /// Why, in words for a person to read.
        reason: String,
    },
}

/// Names one event the server sent with an ack id, for [`Session::reply`].
/// It also names the transport the event came on: the server can only take
/// the answer on that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyId {
    id: u64,
    transport: u64,
}

/// An event from the server, its arguments as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments after the name, each one JSON value.
    pub args: Vec<RawJson>,
    /// Present when the server asked for an answer: give it to
    /// [`Session::reply`] (an application that never answers leaves the
    /// server waiting, as with any socket.io client).
    pub reply: Option<ReplyId>,
}

/// Why an ack never came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The ack's timeout passed before the server answered.
    #[error("no reply within the timeout")]
    Timeout,
    /// The transport the emit went out on was lost before the answer came.
    #[error("the connection was lost before the reply arrived")]
    ConnectionLost,
    /// The session stopped: closed by the application, refused by the
    /// server, or out of reconnect attempts.
    #[error("the client was closed")]
    Closed,
    /// A buffered emit turned out, once joined, to exceed the server's
    /// `maxPayload`, so it was never sent.
    #[error("message of {size} bytes exceeds the server's limit of {max} bytes")]
    TooLarge {
        /// The encoded frame's length in bytes.
        size: usize,
        /// The server's `maxPayload`, in bytes.
        max: u64,
    },
}

/// Why an emit (or a reply) was refused on the spot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The namespace is not joined, and the offline buffer already holds
    /// [`ClientConfig::buffer_limit`] emits.
    #[error("{limit} messages are already waiting for the connection; try again later")]
    BufferFull {
        /// The configured buffer limit.
        limit: usize,
    },
    /// The encoded frame exceeds the server's `maxPayload`.
    #[error("message of {size} bytes exceeds the server's limit of {max} bytes")]
    TooLarge {
        /// The encoded frame's length in bytes.
        size: usize,
        /// The server's `maxPayload`, in bytes.
        max: u64,
    },
    /// The session has stopped for good.
    #[error("the client was closed")]
    Closed,
    /// The event name is one Socket.IO reserves for itself.
    #[error("{} is reserved by Socket.IO and cannot be emitted", Quoted(.0))]
    ReservedName(String),
    /// A reply to an event whose transport is gone, so the server can no
    /// longer take it.
    #[error("the connection that asked for this reply is gone")]
    ReplyGone,
}

/// Something for the shell to do or to deliver, in order.
///
/// The session gives raw events ([`Event`]) and raw ack results; a typed
/// layer reuses the same enum with its own event and ack types (`E`, `R`).
#[derive(Debug, Clone, PartialEq)]
pub enum Output<E = Event, R = Result<Vec<RawJson>, AckError>> {
    /// Open a new transport (websocket) to the server; drop any previous one.
    OpenTransport,
    /// Send this text frame on the current transport.
    Send(String),
    /// Close and forget the current transport.
    CloseTransport,
    /// The connection state changed.
    State(ConnectionState),
    /// The server sent an event.
    Event(E),
    /// An emit-with-ack finished: the reply, or why none came.
    Ack {
        /// The id [`Session::emit_with_ack`] returned.
        id: AckId,
        /// The reply's arguments, or why none came.
        result: R,
    },
    /// Something odd but survivable happened (worth a console line).
    Warning(String),
}

/// The transport work a session asks its shell for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Io {
    /// Open a new transport (websocket); drop any previous one.
    Open,
    /// Send this text frame on the current transport.
    Send(String),
    /// Close and forget the current transport.
    Close,
}

impl<E, R> Output<E, R> {
    /// Splits the shell's transport work from what goes to the application.
    ///
    /// # Errors
    /// The output itself when it is not transport work.
    pub fn into_io(self) -> Result<Io, Self> {
        match self {
            Output::OpenTransport => Ok(Io::Open),
            Output::Send(frame) => Ok(Io::Send(frame)),
            Output::CloseTransport => Ok(Io::Close),
            other => Err(other),
        }
    }
}

/// An emit that has not been written to a transport yet.
#[derive(Debug, Clone)]
struct Queued {
    name: String,
    args: Vec<RawJson>,
    ack: Option<AckId>,
}

/// An emit-with-ack waiting for its reply.
#[derive(Debug, Clone)]
struct PendingAck {
    deadline_ms: u64,
    /// Written to a transport: the reply can only come on that one.
    sent: bool,
}

/// Where the connection is in its life cycle.
#[derive(Debug, Clone)]
enum Phase {
    /// Transport requested; waiting for the open packet and the CONNECT ack.
    Joining {
        deadline_ms: u64,
        handshake: Option<OpenPacket>,
        heartbeat_deadline_ms: Option<u64>,
    },
    /// Namespace joined.
    Joined {
        handshake: OpenPacket,
        heartbeat_deadline_ms: u64,
        /// The socket's id from the CONNECT ack (`{"sid":…}`, Socket.IO v5).
        sid: Option<String>,
    },
    /// Between attempts.
    Waiting { retry_at_ms: u64 },
    /// Stopped for good.
    Stopped,
}

/// One namespace connection with reconnects; see the module docs.
#[derive(Debug)]
pub struct Session {
    config: ClientConfig,
    phase: Phase,
    state: ConnectionState,
    backoff: Backoff,
    rng: Rng,
    outbox: VecDeque<Queued>,
    acks: AckTable<PendingAck>,
    next_ack: u64,
    /// Counts transports opened, so a reply is sent only on the one that
    /// carried its event.
    transport: u64,
    /// Engine.IO v3: when the client sends its next ping.
    next_ping_ms: Option<u64>,
    outputs: VecDeque<Output>,
}

impl Session {
    /// Starts connecting at once.
    pub fn new(config: ClientConfig, now_ms: u64) -> Self {
        let mut session = Session {
            backoff: Backoff::new(config.backoff),
            rng: Rng::new(config.seed),
            config,
            phase: Phase::Stopped,
            state: ConnectionState::Offline {
                reason: "not started".to_owned(),
            },
            outbox: VecDeque::new(),
            acks: AckTable::default(),
            next_ack: 0,
            transport: 0,
            next_ping_ms: None,
            outputs: VecDeque::new(),
        };
        session.open_transport(now_ms);
        session
    }

    /// The Engine.IO generation spoken now (see
    /// [`ClientConfig::detect_protocol`]).
    pub fn protocol(&self) -> Protocol {
        self.config.protocol
    }

    /// A transport layer found the server speaks `protocol` only: speak it
    /// from now on, unless the protocol is forced
    /// ([`ClientConfig::detect_protocol`] off).
    pub fn server_speaks(&mut self, protocol: Protocol) {
        if self.config.detect_protocol {
            self.config.protocol = protocol;
        }
    }

    /// The current connection state.
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// The socket's id on the server while connected, as the CONNECT ack
    /// gave it (`socket.id` in socket.io-client). `None` while not
    /// connected, and from Socket.IO revision 4 servers, which send none.
    pub fn id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Joined { sid, .. } => sid.as_deref(),
            _ => None,
        }
    }

    /// The next thing for the shell to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Session::handle_timeout`] should next be called.
    pub fn next_timeout(&self) -> Option<u64> {
        let phase = match &self.phase {
            Phase::Joining {
                deadline_ms,
                heartbeat_deadline_ms,
                ..
            } => Some(heartbeat_deadline_ms.map_or(*deadline_ms, |h| h.min(*deadline_ms))),
            Phase::Joined {
                heartbeat_deadline_ms,
                ..
            } => Some(*heartbeat_deadline_ms),
            Phase::Waiting { retry_at_ms } => Some(*retry_at_ms),
            Phase::Stopped => None,
        };
        let ack = self.acks.iter().map(|(_, a)| a.deadline_ms).min();
        [phase, ack, self.next_ping_ms].into_iter().flatten().min()
    }

    /// Replaces the CONNECT payload used from the next namespace connect on.
    pub fn set_auth(&mut self, auth: Option<JsonObject>) {
        self.config.auth = auth;
    }

    /// Sends an event without asking for a reply (buffered while disconnected).
    ///
    /// # Errors
    /// [`EmitError`]: closed, buffer full, too large for the server, or a
    /// name Socket.IO reserves.
    pub fn emit(&mut self, name: &str, args: Vec<RawJson>) -> Result<(), EmitError> {
        let queued = queued(name, args, None)?;
        self.enqueue(queued)
    }

    /// Sends an event and asks for a reply; the [`Output::Ack`] with the
    /// returned id arrives within `timeout_ms` at the latest (as a timeout).
    ///
    /// # Errors
    /// As [`Session::emit`]; then no [`Output::Ack`] follows.
    pub fn emit_with_ack(
        &mut self,
        now_ms: u64,
        name: &str,
        args: Vec<RawJson>,
        timeout_ms: u64,
    ) -> Result<AckId, EmitError> {
        let id = AckId(self.next_ack);
        let pending = PendingAck {
            deadline_ms: now_ms.saturating_add(timeout_ms),
            sent: false,
        };
        self.enqueue(queued(name, args, Some(id))?)?;
        self.next_ack += 1;
        // Written at once when joined; otherwise buffered until the CONNECT ack.
        let sent = matches!(self.phase, Phase::Joined { .. });
        self.acks.insert(id, PendingAck { sent, ..pending });
        Ok(id)
    }

    /// Answers an event the server sent with an ack id.
    ///
    /// # Errors
    /// [`EmitError::ReplyGone`] when the transport the event came on is gone
    /// (the server dropped its side of the ack with it), [`EmitError::Closed`]
    /// after [`Session::close`], [`EmitError::TooLarge`] beyond the server's limit.
    pub fn reply(&mut self, reply: ReplyId, args: Vec<RawJson>) -> Result<(), EmitError> {
        let max_payload = match &self.phase {
            Phase::Stopped => return Err(EmitError::Closed),
            _ if reply.transport != self.transport => return Err(EmitError::ReplyGone),
            Phase::Joined { handshake, .. }
            | Phase::Joining {
                handshake: Some(handshake),
                ..
            } => handshake.max_payload,
            _ => return Err(EmitError::ReplyGone),
        };
        let packet = Packet::Ack {
            nsp: self.config.namespace.clone(),
            id: reply.id,
            args,
        };
        let frame = EnginePacket::Message(packet.encode()).encode();
        check_size(&frame, max_payload)?;
        self.outputs.push_back(Output::Send(frame));
        Ok(())
    }

    /// Leaves the namespace, closes the transport and stops for good.
    pub fn close(&mut self) {
        if let Phase::Joined { .. } = self.phase {
            self.send_packet(&Packet::Disconnect {
                nsp: self.config.namespace.clone(),
            });
            self.outputs
                .push_back(Output::Send(EnginePacket::Close.encode()));
        }
        self.stop("closed by the client".to_owned(), AckError::Closed);
    }

    /// If waiting between attempts, tries again now (e.g. the browser went online).
    pub fn retry_now(&mut self, now_ms: u64) {
        if let Phase::Waiting { .. } = self.phase {
            self.open_transport(now_ms);
        }
    }

    /// The transport reported an error or closed.
    pub fn handle_transport_closed(&mut self, now_ms: u64) {
        if matches!(self.phase, Phase::Joining { .. } | Phase::Joined { .. }) {
            self.lose(now_ms, "the connection closed");
        }
    }

    /// A binary frame arrived; this client speaks text frames only.
    pub fn handle_binary(&mut self) {
        self.warn("ignored a binary frame (binary packets are not supported)".to_owned());
    }

    /// A text frame arrived on the current transport.
    pub fn handle_text(&mut self, now_ms: u64, frame: &str) {
        match EnginePacket::decode(frame) {
            Ok(packet) => self.on_engine_packet(now_ms, packet),
            Err(err) => self.lose(now_ms, &format!("unreadable frame from the server: {err}")),
        }
    }

    /// The clock reached (or passed) [`Session::next_timeout`].
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.expire_acks(now_ms);
        self.ping_if_due(now_ms);
        match self.phase {
            Phase::Joining { deadline_ms, .. } if now_ms >= deadline_ms => {
                self.lose(now_ms, "the server did not complete the handshake in time");
            }
            Phase::Joining {
                heartbeat_deadline_ms: Some(deadline),
                ..
            }
            | Phase::Joined {
                heartbeat_deadline_ms: deadline,
                ..
            } if now_ms >= deadline => {
                let reason = match self.config.protocol {
                    Protocol::V4 => "no ping from the server: connection presumed dead",
                    Protocol::V3 => "no pong from the server: connection presumed dead",
                };
                self.lose(now_ms, reason);
            }
            Phase::Waiting { retry_at_ms } if now_ms >= retry_at_ms => {
                self.open_transport(now_ms);
            }
            _ => {}
        }
    }

    fn on_engine_packet(&mut self, now_ms: u64, packet: EnginePacket) {
        if self.config.protocol == Protocol::V3 {
            // v3: any packet shows the server alive (it never pings).
            self.refresh_heartbeat(now_ms);
        }
        match packet {
            EnginePacket::Open(open) => self.on_open(now_ms, open),
            EnginePacket::Ping(data) => {
                self.refresh_heartbeat(now_ms);
                self.outputs
                    .push_back(Output::Send(EnginePacket::Pong(data).encode()));
            }
            EnginePacket::Message(text) => match Packet::decode(&text) {
                Ok(packet) => self.on_packet(now_ms, packet),
                Err(err) => self.warn(format!("ignored an unreadable Socket.IO packet: {err}")),
            },
            EnginePacket::Close => self.lose(now_ms, "the server closed the connection"),
            EnginePacket::Pong(_) => self.schedule_ping(now_ms),
            EnginePacket::Upgrade | EnginePacket::Noop => {}
        }
    }

    fn on_open(&mut self, now_ms: u64, open: OpenPacket) {
        let Phase::Joining {
            handshake: handshake @ None,
            heartbeat_deadline_ms,
            ..
        } = &mut self.phase
        else {
            return self.lose(now_ms, "unexpected second open packet");
        };
        *heartbeat_deadline_ms = Some(heartbeat_deadline(now_ms, &open));
        *handshake = Some(open);
        let data = match self.config.protocol {
            Protocol::V4 => self.config.auth.clone().map(RawJson::from),
            // Socket.IO revision 4 has no auth in CONNECT.
            Protocol::V3 => None,
        };
        let connect = Packet::Connect {
            nsp: self.config.namespace.clone(),
            data,
        };
        self.send_packet(&connect);
        self.schedule_ping(now_ms);
    }

    fn on_packet(&mut self, now_ms: u64, packet: Packet) {
        let unasked_main = self.config.namespace != sio_proto::socketio::MAIN_NAMESPACE
            && matches!(&packet, Packet::Connect { nsp, .. } if nsp == sio_proto::socketio::MAIN_NAMESPACE);
        if unasked_main {
            // Revision 4 servers join every client to `/` unasked; a v5
            // server never does, so this shows a v3 server.
            if self.config.protocol == Protocol::V4 && self.config.detect_protocol {
                self.config.protocol = Protocol::V3;
                self.refresh_heartbeat(now_ms);
                self.schedule_ping(now_ms);
            }
            if self.config.protocol == Protocol::V3 {
                return;
            }
        }
        if packet.nsp() != self.config.namespace {
            let nsp = Quoted(packet.nsp());
            return self.warn(format!("ignored a packet for namespace {nsp}"));
        }
        match packet {
            Packet::Connect { data, .. } => self.on_joined(data.as_ref()),
            Packet::Event { id, name, args, .. } => self.on_event(id, name, args),
            Packet::Ack { id, args, .. } => self.on_ack(AckId(id), args),
            Packet::ConnectError { message, .. } => self.stop(
                format!("the server refused the connection: {message}"),
                AckError::Closed,
            ),
            Packet::Disconnect { .. } => self.lose(now_ms, "the server ended the session"),
        }
    }

    fn on_joined(&mut self, data: Option<&RawJson>) {
        let Phase::Joining {
            handshake: Some(handshake),
            heartbeat_deadline_ms: Some(heartbeat),
            ..
        } = &self.phase
        else {
            return self.warn("ignored a CONNECT ack outside the handshake".to_owned());
        };
        let sid = data.and_then(|data| {
            let object = sio_proto::read::Object::parse(data.as_str()).ok()?;
            object.field::<Option<String>>("sid").ok().flatten()
        });
        self.phase = Phase::Joined {
            handshake: handshake.clone(),
            heartbeat_deadline_ms: *heartbeat,
            sid,
        };
        self.backoff.reset();
        self.set_state(ConnectionState::Connected);
        while let Some(queued) = self.outbox.pop_front() {
            self.write(queued);
        }
    }

    /// Events are delivered even before the CONNECT ack (Flask sends them first).
    fn on_event(&mut self, id: Option<u64>, name: String, args: Vec<RawJson>) {
        let reply = id.map(|id| ReplyId {
            id,
            transport: self.transport,
        });
        self.outputs
            .push_back(Output::Event(Event { name, args, reply }));
    }

    fn on_ack(&mut self, id: AckId, args: Vec<RawJson>) {
        if self.acks.remove(id).is_none() {
            return self.warn(format!("ignored an ack with unknown id {}", id.0));
        }
        self.outputs.push_back(Output::Ack {
            id,
            result: Ok(args),
        });
    }

    fn enqueue(&mut self, queued: Queued) -> Result<(), EmitError> {
        match self.phase {
            Phase::Stopped => Err(EmitError::Closed),
            Phase::Joined { ref handshake, .. } => {
                let frame = frame_for(&self.config.namespace, &queued);
                check_size(&frame, handshake.max_payload)?;
                self.outputs.push_back(Output::Send(frame));
                Ok(())
            }
            _ if self.outbox.len() >= self.config.buffer_limit => Err(EmitError::BufferFull {
                limit: self.config.buffer_limit,
            }),
            _ => {
                self.outbox.push_back(queued);
                Ok(())
            }
        }
    }

    /// Writes a queued emit after joining; an oversize one fails its ack.
    fn write(&mut self, queued: Queued) {
        let Phase::Joined { ref handshake, .. } = self.phase else {
            return;
        };
        let frame = frame_for(&self.config.namespace, &queued);
        match (check_size(&frame, handshake.max_payload), queued.ack) {
            (Ok(()), ack) => {
                if let Some(pending) = ack.and_then(|id| self.acks.get_mut(id)) {
                    pending.sent = true;
                }
                self.outputs.push_back(Output::Send(frame));
            }
            (Err(EmitError::TooLarge { size, max }), Some(id)) => {
                self.acks.remove(id);
                self.outputs.push_back(Output::Ack {
                    id,
                    result: Err(AckError::TooLarge { size, max }),
                });
            }
            (Err(err), None) => self.warn(format!("dropped a buffered emit: {err}")),
            (Err(_), Some(_)) => {}
        }
    }

    fn send_packet(&mut self, packet: &Packet) {
        let frame = EnginePacket::Message(packet.encode()).encode();
        self.outputs.push_back(Output::Send(frame));
    }

    fn refresh_heartbeat(&mut self, now_ms: u64) {
        match &mut self.phase {
            Phase::Joined {
                handshake,
                heartbeat_deadline_ms,
                ..
            } => *heartbeat_deadline_ms = heartbeat_deadline(now_ms, handshake),
            Phase::Joining {
                handshake: Some(handshake),
                heartbeat_deadline_ms,
                ..
            } => *heartbeat_deadline_ms = Some(heartbeat_deadline(now_ms, handshake)),
            _ => {}
        }
    }

    /// Engine.IO v3: the next ping is due one `pingInterval` after the open
    /// packet or the last pong.
    fn schedule_ping(&mut self, now_ms: u64) {
        if self.config.protocol != Protocol::V3 {
            return;
        }
        if let Phase::Joining {
            handshake: Some(open),
            ..
        }
        | Phase::Joined {
            handshake: open, ..
        } = &self.phase
        {
            self.next_ping_ms = Some(now_ms.saturating_add(open.ping_interval));
        }
    }

    /// Engine.IO v3: sends the due ping; the pong must come within
    /// `pingTimeout`.
    fn ping_if_due(&mut self, now_ms: u64) {
        if self.next_ping_ms.is_none_or(|at| now_ms < at) {
            return;
        }
        self.next_ping_ms = None;
        let timeout = match &self.phase {
            Phase::Joining {
                handshake: Some(open),
                ..
            }
            | Phase::Joined {
                handshake: open, ..
            } => open.ping_timeout,
            _ => return,
        };
        match &mut self.phase {
            Phase::Joining {
                heartbeat_deadline_ms: Some(deadline),
                ..
            }
            | Phase::Joined {
                heartbeat_deadline_ms: deadline,
                ..
            } => *deadline = now_ms.saturating_add(timeout),
            _ => return,
        }
        self.outputs
            .push_back(Output::Send(EnginePacket::Ping(String::new()).encode()));
    }

    fn expire_acks(&mut self, now_ms: u64) {
        self.fail_acks(|pending| now_ms >= pending.deadline_ms, AckError::Timeout);
    }

    fn open_transport(&mut self, now_ms: u64) {
        self.transport += 1;
        self.next_ping_ms = None;
        self.phase = Phase::Joining {
            deadline_ms: now_ms.saturating_add(self.config.join_timeout_ms),
            handshake: None,
            heartbeat_deadline_ms: None,
        };
        self.set_state(ConnectionState::Connecting {
            attempt: self.backoff.attempts(),
        });
        self.outputs.push_back(Output::OpenTransport);
    }

    /// The transport is gone: fail replies that can no longer come, then wait and retry.
    fn lose(&mut self, now_ms: u64, reason: &str) {
        self.next_ping_ms = None;
        self.warn(format!("connection lost: {reason}"));
        self.outputs.push_back(Output::CloseTransport);
        self.fail_acks(|pending| pending.sent, AckError::ConnectionLost);
        if self.backoff.exhausted() {
            let attempts = self.backoff.attempts();
            // The transport is closed just above: `stop` must not close it again.
            self.phase = Phase::Stopped;
            return self.stop(
                format!("gave up after {attempts} attempts ({reason})"),
                AckError::Closed,
            );
        }
        let delay_ms = self.backoff.next_delay(self.rng.next_f64());
        let retry_at_ms = now_ms.saturating_add(delay_ms);
        self.phase = Phase::Waiting { retry_at_ms };
        self.set_state(ConnectionState::Reconnecting {
            attempt: self.backoff.attempts(),
            delay_ms,
            retry_at_ms,
        });
    }

    fn stop(&mut self, reason: String, error: AckError) {
        self.next_ping_ms = None;
        if !matches!(self.phase, Phase::Stopped | Phase::Waiting { .. }) {
            self.outputs.push_back(Output::CloseTransport);
        }
        self.phase = Phase::Stopped;
        self.outbox.clear();
        self.fail_acks(|_| true, error);
        self.set_state(ConnectionState::Offline { reason });
    }

    /// Ends the acks matching `which` with `error`; a still-buffered emit
    /// whose reply can no longer be awaited is not sent either.
    fn fail_acks(&mut self, which: impl Fn(&PendingAck) -> bool, error: AckError) {
        let failed: Vec<AckId> = self
            .acks
            .iter()
            .filter(|(_, p)| which(p))
            .map(|(id, _)| id)
            .collect();
        for id in failed {
            self.acks.remove(id);
            self.outbox.retain(|q| q.ack != Some(id));
            self.outputs.push_back(Output::Ack {
                id,
                result: Err(error.clone()),
            });
        }
    }

    fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state.clone();
            self.outputs.push_back(Output::State(state));
        }
    }

    fn warn(&mut self, message: String) {
        self.outputs.push_back(Output::Warning(message));
    }
}

fn heartbeat_deadline(now_ms: u64, open: &OpenPacket) -> u64 {
    now_ms
        .saturating_add(open.ping_interval)
        .saturating_add(open.ping_timeout)
}

/// An emit to be written, unless its name is one Socket.IO keeps for itself.
fn queued(name: &str, args: Vec<RawJson>, ack: Option<AckId>) -> Result<Queued, EmitError> {
    if RESERVED_EVENTS.contains(&name) {
        return Err(EmitError::ReservedName(name.to_owned()));
    }
    Ok(Queued {
        name: name.to_owned(),
        args,
        ack,
    })
}

fn frame_for(namespace: &str, queued: &Queued) -> String {
    let ack = queued.ack.map(|AckId(id)| id);
    let text = sio_proto::socketio::event_text(namespace, ack, &queued.name, &queued.args);
    EnginePacket::Message(text).encode()
}

fn check_size(frame: &str, max_payload: u64) -> Result<(), EmitError> {
    if frame.len() as u64 > max_payload {
        Err(EmitError::TooLarge {
            size: frame.len(),
            max: max_payload,
        })
    } else {
        Ok(())
    }
}
