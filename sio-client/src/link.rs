//! Engine.IO transports, sans IO: the websocket, HTTP long-polling, the
//! upgrade from one to the other, and finding which generation (Engine.IO 4
//! or 3) the server speaks.
//!
//! A session ([`Driven`]) asks for "a transport" and sends and receives
//! frames; [`Link`] decides how, and asks its runtime shell for websocket and
//! HTTP work ([`LinkIo`]). What it does, as socket.io-client does:
//!
//! - **Websocket first** (one round trip less than polling). If that socket
//!   closes before a single frame arrived, the server may still be reachable
//!   over HTTP (a proxy that refuses websockets): the link falls back to a
//!   polling handshake at once, and when that works it starts later
//!   connections with polling too (upgrading when it can).
//! - **Long-polling**: one GET waits for the server's packets, one POST at a
//!   time carries the session's frames (queued while one is out). Engine.IO 4
//!   bodies join packets with `\x1e`; Engine.IO 3 bodies are read in either
//!   v3 framing and written in binary framing, whose byte lengths every v3
//!   server reads alike (`eio3`).
//! - **Upgrade**: when the handshake offers `websocket`, the link opens one
//!   with the session id, sends `2probe`, and on `3probe` pauses polling
//!   (waits for the outstanding GET and POST), sends `5` and moves the
//!   session onto the websocket. A probe that fails leaves polling running.
//! - **Generation**: a polling handshake refused with "Unsupported protocol
//!   version" is tried again with `EIO=3`, and a v3-framed answer shows a v3
//!   server; the session is told ([`Driven::server_speaks`]) and keeps it.
//!   (Over a websocket the session itself notices a revision-4 server.)
//!
//! Answers to requests the link no longer waits for (an earlier transport's)
//! are ignored, so a shell never has to cancel anything.

use std::collections::VecDeque;

use crate::driven::{Driven, Io};
use crate::session::{ConnectionState, Output};
use sio_proto::eio3;
use sio_proto::engineio::{EnginePacket, Protocol, ENDPOINT_PATH, RECORD_SEPARATOR};

/// Which transports a [`Link`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// A websocket first, polling when it fails; polling upgrades when it can.
    #[default]
    Any,
    /// Only a websocket (no HTTP requests at all).
    WebSocketOnly,
    /// Only long-polling (never a websocket).
    PollingOnly,
}

/// An HTTP method of a polling request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The handshake, or a poll that waits for the server's packets.
    Get,
    /// Carries the session's queued frames to the server.
    Post,
}

/// Names an HTTP request, so its answer finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Transport work for the shell. Paths are relative to the server's base
/// URL (`http://host:port`); a websocket uses the `ws` scheme of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkIo {
    /// Open a websocket to `path`, dropping any previous one; report its
    /// frames and its end.
    OpenSocket {
        /// The Engine.IO endpoint with its query, relative to the base URL.
        path: String,
    },
    /// Send a text frame on the websocket (queued until it is open).
    SendSocket(String),
    /// Close and forget the websocket.
    CloseSocket,
    /// Make an HTTP request (with the browser's credentials); report the
    /// answer or the failure with its `id`.
    Request {
        /// Names the request; its answer or failure is reported with it.
        id: RequestId,
        /// GET or POST.
        method: Method,
        /// The polling endpoint with its query, relative to the base URL.
        path: String,
        /// The body's `Content-Type` (text for Engine.IO 4, binary framing
        /// for Engine.IO 3); a GET has no body.
        content_type: &'static str,
        /// The frames a POST carries, encoded for the server's generation;
        /// empty for a GET.
        body: Vec<u8>,
    },
}

/// A session driven over Engine.IO transports; see the module docs.
#[derive(Debug)]
pub struct Link<S: Driven> {
    session: S,
    transports: Transports,
    state: State,
    /// A websocket failed where polling then worked: start with polling.
    websocket_failed: bool,
    /// The session has been connected on Engine.IO v4: the server speaks it,
    /// so a handshake without an answer is an outage, never a reason to
    /// guess v3.
    v4_confirmed: bool,
    next_request: u64,
    io: VecDeque<LinkIo>,
    outputs: VecDeque<Output<S::Event, S::Reply>>,
}

