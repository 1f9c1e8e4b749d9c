//! One Socket.IO client on tokio: a websocket plus the shared sans-IO session.
//! Everything protocol-related is decided by [`Session`]; this only moves
//! frames and runs the one timer it asks for.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use shared::client::{ClientConfig, Output, PresenceView, Session};
use shared::engineio::EnginePacket;
use shared::events::{Ack, ClientEvent, IdentifyAck, ServerEvent};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

/// A websocket with small buffers: thousands of them share one process.
pub type Ws = WebSocketStream<TcpStream>;

/// Opens a websocket to `addr` from `source` (to spread ports over 127.0.0.x).
pub async fn connect(addr: SocketAddr, source: Option<IpAddr>, path: &str) -> Result<Ws, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let tcp = socket.connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let url = format!("ws://{addr}{path}");
    let (ws, _) = client_async_with_config(url, tcp, Some(config))
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// The Socket.IO path our client uses.
pub use shared::engineio::WEBSOCKET_PATH as SOCKET_PATH;

/// A session bound to one websocket, with a clock.
pub struct Client {
    pub session: Session,
    ws: Ws,
    epoch: Instant,
    /// Engine.IO pings received (heartbeats the server sent us).
    pub pings: u64,
    /// Who is online, kept up to date from every presence message, as the page does.
    pub presence: PresenceView,
}

/// How long one reply may take before the client counts as failed.
pub const ACK_TIMEOUT_MS: u64 = 10_000;

/// Why a client stopped.
#[derive(Debug)]
pub enum Ended {
    Closed,
    Error(String),
}

impl Client {
    pub fn new(ws: Ws, config: ClientConfig, epoch: Instant) -> Client {
        let now = epoch.elapsed().as_millis() as u64;
        let mut session = Session::new(config, now);
        // The websocket is already open: skip the session's first OpenTransport.
        while let Some(output) = session.poll_output() {
            if output == Output::OpenTransport {
                break;
            }
        }
        Client {
            session,
            ws,
            epoch,
            pings: 0,
            presence: PresenceView::default(),
        }
    }

    /// Connects to a Socket.IO server and waits for `connected`.
    pub async fn joined(addr: SocketAddr, source: Option<IpAddr>) -> Result<Client, String> {
        let epoch = Instant::now();
        let ws = connect(addr, source, SOCKET_PATH).await?;
        let mut client = Client::new(ws, shared::client::config(), epoch);
        client
            .until(|output| {
                matches!(output, Output::Event(ServerEvent::Connected(_))).then_some(())
            })
            .await
            .map_err(ended)?;
        Ok(client)
    }

    /// Drives the session, handing every output to `f`, until `f` returns a value.
    pub async fn until<T>(&mut self, mut f: impl FnMut(Output) -> Option<T>) -> Result<T, Ended> {
        loop {
            for output in self.flush().await? {
                if let Some(done) = f(output) {
                    return Ok(done);
                }
            }
            self.step().await?;
        }
    }

    /// Drives the session until presence counts at least `n` users online.
    pub async fn until_online(&mut self, n: usize) -> Result<(), Ended> {
        loop {
            self.flush().await?;
            if self.presence.len() >= n {
                return Ok(());
            }
            self.step().await?;
        }
    }

    /// Keeps the connection alive (pings, presence) until it ends: only
    /// returns on an error or a close, so race it against a deadline.
    pub async fn live(&mut self) -> Ended {
        match self.until(|_| None::<()>).await {
            Ok(()) => Ended::Closed,
            Err(ended) => ended,
        }
    }

    /// Keeps the connection alive (reading presence and pings as they come,
    /// so nothing piles up unread) until `signal` carries a value.
    pub async fn live_until<T: Copy>(
        &mut self,
        signal: &mut watch::Receiver<Option<T>>,
    ) -> Result<T, String> {
        loop {
            if let Some(value) = *signal.borrow() {
                return Ok(value);
            }
            tokio::select! {
                lost = self.live() => return Err(ended(lost)),
                changed = signal.changed() => changed.map_err(|_| "no start signal".to_owned())?,
            }
        }
    }

    /// Sends what the session still has queued (a pong, say) and gives up
    /// the websocket, for a caller that speaks raw frames from here on.
    pub async fn into_ws(mut self) -> Result<Ws, String> {
        self.flush().await.map_err(ended)?;
        Ok(self.ws)
    }

    /// Closes the websocket politely (a close frame), as a page that goes away.
    pub async fn hang_up(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// One identify with an ack, start to reply; an error ack is a failure.
    pub async fn identify(&mut self, identify: &ClientEvent) -> Result<(), String> {
        let now = self.now_ms();
        self.session
            .emit_with_ack(now, identify.clone(), ACK_TIMEOUT_MS)
            .map_err(|e| e.to_string())?;
        self.until(|output| match output {
            Output::Ack { result, .. } => Some(match result {
                Ok(Ack::Identify(IdentifyAck::Ok { .. })) => Ok(()),
                other => Err(format!("identify failed: {other:?}")),
            }),
            _ => None,
        })
        .await
        .map_err(ended)?
    }

    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Sends what the session queued and returns the other outputs, in order.
    pub async fn flush(&mut self) -> Result<Vec<Output>, Ended> {
        let mut delivered = Vec::new();
        let mut wrote = false;
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Send(frame) => {
                    self.ws
                        .feed(Message::text(frame))
                        .await
                        .map_err(|e| Ended::Error(e.to_string()))?;
                    wrote = true;
                }
                Output::CloseTransport | Output::OpenTransport => return Err(Ended::Closed),
                Output::Event(ServerEvent::Presence(presence)) => {
                    self.presence.apply(&presence);
                    delivered.push(Output::Event(ServerEvent::Presence(presence)));
                }
                other => delivered.push(other),
            }
        }
        if wrote {
            self.ws
                .flush()
                .await
                .map_err(|e| Ended::Error(e.to_string()))?;
        }
        Ok(delivered)
    }

    /// Waits for the next frame or the session's timer, feeds it in.
    pub async fn step(&mut self) -> Result<(), Ended> {
        let timeout = self
            .session
            .next_timeout()
            .map(|at| Duration::from_millis(at.saturating_sub(self.now_ms())))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            message = self.ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if matches!(EnginePacket::decode(&text), Ok(EnginePacket::Ping(_))) {
                        self.pings += 1;
                    }
                    let now = self.now_ms();
                    self.session.handle_text(now, &text);
                    Ok(())
                }
                Some(Ok(Message::Binary(_))) => {
                    self.session.handle_binary();
                    Ok(())
                }
                Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(Ended::Error(e.to_string())),
                None => Err(Ended::Closed),
            },
            _ = tokio::time::sleep(timeout) => {
                let now = self.now_ms();
                self.session.handle_timeout(now);
                Ok(())
            }
        }
    }
}

/// An [`Ended`] as the error text of a failed client.
pub fn ended(e: Ended) -> String {
    format!("{e:?}")
}
