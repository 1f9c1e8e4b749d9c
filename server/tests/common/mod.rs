//! Test support: start the server in-process, talk to it with a real
//! third-party Socket.IO client (rust_socketio), and wait on conditions with
//! deadlines (never sleeps as synchronisation).

#![allow(dead_code)] // each test file uses a different part of this module

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;
use shared::events::{
    ClientEventKind, Presence, PresenceChange, ServerEvent, SessionId, NAMESPACE,
};
use tokio::sync::{mpsc, oneshot};

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Starts the server on an ephemeral loopback port, with no frontend build.
pub async fn start_server() -> server::Server {
    start_with(|_| {}).await
}

/// Same, with a chance to adjust the configuration first.
pub async fn start_with(adjust: impl FnOnce(&mut server::Config)) -> server::Server {
    let mut config = server::Config::defaults();
    config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.dist = std::env::temp_dir().join("iss-no-such-dist");
    adjust(&mut config);
    server::start(&config).await.expect("server starts")
}

/// Awaits `future`, failing the test with `what` after [`DEADLINE`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Polls `check` every 10 ms until it holds, failing after [`DEADLINE`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    within(what, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// Asks until the answer has HTTP status `want` (every 20 ms, up to
/// [`DEADLINE`]) and returns the last answer, for the caller to assert on.
/// For what the server decides when it accepts a connection, which a busy
/// machine may not have done yet when the test asks.
pub async fn until_status<F>(want: u16, mut ask: impl FnMut() -> F) -> (u16, String)
where
    F: Future<Output = (u16, String)>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let answer = ask().await;
        if answer.0 == want || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A rust_socketio client on `/iss`, with every server event forwarded to a channel.
pub struct SioClient {
    pub client: Client,
    pub session: SessionId,
    events: mpsc::UnboundedReceiver<ServerEvent>,
    /// Who this client believes is online, from the presence it received.
    pub online: std::collections::BTreeMap<SessionId, String>,
}

impl SioClient {
    /// Connects over websocket and waits for `connected`.
    pub async fn connect(addr: SocketAddr) -> SioClient {
        Self::connect_with(addr, TransportType::Websocket).await
    }

    /// Connects with the given transport and waits for `connected`.
    pub async fn connect_with(addr: SocketAddr, transport: TransportType) -> SioClient {
        let (tx, mut events) = mpsc::unbounded_channel();
        let client = ClientBuilder::new(format!("http://{addr}"))
            .namespace(NAMESPACE)
            .transport_type(transport)
            .reconnect(false)
            .on_any(move |event: Event, payload: Payload, _client: Client| {
                let tx = tx.clone();
                async move {
                    if let (Event::Custom(name), Payload::Text(args)) = (event, payload) {
                        let decoded = ServerEvent::from_parts(&name, &args)
                            .unwrap_or_else(|e| panic!("server sent an undecodable {name}: {e}"));
                        let _ = tx.send(decoded);
                    }
                }
                .boxed()
            })
            .connect()
            .await
            .expect("rust_socketio connects");
        let session = match within("the connected event", events.recv()).await {
            Some(ServerEvent::Connected(Some(c))) => c.uuid,
            Some(other) => panic!("expected `connected` first, got {other:?}"),
            None => panic!("event channel closed before `connected`"),
        };
        SioClient {
            client,
            session,
            events,
            online: Default::default(),
        }
    }

    /// Emits `identify` with raw arguments, no ack asked.
    pub async fn identify_no_ack(&self, args: Vec<Value>) {
        self.client
            .emit(ClientEventKind::Identify.name(), Payload::Text(args))
            .await
            .expect("emit identify");
    }

    /// Emits `identify` with raw arguments and returns the ack's arguments.
    pub async fn identify_ack(&self, args: Vec<Value>) -> Vec<Value> {
        let (tx, rx) = oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        self.client
            .emit_with_ack(
                ClientEventKind::Identify.name(),
                Payload::Text(args),
                DEADLINE,
                move |payload: Payload, _client: Client| {
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(payload);
                    }
                    async {}.boxed()
                },
            )
            .await
            .expect("emit identify with ack");
        match within("the identify ack", rx)
            .await
            .expect("ack callback ran")
        {
            // rust_socketio wraps ack arguments in one more array.
            Payload::Text(mut outer) if outer.len() == 1 && outer[0].is_array() => {
                match outer.remove(0) {
                    Value::Array(args) => args,
                    _ => unreachable!(),
                }
            }
            Payload::Text(args) => args,
            other => panic!("unexpected ack payload {other:?}"),
        }
    }

    /// Receives presence until `check(online)` holds; returns every change seen.
    pub async fn presence_until(
        &mut self,
        what: &str,
        check: impl Fn(&std::collections::BTreeMap<SessionId, String>) -> bool,
    ) -> Vec<Presence> {
        let mut seen = Vec::new();
        within(what, async {
            while !check(&self.online) {
                match self.events.recv().await {
                    Some(ServerEvent::Presence(p)) => {
                        apply(&mut self.online, &p);
                        seen.push(p);
                    }
                    Some(other) => panic!("unexpected event {other:?}"),
                    None => panic!("connection closed while waiting for {what}"),
                }
            }
        })
        .await;
        seen
    }

    pub async fn disconnect(self) {
        self.client.disconnect().await.expect("disconnect");
    }
}

/// Applies a presence message to a map, the way a client must.
pub fn apply(online: &mut std::collections::BTreeMap<SessionId, String>, presence: &Presence) {
    match presence {
        Presence::Snapshot { users, .. } => {
            online.clear();
            for user in users {
                online.insert(user.id.clone(), user.name.clone());
            }
        }
        Presence::Delta { changes, .. } => {
            for change in changes {
                match change {
                    PresenceChange::Joined { id, name, .. }
                    | PresenceChange::Renamed { id, name, .. } => {
                        online.insert(id.clone(), name.clone());
                    }
                    PresenceChange::Left { id } => {
                        online.remove(id);
                    }
                }
            }
        }
    }
}

/// A minimal HTTP/1.1 request over a raw socket: returns (status, headers+body text).
pub async fn http(addr: SocketAddr, request_head: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within("an HTTP response", async {
        let mut tcp = tokio::net::TcpStream::connect(addr)
            .await
            .expect("tcp connect");
        tcp.write_all(request_head.as_bytes())
            .await
            .expect("write request");
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.expect("read response");
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        (status, text)
    })
    .await
}

/// `GET path` with `Connection: close` and optional extra header lines.
pub async fn get(addr: SocketAddr, path: &str, extra_headers: &str) -> (u16, String) {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n"),
    )
    .await
}

/// Ends the test process with a message unless dropped within `limit`: for
/// a test whose failure mode is a task that spins without yielding, which
/// no `within` can interrupt (it freezes the runtime the test runs on).
pub struct Watchdog(std::sync::mpsc::Sender<()>);

impl Watchdog {
    pub fn arm(what: &'static str, limit: Duration) -> Watchdog {
        let (disarm, disarmed) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(limit) {
                // Straight to stderr: the test harness captures `eprintln!`,
                // and what it captured is lost when the process exits.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "watchdog: {what} did not finish within {limit:?}: a hang"
                );
                std::process::abort();
            }
        });
        Watchdog(disarm)
    }
}