/// Where the link's transport is.
#[derive(Debug)]
enum State {
    /// No transport.
    Idle,
    /// A websocket carries the session; `heard` once a frame arrived.
    Socket { heard: bool },
    /// The polling handshake GET is out; `fallback` if a websocket just
    /// failed; `guess` if its generation (v3) is a guess after a v4
    /// handshake that got no readable answer.
    Handshake {
        request: RequestId,
        fallback: bool,
        guess: bool,
    },
    /// A long-polling session.
    Polling(Polling),
}

/// A long-polling session and its upgrade.
#[derive(Debug)]
struct Polling {
    sid: String,
    get: Option<RequestId>,
    post: Option<RequestId>,
    /// Frames waiting for the POST in flight (or the upgrade) to finish.
    queue: Vec<String>,
    probe: Probe,
}

/// What an answered (or failed) request was for.
#[derive(Debug, Clone, Copy)]
enum Awaited {
    Handshake {
        fallback: bool,
        guess: bool,
    },
    Poll,
    Post,
    /// Nothing any more: an earlier transport's.
    No,
}

/// The websocket upgrade of a polling session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// None tried, or the probe failed.
    Off,
    /// `2probe` sent on the new websocket.
    Sent,
    /// `3probe` came back: polling winds down, then `5` moves over.
    Pausing,
}

const TEXT: &str = "text/plain;charset=UTF-8";
const BINARY: &str = "application/octet-stream";

impl<S: Driven> Link<S> {
    /// Drives `session` over `transports`; whatever the session asked for
    /// at its start (it connects at once) is already queued.
    pub fn new(session: S, transports: Transports) -> Self {
        let mut link = Link {
            session,
            transports,
            state: State::Idle,
            websocket_failed: false,
            v4_confirmed: false,
            next_request: 0,
            io: VecDeque::new(),
            outputs: VecDeque::new(),
        };
        link.drain_session();
        link
    }

    /// The session, for the application (emit, close…). Call
    /// [`Link::after_session`] afterwards so its requests are carried out.
    pub fn session_mut(&mut self) -> &mut S {
        &mut self.session
    }

    /// Carries out what the session asked for since the last call.
    pub fn after_session(&mut self) {
        self.drain_session();
    }

