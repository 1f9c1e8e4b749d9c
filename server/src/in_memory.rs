//! The whole server in memory, for fuzzing: the real limits, layers and
//! router ([`crate::start::spawn_on`]) behind a listener of in-memory pipes, and a
//! [`Driver`] that plays a byte string as a sequence of client requests
//! against it, each under a deadline.
//!
//! It exists because the input that froze the whole server (an EIO=3 POST of
//! `1:🦀x`, bytes `31 3a f0 9f a6 80 78`, to a live session: bad input #74)
//! lay between the pieces the codec fuzz targets see: framing, the v3 repair
//! layer, engineioxide's decoder and a live session. Here a byte string
//! reaches the server the way a client's bytes do, and three things count as
//! a crash: a panic on a server thread, a step that misses its deadline, and
//! a connection the server still holds a deadline after the input (the
//! client ends of every step are closed by then).
//!
//! A hang is measured away from the server. A task that spins without
//! yielding freezes the runtime it runs on, timers included, so a
//! `tokio::time::timeout` there never fires. Each step runs on a client
//! runtime of its own while the caller's thread waits for it with
//! [`std::sync::mpsc::Receiver::recv_timeout`] ([`finish_within`]). The
//! server's runtime has one worker: a task that spins there stops
//! everything, and the next request (at the latest the `GET /healthz` that
//! ends every input) misses its deadline.
//!
//! # Input grammar
//!
//! ```text
//! input = step*                       at most MAX_STEPS steps; the rest is ignored
//! step  = kind                        kinds 0, 2, 7
//!       | kind len:u16be data:len     kinds 1, 3, 4, 5, 6 (len clipped to what is
//!                                     left; data beyond MAX_STEP_BYTES is dropped)
//! kind  = one byte: bits 0..2 pick the step, 0x80 = EIO=3 (else EIO=4),
//!         0x40 = the step's variant; the other bits are ignored
//!
//! 0 OPEN       polling handshake (variant: &b64=1); remembers the sid for its version
//! 1 POST data  data as a POST body to the remembered session of its version (one is
//!              opened first if none); variant: Content-Type application/octet-stream
//! 2 POLL       a GET on that session; variant: in the background, awaited at the end
//! 3 HEAD data  data raw on a fresh connection, then end of stream; read to the close.
//!              Variant: before ending the stream, read until the server closes or
//!              is quiet for 10 ms (so that handlers run: hyper drops a request
//!              whose client ended its stream)
//! 4 TRICKLE d  the same, one byte per write
//! 5 HOLD data  data raw on a fresh connection left open: the server must close it
//!              itself (head, body or ping timeout). Only the first HOLD of an input
//!              holds; later ones are played as HEAD (libFuzzer's -timeout=10)
//! 6 WS data    websocket handshake (variant: upgrading the remembered session), then
//!              data as client frames, (first byte, settle:1 bit + len:15 bits (u16be),
//!              payload)*, each sent masked with that first byte (FIN, RSV, opcode)
//!              as given; after a frame with `settle`, a read until the server closes
//!              or is quiet for 10 ms (as a client waiting for the CONNECT ack before
//!              it emits). Then the same read, end of stream, and a read to the close
//! 7 HEALTH     GET /healthz must answer 200
//! ```
//!
//! Requests the driver writes itself (all but HEAD, TRICKLE, HOLD) carry
//! `Host: 127.0.0.1` and `Connection: close`. After the steps, `GET /healthz`
//! must answer `200` within the deadline. Sids are random and sessions
//! outlive an input briefly (pings every 100 ms, 200 ms to answer), so runs
//! are deterministic in what they send, not in every byte the server answers.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::config::Config;

/// Most steps read from one input.
pub const MAX_STEPS: usize = 8;
/// Most bytes of data one step carries (above the 16 KiB head bound).
pub const MAX_STEP_BYTES: usize = 20 * 1024;
/// How long one step may take. The slowest legitimate step is a HOLD whose
/// body never completes: the head timeout, then the idle keep-alive timeout
/// (1 s each here).
pub const STEP_DEADLINE: Duration = Duration::from_secs(3);

