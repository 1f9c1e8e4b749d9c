//! The cluster tests' world: a Redis process, server processes (nodes) on
//! it, and raw websocket clients that keep their own presence view. Every
//! process is started on a free loopback port and killed when dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_client::presence::Applied;
use app_client::PresenceView;
use futures_util::{SinkExt, StreamExt};
use shared::events::{
    ClientEvent, Connected, IdentifyAck, Presence, ResumeAuth, ResumeToken, ServerEvent, SessionId,
    WaveAck, Waved, PRESENCE_WINDOW,
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The longest any single wait in these tests may take.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Tests here start processes by the dozen: one at a time.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Sends a signal to a process (`kill -STOP`, …).
fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name}");
}

/// A Redis server on a free port, without persistence.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
}

impl Redis {
    pub async fn start() -> Redis {
        let mut redis = Redis {
            child: None,
            port: free_port(),
        };
        redis.spawn().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// (Re)starts the process on the same port, empty.
    pub async fn spawn(&mut self) {
        let binary = std::env::var("ISS_REDIS_SERVER").unwrap_or("/usr/bin/redis-server".into());
        let dir = std::env::temp_dir();
        let child = Command::new(&binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} ({e}): install redis-server (`cargo xtask setup`)")
            });
        self.child = Some(child);
        let started = Instant::now();
        while self.query(&["PING"]).await.is_err() {
            assert!(started.elapsed() < DEADLINE, "redis did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `SHUTDOWN NOSAVE`: Redis exits and forgets everything.
    pub async fn shutdown_nosave(&mut self) {
        let _ = self.query(&["SHUTDOWN", "NOSAVE"]).await;
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// One command on a fresh connection.
    pub async fn query(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut conn).await
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One server process in shared mode.
pub struct Node {
    child: Child,
    pub addr: SocketAddr,
}

impl Node {
    pub async fn start(redis: &Redis) -> Node {
        Node::start_with(Some(redis)).await
    }

    /// A single process: no Redis, everything in memory.
    pub async fn start_alone() -> Node {
        Node::start_with(None).await
    }

    async fn start_with(redis: Option<&Redis>) -> Node {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let shared = redis.map(|redis| ["--redis-url".to_owned(), redis.url()]);
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--bind", &addr.to_string()])
            .args(shared.iter().flatten())
            .args(["--log", "warn", "--shutdown-grace-secs", "2"])
            // Many clients from one address, renaming fast: the per-socket
            // and per-source limits have their own tests.
            .args(["--max-per-source", "0", "--renames-per-minute", "0"])
            .args(["--identify-rate", "0"])
            .args(["--dist", "/nonexistent"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the server binary");
        let node = Node { child, addr };
        let started = Instant::now();
        while node.health().await.as_deref() != Some("ok") {
            assert!(started.elapsed() < DEADLINE, "node did not become healthy");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node
    }

    /// The body of `/healthz`, trimmed (`None`: no answer).
    pub async fn health(&self) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(self.addr).await.ok()?;
        let head = format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        tcp.write_all(head.as_bytes()).await.ok()?;
        let mut body = String::new();
        tokio::time::timeout(Duration::from_secs(2), tcp.read_to_string(&mut body))
            .await
            .ok()?
            .ok()?;
        body.split("\r\n\r\n").nth(1).map(|b| b.trim().to_owned())
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn terminate(&mut self) {
        signal(&self.child, "TERM");
    }

    pub fn pause(&self) {
        signal(&self.child, "STOP");
    }

    pub fn resume(&self) {
        signal(&self.child, "CONT");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        self.kill9();
    }
}

/// What a client has seen so far.
#[derive(Debug, Default)]
pub struct Seen {
    pub connected: Option<Connected>,
    pub view: PresenceView,
    /// The last presence seq seen.
    pub seq: u64,
    /// Snapshots received (the first comes right after `connected`).
    pub snapshots: u64,
    /// Deltas that jumped over a seq.
    pub gaps: u64,
    pub acks: HashMap<u64, String>,
    /// Every `waved` received, in order.
    pub waves: Vec<Waved>,
    /// The server disconnected us (or the connection died).
    pub closed: bool,
}

/// A raw websocket Socket.IO client on `/iss` that keeps a presence view.
pub struct Client {
    pub seen: Arc<Mutex<Seen>>,
    out: mpsc::UnboundedSender<Message>,
    next_ack: u64,
    task: tokio::task::JoinHandle<()>,
}

impl Client {
    pub async fn join(node: &Node) -> Client {
        Client::join_with(node.addr, None).await
    }

    /// Joins with a resume token.
    pub async fn resume(node: &Node, token: &ResumeToken) -> Client {
        let auth = ResumeAuth {
            resume: Some(token.clone()),
        };
        Client::join_with(node.addr, Some(auth)).await
    }

    async fn join_with(addr: SocketAddr, auth: Option<ResumeAuth>) -> Client {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
            .await
            .expect("ws connect in time")
            .expect("ws connect");
        let (mut sink, mut stream) = ws.split();
        let auth = auth.map(|a| a.to_json().to_string()).unwrap_or_default();
        sink.send(Message::text(format!("40/iss,{auth}")))
            .await
            .unwrap();
        let (out, mut outbox) = mpsc::unbounded_channel::<Message>();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = seen.clone();
        let replies = out.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    frame = outbox.recv() => match frame {
                        Some(frame) => if sink.send(frame).await.is_err() { break },
                        None => break,
                    },
                    frame = stream.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            if text.as_str() == "2" {
                                let _ = replies.send(Message::text("3"));
                            } else {
                                read_frame(&state, text.as_str());
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
            }
            state.lock().unwrap().closed = true;
        });
        let client = Client {
            seen,
            out,
            next_ack: 0,
            task,
        };
        client
            .until("connected", |seen| seen.connected.is_some())
            .await;
        client
    }

    pub fn session(&self) -> SessionId {
        self.connected().uuid
    }

    pub fn token(&self) -> ResumeToken {
        self.connected().resume.expect("a resume token")
    }

    fn connected(&self) -> Connected {
        self.seen.lock().unwrap().connected.clone().unwrap()
    }

    /// Sends `identify` and waits for its ack.
    pub async fn identify(&mut self, name: &str) -> IdentifyAck {
        let event = ClientEvent::Identify { name: name.into() };
        IdentifyAck::from_args(&self.request(&event).await).expect("an identify ack")
    }

    /// Sends `wave` at `to` and waits for its ack.
    pub async fn wave(&mut self, to: &SessionId) -> WaveAck {
        let event = ClientEvent::Wave { to: to.clone() };
        WaveAck::from_args(&self.request(&event).await).expect("a wave ack")
    }

    /// Sends `event` with an ack and waits for the ack's arguments.
    async fn request(&mut self, event: &ClientEvent) -> Vec<serde_json::Value> {
        self.next_ack += 1;
        let id = self.next_ack;
        let frame = format!("42/iss,{id}{}", event.to_array());
        let _ = self.out.send(Message::text(frame));
        self.until("the ack", |seen| seen.acks.contains_key(&id))
            .await;
        let raw = self.seen.lock().unwrap().acks.remove(&id).unwrap();
        serde_json::from_str(&raw).unwrap()
    }

    /// Waits until `check` holds for what the client has seen.
    pub async fn until(&self, what: &str, check: impl Fn(&Seen) -> bool) {
        let started = Instant::now();
        loop {
            if check(&self.seen.lock().unwrap()) {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The presence this client holds: the window (id, name) and the total.
    pub fn presence(&self) -> (Vec<(SessionId, String)>, u64) {
        let seen = self.seen.lock().unwrap();
        let window = seen
            .view
            .first(PRESENCE_WINDOW)
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        (window, seen.view.len() as u64)
    }

    /// Closes the websocket (the server sees a disconnect).
    pub fn leave(self) {
        self.task.abort();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Handles one text frame from the server.
fn read_frame(seen: &Mutex<Seen>, text: &str) {
    let mut seen = seen.lock().unwrap();
    if text.starts_with("41/iss") {
        seen.closed = true;
    } else if let Some(ack) = text.strip_prefix("43/iss,") {
        let split = ack.find('[').unwrap_or(ack.len());
        if let Ok(id) = ack[..split].parse() {
            seen.acks.insert(id, ack[split..].to_owned());
        }
    } else if let Some(event) = text.strip_prefix("42/iss,") {
        let array: serde_json::Value = serde_json::from_str(event).unwrap();
        match ServerEvent::from_array(&array) {
            Ok(ServerEvent::Connected(Some(connected))) => seen.connected = Some(connected),
            Ok(ServerEvent::Waved(waved)) => seen.waves.push(waved),
            Ok(ServerEvent::Presence(presence)) => {
                if let Presence::Snapshot { .. } = &presence {
                    seen.snapshots += 1;
                }
                // As the page does: a snapshot sets the seq (after Redis came
                // back empty it may be lower than the numbers a node gave its
                // local changes meanwhile); a delta only moves it forward.
                seen.seq = match &presence {
                    Presence::Snapshot { seq, .. } => *seq,
                    Presence::Delta { seq, .. } => seen.seq.max(*seq),
                };
                if let Applied::Gap { .. } = seen.view.apply(&presence) {
                    seen.gaps += 1;
                }
            }
            _ => {}
        }
    }
}