    /// The transport carrying the session now: `"websocket"` or `"polling"`
    /// (none between attempts and during a polling handshake).
    pub fn transport(&self) -> Option<&'static str> {
        match self.state {
            State::Socket { .. } => Some("websocket"),
            State::Polling(_) => Some("polling"),
            State::Idle | State::Handshake { .. } => None,
        }
    }

    /// The next transport work for the shell.
    pub fn poll_io(&mut self) -> Option<LinkIo> {
        self.io.pop_front()
    }

    /// The next output for the application (never transport work).
    pub fn poll_output(&mut self) -> Option<Output<S::Event, S::Reply>> {
        self.outputs.pop_front()
    }

    /// When [`Link::handle_timeout`] should next be called.
    pub fn next_timeout(&self) -> Option<u64> {
        self.session.next_timeout()
    }

    /// The clock reached [`Link::next_timeout`].
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.session.handle_timeout(now_ms);
        self.drain_session();
    }

    /// The network is back: if waiting between attempts, try now.
    pub fn retry_now(&mut self, now_ms: u64) {
        self.session.retry_now(now_ms);
        self.drain_session();
    }

    /// A text frame arrived on the websocket.
    pub fn handle_socket_text(&mut self, now_ms: u64, frame: &str) {
        match &mut self.state {
            State::Socket { heard } => {
                *heard = true;
                self.session.handle_text(now_ms, frame);
            }
            State::Polling(polling)
                if polling.probe == Probe::Sent
                    && frame == EnginePacket::Pong("probe".to_owned()).encode() =>
            {
                polling.probe = Probe::Pausing;
                self.finish_upgrade_if_idle();
            }
            _ => {}
        }
        self.drain_session();
    }

    /// A binary frame arrived on the websocket.
    pub fn handle_socket_binary(&mut self) {
        if let State::Socket { .. } = self.state {
            self.session.handle_binary();
            self.drain_session();
        }
    }

    /// The websocket failed or closed.
    pub fn handle_socket_closed(&mut self, now_ms: u64) {
        match &mut self.state {
            State::Socket { heard: false } if self.transports == Transports::Any => {
                // Maybe a proxy that refuses websockets: try HTTP at once.
                self.handshake(true);
            }
            State::Socket { .. } => {
                self.state = State::Idle;
                self.session.handle_transport_closed(now_ms);
            }
            State::Polling(polling) if polling.probe != Probe::Off => {
                // The upgrade failed; polling goes on.
                polling.probe = Probe::Off;
                self.websocket_failed = true;
                self.resume_polling();
            }
            _ => {}
        }
        self.drain_session();
    }

    /// The answer to request `id`: its HTTP status and body.
    pub fn handle_response(&mut self, now_ms: u64, id: RequestId, status: u16, body: &[u8]) {
        match self.awaited(id) {
            Awaited::Handshake { fallback, guess } => {
                self.on_handshake(now_ms, status, body, fallback, guess);
            }
            Awaited::Poll => self.on_poll(now_ms, status, body),
            Awaited::Post => self.on_posted(now_ms, status),
            Awaited::No => {}
        }
        self.drain_session();
    }

    /// Request `id` failed without an answer (network error).
    pub fn handle_request_failed(&mut self, now_ms: u64, id: RequestId) {
        match self.awaited(id) {
            Awaited::Handshake { fallback, guess } => {
                self.handshake_unanswered(now_ms, fallback, guess);
            }
            Awaited::Poll | Awaited::Post => self.lose(now_ms),
            Awaited::No => {}
        }
        self.drain_session();
    }

    /// What request `id` is to the link now.
    fn awaited(&self, id: RequestId) -> Awaited {
        match &self.state {
            State::Handshake {
                request,
                fallback,
                guess,
            } if *request == id => Awaited::Handshake {
                fallback: *fallback,
                guess: *guess,
            },
            State::Polling(polling) if polling.get == Some(id) => Awaited::Poll,
            State::Polling(polling) if polling.post == Some(id) => Awaited::Post,
            _ => Awaited::No,
        }
    }

    /// Hands the session's outputs on: transport work is done here, the
    /// rest goes to the application.
    fn drain_session(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output.into_io() {
                Ok(Io::Open) => self.open(),
                Ok(Io::Send(frame)) => self.send(frame),
                Ok(Io::Close) => self.close(),
                Err(output) => {
                    if matches!(output, Output::State(ConnectionState::Connected))
                        && self.session.protocol() == Protocol::V4
                    {
                        self.v4_confirmed = true;
                    }
                    self.outputs.push_back(output);
                }
            }
        }
    }

    fn open(&mut self) {
        self.close();
        let websocket_first = match self.transports {
            Transports::WebSocketOnly => true,
            Transports::PollingOnly => false,
            Transports::Any => !self.websocket_failed,
        };
        if websocket_first {
            let path = self.session.protocol().websocket_path().to_owned();
            self.io.push_back(LinkIo::OpenSocket { path });
            self.state = State::Socket { heard: false };
        } else {
            self.handshake(false);
        }
    }

    fn send(&mut self, frame: String) {
        match &mut self.state {
            State::Socket { .. } => self.io.push_back(LinkIo::SendSocket(frame)),
            State::Polling(polling) => {
                polling.queue.push(frame);
                if polling.post.is_none() && polling.probe != Probe::Pausing {
                    self.post_queue();
                }
            }
            // The session sends only once the open packet arrived.
            State::Idle | State::Handshake { .. } => {}
        }
    }

    /// Drops the transport; frames still queued for polling go out in one
    /// last POST (the session's goodbye), whose answer nobody waits for.
    fn close(&mut self) {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Socket { .. } => self.io.push_back(LinkIo::CloseSocket),
            State::Polling(polling) => {
                if polling.probe != Probe::Off {
                    self.io.push_back(LinkIo::CloseSocket);
                }
                if !polling.queue.is_empty() {
                    let id = self.request_id();
                    self.io
                        .push_back(self.post_request(id, &polling.sid, &polling.queue));
                }
            }
            State::Idle | State::Handshake { .. } => {}
        }
    }

    fn handshake(&mut self, fallback: bool) {
        self.handshake_as(fallback, false);
    }

    fn handshake_as(&mut self, fallback: bool, guess: bool) {
        let id = self.request_id();
        self.io
            .push_back(get_request(self.session.protocol(), None, id));
        self.state = State::Handshake {
            request: id,
            fallback,
            guess,
        };
    }

    /// A handshake got no readable answer: no server, or one whose refusal
    /// the browser hides (python-engineio 3 refuses `EIO=4` without CORS
    /// headers, so a cross-origin page sees a network error). A v4 attempt
    /// is tried once more as v3, unless the session was ever connected on v4
    /// (then it is an outage, and a server that came back in between must
    /// not be met as v3); a guessed v3 that fails too goes back to v4.
    fn handshake_unanswered(&mut self, now_ms: u64, fallback: bool, guess: bool) {
        if self.session.protocol() == Protocol::V4 && !self.v4_confirmed {
            self.session.server_speaks(Protocol::V3);
            if self.session.protocol() == Protocol::V3 {
                return self.handshake_as(fallback, true);
            }
        } else if guess {
            self.session.server_speaks(Protocol::V4);
        }
        self.lose(now_ms);
    }

    fn on_handshake(&mut self, now_ms: u64, status: u16, body: &[u8], fallback: bool, guess: bool) {
        let protocol = self.session.protocol();
        if Protocol::refused(status, &String::from_utf8_lossy(body)) {
            // Refused v4: try v3 once. Refused v3 as well: back to v4 (the
            // server is not what it seemed, e.g. a v4 server while it starts).
            let other = match protocol {
                Protocol::V4 => Protocol::V3,
                Protocol::V3 => Protocol::V4,
            };
            self.session.server_speaks(other);
            if protocol == Protocol::V4 && self.session.protocol() == Protocol::V3 {
                return self.handshake(fallback);
            }
        }
        if status != 200 {
            if guess {
                self.session.server_speaks(Protocol::V4);
            }
            return self.lose(now_ms);
        }
        if protocol == Protocol::V4 && looks_v3(body) {
            self.session.server_speaks(Protocol::V3);
        }
        let Some(frames) = split(self.session.protocol(), body) else {
            return self.lose(now_ms);
        };
        let Some(Ok(EnginePacket::Open(open))) = frames.first().map(|f| EnginePacket::decode(f))
        else {
            return self.lose(now_ms);
        };
        if fallback {
            self.websocket_failed = true;
        }
        self.state = State::Polling(Polling {
            sid: open.sid.clone(),
            get: None,
            post: None,
            queue: Vec::new(),
            probe: Probe::Off,
        });
        for frame in &frames {
            self.session.handle_text(now_ms, frame);
        }
        self.drain_session();
        let offered = open.upgrades.iter().any(|u| u == "websocket");
        if offered && self.transports == Transports::Any {
            self.probe(&open.sid);
        }
        self.resume_polling();
    }

    fn probe(&mut self, sid: &str) {
        let State::Polling(polling) = &mut self.state else {
            return;
        };
        let protocol = self.session.protocol();
        let path = format!("{}&sid={}", protocol.websocket_path(), encode(sid));
        self.io.push_back(LinkIo::OpenSocket { path });
        self.io.push_back(LinkIo::SendSocket(
            EnginePacket::Ping("probe".to_owned()).encode(),
        ));
        polling.probe = Probe::Sent;
    }

    fn on_poll(&mut self, now_ms: u64, status: u16, body: &[u8]) {
        if let State::Polling(polling) = &mut self.state {
            polling.get = None;
        }
        if status != 200 {
            return self.lose(now_ms);
        }
        let Some(frames) = split(self.session.protocol(), body) else {
            return self.lose(now_ms);
        };
        for frame in &frames {
            self.session.handle_text(now_ms, frame);
        }
        self.drain_session();
        self.resume_polling();
        self.finish_upgrade_if_idle();
    }

    fn on_posted(&mut self, now_ms: u64, status: u16) {
        if let State::Polling(polling) = &mut self.state {
            polling.post = None;
        }
        if status != 200 {
            return self.lose(now_ms);
        }
        self.resume_polling();
        self.finish_upgrade_if_idle();
    }

    /// Unless pausing for an upgrade: a GET out, and the queue POSTed.
    fn resume_polling(&mut self) {
        let State::Polling(polling) = &mut self.state else {
            return;
        };
        if polling.probe == Probe::Pausing {
            return;
        }
        if polling.get.is_none() {
            let id = RequestId(self.next_request);
            self.next_request += 1;
            polling.get = Some(id);
            let protocol = self.session.protocol();
            self.io
                .push_back(get_request(protocol, Some(&polling.sid), id));
        }
        if polling.post.is_none() && !polling.queue.is_empty() {
            self.post_queue();
        }
    }

    /// Once the probe came back and nothing is in flight: `5`, and the
    /// websocket carries the session (with what polling had queued).
    fn finish_upgrade_if_idle(&mut self) {
        let State::Polling(polling) = &mut self.state else {
            return;
        };
        if polling.probe != Probe::Pausing || polling.get.is_some() || polling.post.is_some() {
            return;
        }
        let queue = std::mem::take(&mut polling.queue);
        self.websocket_failed = false;
        self.io
            .push_back(LinkIo::SendSocket(EnginePacket::Upgrade.encode()));
        self.io.extend(queue.into_iter().map(LinkIo::SendSocket));
        self.state = State::Socket { heard: true };
    }

    fn post_queue(&mut self) {
        let id = self.request_id();
        let State::Polling(polling) = &mut self.state else {
            return;
        };
        let frames = std::mem::take(&mut polling.queue);
        polling.post = Some(id);
        let sid = polling.sid.clone();
        let request = self.post_request(id, &sid, &frames);
        self.io.push_back(request);
    }

    fn post_request(&self, id: RequestId, sid: &str, frames: &[String]) -> LinkIo {
        let protocol = self.session.protocol();
        let (content_type, body) = match protocol {
            Protocol::V4 => (
                TEXT,
                frames.join(&RECORD_SEPARATOR.to_string()).into_bytes(),
            ),
            Protocol::V3 => (
                BINARY,
                eio3::encode_binary_frames(frames.iter().map(String::as_str)),
            ),
        };
        LinkIo::Request {
            id,
            method: Method::Post,
            path: polling_path(protocol, Some(sid), id),
            content_type,
            body,
        }
    }

    /// The transport is gone: tell the session (which reconnects).
    fn lose(&mut self, now_ms: u64) {
        if let State::Polling(polling) = &self.state {
            if polling.probe != Probe::Off {
                self.io.push_back(LinkIo::CloseSocket);
            }
        }
        self.state = State::Idle;
        self.session.handle_transport_closed(now_ms);
    }

    fn request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }
}