/// Each direction's buffer in a pipe: more than any one step writes.
const PIPE_BYTES: usize = 64 * 1024;
/// The most a WS step's data makes on the wire: a frame of `3 + n` bytes
/// in the grammar is `6 + n` on the wire (`n` < 126) or `8 + n`; a
/// truncated last frame (1 or 2 bytes) an empty one of 6.
const MAX_FRAMED_BYTES: usize = 2 * MAX_STEP_BYTES + 6;
const _: () = assert!(MAX_FRAMED_BYTES < PIPE_BYTES);
/// How long the server may stay silent before a step ends its stream.
const QUIET: Duration = Duration::from_millis(10);
/// Most of an answer read; the rest is left unread (the pipe is dropped).
const MAX_ANSWER_BYTES: u64 = 1 << 20;
const SERVER_THREAD: &str = "in-memory-server";
const ENDPOINT: &str = "/socket.io/";
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The mask of every client frame (fixed: runs stay reproducible).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

const V3_BIT: u8 = 0x80;
/// In a frame's length: wait for the server after the frame.
const SETTLE_BIT: u16 = 0x8000;
const VARIANT_BIT: u8 = 0x40;

thread_local! {
    /// On a server thread, its driver's panic count (see [`count_panics`]).
    static PANICS: RefCell<Option<Arc<AtomicUsize>>> = const { RefCell::new(None) };
}

/// Accepts the server ends of the pipes a [`Connector`] makes.
pub struct MemoryListener {
    incoming: mpsc::UnboundedReceiver<ServerEnd>,
    accepted: u32,
}

/// Opens in-memory connections to a [`MemoryListener`], and counts those
/// whose server end is still open.
#[derive(Clone)]
pub struct Connector {
    outgoing: mpsc::UnboundedSender<ServerEnd>,
    open: Arc<watch::Sender<usize>>,
}

/// The server end of a pipe; dropping it counts the connection closed.
pub struct ServerEnd {
    io: DuplexStream,
    open: Arc<watch::Sender<usize>>,
}

/// A listener and the connector that reaches it.
pub fn pipes() -> (MemoryListener, Connector) {
    let (outgoing, incoming) = mpsc::unbounded_channel();
    let listener = MemoryListener {
        incoming,
        accepted: 0,
    };
    let open = Arc::new(watch::Sender::new(0));
    (listener, Connector { outgoing, open })
}

impl Connector {
    /// A fresh connection: the client end of a new pipe.
    pub fn connect(&self) -> io::Result<DuplexStream> {
        let (client, io) = tokio::io::duplex(PIPE_BYTES);
        self.open.send_modify(|open| *open += 1);
        let server = ServerEnd {
            io,
            open: self.open.clone(),
        };
        self.outgoing
            .send(server)
            .map_err(|_| io::Error::new(io::ErrorKind::ConnectionRefused, "listener gone"))?;
        Ok(client)
    }

    /// Completes once the server has dropped every connection made so far.
    pub async fn all_closed(&self) {
        let _ = self.open.subscribe().wait_for(|open| *open == 0).await;
    }
}

impl Drop for ServerEnd {
    fn drop(&mut self) {
        self.open.send_modify(|open| *open -= 1);
    }
}

impl AsyncRead for ServerEnd {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for ServerEnd {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl axum::serve::Listener for MemoryListener {
    type Io = ServerEnd;
    type Addr = SocketAddr;

    /// Every connection comes from 127.0.0.1, from a port of its own.
    async fn accept(&mut self) -> (ServerEnd, SocketAddr) {
        let Some(io) = self.incoming.recv().await else {
            return std::future::pending().await;
        };
        self.accepted = self.accepted.wrapping_add(1);
        let port = 1 + (self.accepted % u32::from(u16::MAX)) as u16;
        (io, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }
}

/// The configuration fuzzing runs with: small limits and short timers, so
/// that sessions an input leaves behind are gone within a few hundred ms.
pub fn fuzz_config() -> Config {
    let mut config = Config::defaults();
    config.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    config.dist = std::env::temp_dir().join("iss-no-such-dist");
    config.max_payload = 4096;
    config.ping_interval_ms = 100;
    config.ping_timeout_ms = 200;
    config.handshake_timeout_secs = 1;
    config.max_connections = 256;
    config.max_per_source = 0;
    config.report_interval_secs = 0;
    config.shutdown_grace_secs = 1;
    config
}

/// An Engine.IO protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eio {
    V3,
    V4,
}

impl Eio {
    fn number(self) -> u8 {
        match self {
            Eio::V3 => 3,
            Eio::V4 => 4,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Eio::V3 => V3_BIT,
            Eio::V4 => 0,
        }
    }
}

/// One step of an input (see the module docs for the grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Open {
        eio: Eio,
        b64: bool,
    },
    Post {
        eio: Eio,
        binary: bool,
        body: Vec<u8>,
    },
    Poll {
        eio: Eio,
        background: bool,
    },
    /// HEAD (`trickle`: TRICKLE); `settle`: let the server answer first.
    Raw {
        data: Vec<u8>,
        trickle: bool,
        settle: bool,
    },
    Hold(Vec<u8>),
    WebSocket {
        eio: Eio,
        upgrade: bool,
        frames: Vec<u8>,
    },
    Health,
}

/// Reads at most [`MAX_STEPS`] steps from `input`.
pub fn decode(input: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut rest = input;
    while let Some((&kind, tail)) = rest.split_first() {
        if steps.len() == MAX_STEPS {
            break;
        }
        let (step, next) = Step::read(kind, tail);
        steps.push(step);
        rest = next;
    }
    steps
}

/// The input that [`decode`]s to `steps` (data up to [`MAX_STEP_BYTES`]).
pub fn encode(steps: &[Step]) -> Vec<u8> {
    steps.iter().flat_map(Step::encode).collect()
}

/// Websocket frame data for a [`Step::WebSocket`]: each frame's first byte
/// (`0x81` a final text frame, `0x82` binary, `0x88` close) and payload,
/// each followed by a wait for the server's answers (`settle`).
pub fn frames(list: &[(u8, &[u8])]) -> Vec<u8> {
    frame_data(list, SETTLE_BIT)
}

/// The same frames sent one after the other without waiting.
pub fn burst(list: &[(u8, &[u8])]) -> Vec<u8> {
    frame_data(list, 0)
}