/// A polling GET: the handshake (no session id yet) or a poll.
fn get_request(protocol: Protocol, sid: Option<&str>, id: RequestId) -> LinkIo {
    LinkIo::Request {
        id,
        method: Method::Get,
        path: polling_path(protocol, sid, id),
        content_type: TEXT,
        body: Vec::new(),
    }
}

/// The polling path: the generation, the session id once there is one, and
/// `t` so no cache answers a GET twice.
fn polling_path(protocol: Protocol, sid: Option<&str>, id: RequestId) -> String {
    let eio = match protocol {
        Protocol::V4 => 4,
        Protocol::V3 => 3,
    };
    let mut path = format!("{ENDPOINT_PATH}/?EIO={eio}&transport=polling&t={}", id.0);
    if let Some(sid) = sid {
        path.push_str("&sid=");
        path.push_str(&encode(sid));
    }
    path
}

/// A session id as a query value: servers use URL-safe ids, but nothing a
/// server sends goes into a URL unescaped.
fn encode(sid: &str) -> String {
    let mut out = String::with_capacity(sid.len());
    for byte in sid.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether a polling body is in v3 framing: binary (`0x00`/`0x01`) or
/// `<digits>:`. A v4 body starts with a packet type digit and never has a
/// `:` right after its leading digits (`0{`, `40`, `42/iss,…`).
fn looks_v3(body: &[u8]) -> bool {
    match body.first() {
        Some(0 | 1) => true,
        Some(_) => {
            let digits = body.iter().take_while(|b| b.is_ascii_digit()).count();
            digits > 0 && body.get(digits) == Some(&b':')
        }
        None => false,
    }
}

/// A polling body's frames, in the generation's framing; `None` if it does
/// not read.
fn split(protocol: Protocol, body: &[u8]) -> Option<Vec<String>> {
    match protocol {
        Protocol::V4 => {
            let text = std::str::from_utf8(body).ok()?;
            Some(text.split(RECORD_SEPARATOR).map(str::to_owned).collect())
        }
        Protocol::V3 => Some(
            eio3::split_payload(body)
                .ok()?
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ),
    }
}