fn frame_data(list: &[(u8, &[u8])], settle: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for (first, payload) in list {
        let payload = &payload[..payload.len().min(usize::from(!SETTLE_BIT))];
        out.push(*first);
        out.extend_from_slice(&(payload.len() as u16 | settle).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// Length-prefixed data: the next u16be (missing bytes count as none) and
/// that many bytes, clipped to what is left. Returns the data and the rest.
fn take_data(bytes: &[u8]) -> (&[u8], &[u8]) {
    let len = match bytes {
        [high, low, ..] => usize::from(u16::from_be_bytes([*high, *low])),
        _ => 0,
    };
    let body = &bytes[bytes.len().min(2)..];
    body.split_at(len.min(body.len()))
}

fn push_data(out: &mut Vec<u8>, data: &[u8]) {
    let data = &data[..data.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

impl Step {
    fn read(kind: u8, tail: &[u8]) -> (Step, &[u8]) {
        let eio = if kind & V3_BIT != 0 { Eio::V3 } else { Eio::V4 };
        let variant = kind & VARIANT_BIT != 0;
        match kind & 0x07 {
            0 => return (Step::Open { eio, b64: variant }, tail),
            2 => {
                return (
                    Step::Poll {
                        eio,
                        background: variant,
                    },
                    tail,
                )
            }
            7 => return (Step::Health, tail),
            _ => {}
        }
        let (data, after) = take_data(tail);
        let data = data[..data.len().min(MAX_STEP_BYTES)].to_vec();
        let step = match kind & 0x07 {
            1 => Step::Post {
                eio,
                binary: variant,
                body: data,
            },
            3 | 4 => Step::Raw {
                data,
                trickle: kind & 0x07 == 4,
                settle: variant,
            },
            5 => Step::Hold(data),
            _ => Step::WebSocket {
                eio,
                upgrade: variant,
                frames: data,
            },
        };
        (step, after)
    }

    /// This step's bytes in the grammar.
    pub fn encode(&self) -> Vec<u8> {
        let flags = |eio: Eio, variant: bool| eio.bit() | if variant { VARIANT_BIT } else { 0 };
        let (kind, data) = match self {
            Step::Open { eio, b64 } => (flags(*eio, *b64), None),
            Step::Post { eio, binary, body } => (1 | flags(*eio, *binary), Some(body)),
            Step::Poll { eio, background } => (2 | flags(*eio, *background), None),
            Step::Raw {
                data,
                trickle,
                settle,
            } => (
                (3 + u8::from(*trickle)) | flags(Eio::V4, *settle),
                Some(data),
            ),
            Step::Hold(data) => (5, Some(data)),
            Step::WebSocket {
                eio,
                upgrade,
                frames,
            } => (6 | flags(*eio, *upgrade), Some(frames)),
            Step::Health => (7, None),
        };
        let mut out = vec![kind];
        if let Some(data) = data {
            push_data(&mut out, data);
        }
        out
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |eio: &Eio| eio.number();
        match self {
            Step::Open { eio, b64 } => write!(f, "OPEN v{} b64={b64}", v(eio)),
            Step::Post { eio, binary, body } => {
                write!(f, "POST v{} binary={binary} {}", v(eio), Shown(body))
            }
            Step::Poll { eio, background } => write!(f, "POLL v{} background={background}", v(eio)),
            Step::Raw {
                data,
                trickle,
                settle,
            } => {
                let kind = if *trickle { "TRICKLE" } else { "HEAD" };
                write!(f, "{kind} settle={settle} {}", Shown(data))
            }
            Step::Hold(data) => write!(f, "HOLD {}", Shown(data)),
            Step::WebSocket {
                eio,
                upgrade,
                frames,
            } => {
                write!(f, "WS v{} upgrade={upgrade} {}", v(eio), Shown(frames))
            }
            Step::Health => write!(f, "HEALTH"),
        }
    }
}

/// Bytes, escaped, at most 160 of them.
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(160)];
        write!(f, "{} bytes \"{}\"", self.0.len(), shown.escape_ascii())?;
        if shown.len() < self.0.len() {
            write!(f, "…")?;
        }
        Ok(())
    }
}

/// Runs `job` on `runtime` and waits for it on the calling thread; panics
/// naming `what` if it takes longer than `limit` (or resumes its panic).
/// The wait is the caller's own, so a runtime frozen by a task that never
/// yields cannot stop it.
pub fn finish_within<T: Send + 'static>(
    runtime: &Handle,
    limit: Duration,
    what: &str,
    job: impl Future<Output = T> + Send + 'static,
) -> T {
    let (done, outcome) = std::sync::mpsc::channel();
    let task = runtime.spawn(async move {
        let _ = done.send(job.await);
    });
    match outcome.recv_timeout(limit) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => {
            task.abort();
            panic!("hang: {what} did not finish within {limit:?}");
        }
        Err(RecvTimeoutError::Disconnected) => match runtime.block_on(task) {
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            _ => panic!("{what} ended without an outcome"),
        },
    }
}

/// The server on a runtime of its own, and a client runtime to play inputs
/// against it. One per process is enough: inputs share it, as clients share
/// a server.
pub struct Driver {
    server: Option<Runtime>,
    client: Option<Runtime>,
    connector: Connector,
    state: AppState,
    deadline: Duration,
    stop: Option<oneshot::Sender<()>>,
    /// Panics on the server's threads, and how many were reported.
    panics: Arc<AtomicUsize>,
    reported: usize,
}

impl Default for Driver {
    fn default() -> Self {
        Self::new()
    }
}

impl Driver {
    /// Starts the server with [`fuzz_config`]; steps get [`STEP_DEADLINE`].
    pub fn new() -> Self {
        Self::with_deadline(STEP_DEADLINE)
    }

    /// The same with another deadline per step.
    pub fn with_deadline(deadline: Duration) -> Self {
        let panics = Arc::new(AtomicUsize::new(0));
        let server = server_runtime(panics.clone());
        let (listener, connector) = pipes();
        let (stop, stopped) = oneshot::channel::<()>();
        let (state, _) = {
            let _inside = server.enter();
            let signal = async {
                let _ = stopped.await;
            };
            crate::start::spawn_on(listener, &fuzz_config(), signal)
                .expect("the fuzz configuration")
        };
        Driver {
            server: Some(server),
            client: Some(runtime("in-memory-client").build().expect("a runtime")),
            connector,
            state,
            deadline,
            stop: Some(stop),
            panics,
            reported: 0,
        }
    }

    /// The server's runtime.
    pub fn server(&self) -> &Handle {
        self.server.as_ref().expect("running").handle()
    }

    /// Opens connections to the server, as the steps do.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The server's state, to check what an input reached.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Plays `input` (see the module docs); panics on a missed deadline, a
    /// panic on a server thread since the last input, a `/healthz` that does
    /// not answer `200`, or a connection of the input that the server still
    /// holds at the deadline (every step reads until the server closes).
    pub fn run(&mut self, input: &[u8]) {
        let mut client = Client::new(self.connector.clone());
        for (i, step) in decode(input).into_iter().enumerate() {
            let what = format!("step {i} ({step})");
            client = self.within(&what, async move {
                client.play(step).await;
                client
            });
        }
        self.within("the background polls", client.finish());
        self.within(
            "GET /healthz after the input",
            health(self.connector.clone()),
        );
        let connector = self.connector.clone();
        self.within(
            "the server closing every connection of the input",
            async move { connector.all_closed().await },
        );
        let panics = self.panics.load(Ordering::SeqCst);
        let new = panics - std::mem::replace(&mut self.reported, panics);
        assert_eq!(new, 0, "a server thread panicked (see above)");
    }

    fn within<T: Send + 'static>(
        &self,
        what: &str,
        job: impl Future<Output = T> + Send + 'static,
    ) -> T {
        let client = self.client.as_ref().expect("running").handle();
        finish_within(client, self.deadline, what, job)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for runtime in [self.client.take(), self.server.take()]
            .into_iter()
            .flatten()
        {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

fn runtime(name: &str) -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1).thread_name(name).enable_all();
    builder
}

/// The server's runtime, whose threads count their panics in `panics`.
fn server_runtime(panics: Arc<AtomicUsize>) -> Runtime {
    count_panics();
    runtime(SERVER_THREAD)
        .on_thread_start(move || PANICS.with(|count| *count.borrow_mut() = Some(panics.clone())))
        .build()
        .expect("a runtime")
}

/// Installs, once, a panic hook that counts a panic on a server thread for
/// its driver, then calls the hook that was there (libFuzzer's aborts).
/// tokio catches a task's panic: without this a panicking handler would
/// pass unnoticed.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = PANICS.try_with(|count| {
                if let Some(count) = count.borrow().as_ref() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            });
            previous(info);
        }));
    });
}

/// What one input's client remembers between steps.
struct Client {
    connector: Connector,
    /// The sid per version (`Some("")`: the handshake got none).
    sids: [Option<String>; 2],
    background: Vec<JoinHandle<()>>,
    held: bool,
}

impl Client {
    fn new(connector: Connector) -> Self {
        Client {
            connector,
            sids: [None, None],
            background: Vec::new(),
            held: false,
        }
    }

    async fn play(&mut self, step: Step) {
        match step {
            Step::Open { eio, b64 } => drop(self.open(eio, b64).await),
            Step::Post { eio, binary, body } => self.post(eio, binary, &body).await,
            Step::Poll { eio, background } => self.poll(eio, background).await,
            Step::Raw {
                data,
                trickle,
                settle,
            } => send_and_close(&self.connector, data, trickle, settle).await,
            Step::Hold(data) if !self.held => {
                self.held = true;
                drop(exchange(&self.connector, &data).await);
            }
            Step::Hold(data) => send_and_close(&self.connector, data, false, false).await,
            Step::WebSocket {
                eio,
                upgrade,
                frames,
            } => {
                let sid = if upgrade {
                    Some(self.sid(eio).await)
                } else {
                    None
                };
                websocket(&self.connector, eio, sid, &frames).await;
            }
            Step::Health => health(self.connector.clone()).await,
        }
    }

    async fn open(&mut self, eio: Eio, b64: bool) -> String {
        let b64 = if b64 { "&b64=1" } else { "" };
        let path = format!("{ENDPOINT}?EIO={}&transport=polling{b64}", eio.number());
        let answer = exchange(&self.connector, &request("GET", &path, "", b"")).await;
        let sid = sid_in(&answer).unwrap_or_default();
        self.sids[usize::from(eio == Eio::V4)] = Some(sid.clone());
        sid
    }

    async fn sid(&mut self, eio: Eio) -> String {
        match &self.sids[usize::from(eio == Eio::V4)] {
            Some(sid) => sid.clone(),
            None => self.open(eio, false).await,
        }
    }

    async fn session_path(&mut self, eio: Eio) -> String {
        let sid = self.sid(eio).await;
        format!(
            "{ENDPOINT}?EIO={}&transport=polling&sid={sid}",
            eio.number()
        )
    }

    async fn post(&mut self, eio: Eio, binary: bool, body: &[u8]) {
        let path = self.session_path(eio).await;
        let kind = if binary {
            "application/octet-stream"
        } else {
            "text/plain;charset=UTF-8"
        };
        let extra = format!("Content-Type: {kind}\r\n");
        drop(exchange(&self.connector, &request("POST", &path, &extra, body)).await);
    }

    async fn poll(&mut self, eio: Eio, background: bool) {
        let get = request("GET", &self.session_path(eio).await, "", b"");
        if background {
            let connector = self.connector.clone();
            self.background.push(tokio::spawn(async move {
                drop(exchange(&connector, &get).await);
            }));
        } else {
            drop(exchange(&self.connector, &get).await);
        }
    }

    /// Waits for the background polls (a long-poll ends by the next ping).
    async fn finish(self) {
        for poll in self.background {
            if let Err(err) = poll.await {
                if err.is_panic() {
                    std::panic::resume_unwind(err.into_panic());
                }
            }
        }
    }
}

/// A request the driver writes itself.
fn request(method: &str, path: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let len = body.len();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Length: {len}\r\n{extra}\r\n"
    );
    [head.as_bytes(), body].concat()
}

/// The sid in a handshake's answer, if it has a plausible one.
fn sid_in(answer: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"sid\":\"";
    let at = answer.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = answer[at..].iter().position(|&b| b == b'"')?;
    let sid = std::str::from_utf8(&answer[at..at + len]).ok()?;
    let plausible = sid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| sid.to_owned())
}

/// `GET /healthz` must answer `200`.
async fn health(connector: Connector) {
    let answer = exchange(&connector, &request("GET", "/healthz", "", b"")).await;
    let status = answer.split(|&b| b == b'\r').next().unwrap_or_default();
    assert!(
        status.starts_with(b"HTTP/1.1 200"),
        "GET /healthz answered {:?}",
        status.escape_ascii().to_string()
    );
}

/// Writes `bytes` on a fresh connection, leaves it open, and reads until
/// the server closes it.
///
/// Every write here fits in the pipe (a step's data is at most
/// [`MAX_STEP_BYTES`], framed at most [`MAX_FRAMED_BYTES`]), so writing
/// first and reading after cannot wait on a server that waits on us.
async fn exchange(connector: &Connector, bytes: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = connector.connect() else {
        return Vec::new();
    };
    let _ = stream.write_all(bytes).await;
    read_all(&mut stream).await
}

/// Writes `bytes` on a fresh connection (one byte per write if `trickle`);
/// if `settle`, lets the server answer until it closes or goes quiet; ends
/// the stream, and reads until the server closes it.
async fn send_and_close(connector: &Connector, bytes: Vec<u8>, trickle: bool, settle: bool) {
    let Ok(mut stream) = connector.connect() else {
        return;
    };
    let piece = if trickle { 1 } else { bytes.len().max(1) };
    for piece in bytes.chunks(piece) {
        if stream.write_all(piece).await.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    if !(settle && until_quiet(&mut stream).await) {
        end_and_drain(stream).await;
    }
}

/// Reads until the server closes (`true`) or sends nothing for [`QUIET`].
/// Handlers run after a request or frame is read; ending the stream at once
/// would often close the connection before them.
async fn until_quiet(stream: &mut DuplexStream) -> bool {
    let mut chunk = [0u8; 4096];
    let mut total = 0;
    loop {
        match tokio::time::timeout(QUIET, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(n)) if n > 0 && total < MAX_ANSWER_BYTES => total += n as u64,
            Ok(_) => return true,
        }
    }
}

/// Ends the stream and reads until the server closes it.
async fn end_and_drain(mut stream: DuplexStream) {
    let _ = stream.shutdown().await;
    read_all(&mut stream).await;
}

async fn read_all(stream: &mut DuplexStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let _ = stream.take(MAX_ANSWER_BYTES).read_to_end(&mut answer).await;
    answer
}

/// A websocket handshake; once switched, `data`'s frames, time to answer
/// them ([`until_quiet`]), the end of the stream, and a read to the close.
async fn websocket(connector: &Connector, eio: Eio, sid: Option<String>, data: &[u8]) {
    let Ok(mut stream) = connector.connect() else {
        return;
    };
    let sid = sid.map(|sid| format!("&sid={sid}")).unwrap_or_default();
    let head = format!(
        "GET {ENDPOINT}?EIO={}&transport=websocket{sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        eio.number()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || !switched(&mut stream).await {
        return;
    }
    for (wire, settle) in client_frames(data) {
        if stream.write_all(&wire).await.is_err() {
            break;
        }
        if settle && until_quiet(&mut stream).await {
            return;
        }
    }
    if !until_quiet(&mut stream).await {
        end_and_drain(stream).await;
    }
}

/// Reads an answer's head: is it `101 Switching Protocols`?
async fn switched(stream: &mut DuplexStream) -> bool {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(n) if n > 0 && head.len() < 64 * 1024 => head.extend_from_slice(&chunk[..n]),
            _ => return false,
        }
    }
    head.starts_with(b"HTTP/1.1 101")
}

/// The masked client frames that `data` (see [`frames`]) describes, each
/// with whether to wait for the server after it.
fn client_frames(data: &[u8]) -> Vec<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&first, tail)) = rest.split_first() {
        let word = match tail {
            [high, low, ..] => u16::from_be_bytes([*high, *low]),
            _ => 0,
        };
        let body = &tail[tail.len().min(2)..];
        let (payload, next) = body.split_at(usize::from(word & !SETTLE_BIT).min(body.len()));
        let mut wire = vec![first];
        push_masked(&mut wire, payload);
        out.push((wire, word & SETTLE_BIT != 0));
        rest = next;
    }
    out
}

fn push_masked(out: &mut Vec<u8>, payload: &[u8]) {
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(data: &[u8]) -> Step {
        Step::Raw {
            data: data.to_vec(),
            trickle: false,
            settle: false,
        }
    }

    fn every_kind() -> Vec<Step> {
        vec![
            Step::Open {
                eio: Eio::V3,
                b64: true,
            },
            Step::Post {
                eio: Eio::V4,
                binary: false,
                body: b"40/iss,".to_vec(),
            },
            Step::Poll {
                eio: Eio::V3,
                background: true,
            },
            head(b"GET / HTTP/1.1\r\n\r\n"),
            Step::Raw {
                data: vec![0xff; 3],
                trickle: true,
                settle: true,
            },
            Step::Hold(Vec::new()),
            Step::WebSocket {
                eio: Eio::V4,
                upgrade: true,
                frames: frames(&[(0x81, b"2")]),
            },
            Step::Health,
        ]
    }

    #[test]
    fn steps_read_back_as_written() {
        let steps = every_kind();
        assert_eq!(decode(&encode(&steps)), steps);
    }

    #[test]
    fn inputs_are_bounded_in_steps_and_bytes() {
        let many = encode(&[every_kind(), every_kind()].concat());
        assert_eq!(decode(&many).len(), MAX_STEPS);
        let big = encode(&[head(&[b'a'; 60_000])]);
        assert_eq!(decode(&big), [head(&[b'a'; MAX_STEP_BYTES])]);
    }

    #[test]
    fn short_inputs_read_as_what_is_there() {
        assert_eq!(decode(b"\x03"), [head(b"")]);
        assert_eq!(decode(b"\x03\x00\x09ab"), [head(b"ab")]);
        assert_eq!(decode(b"\x0f"), [Step::Health]);
        assert!(decode(b"").is_empty());
    }

    #[test]
    fn client_frames_are_masked() {
        let wire = |data: &[u8]| -> Vec<u8> {
            client_frames(data)
                .into_iter()
                .flat_map(|(bytes, _)| bytes)
                .collect()
        };
        let masked: Vec<u8> = [b'4' ^ MASK[0], b'0' ^ MASK[1]].to_vec();
        let expected = [&[0x81, 0x82][..], &MASK, &masked, &[0x88, 0x80], &MASK].concat();
        assert_eq!(wire(&burst(&[(0x81, b"40"), (0x88, b"")])), expected);
        let empty = [0x81, 0, 0].repeat(MAX_STEP_BYTES / 3);
        assert!(wire(&empty).len() <= MAX_FRAMED_BYTES);
        let long = wire(&frames(&[(0x81, &[b'x'; 300])]));
        assert_eq!(&long[..4], &[0x81, 0x80 | 126, 0x01, 0x2c]);
    }

    #[test]
    fn frames_settle_unless_sent_in_a_burst() {
        let settles = |data: &[u8]| -> Vec<bool> {
            client_frames(data)
                .into_iter()
                .map(|(_, settle)| settle)
                .collect()
        };
        assert_eq!(
            settles(&frames(&[(0x81, b"40"), (0x81, b"")])),
            [true, true]
        );
        assert_eq!(
            settles(&burst(&[(0x81, b"40"), (0x81, b"")])),
            [false, false]
        );
        assert_eq!(settles(b"\x81\x80\x01x\x82"), [true, false]);
    }

    #[test]
    fn the_sid_is_read_from_both_generations() {
        let v4 = br#"HTTP/1.1 200 OK\r\n\r\n0{"sid":"ab-C_9","upgrades":[]}"#;
        assert_eq!(sid_in(v4).as_deref(), Some("ab-C_9"));
        let v3 = b"\x00\x09\x07\xff0{\"sid\":\"xyz\"}";
        assert_eq!(sid_in(v3).as_deref(), Some("xyz"));
        assert_eq!(sid_in(br#"{"sid":"a b"}"#), None);
        assert_eq!(sid_in(b"no sid"), None);
    }
}
