//! One benchmark client: the app's typed session driven by sio-client's tokio
//! shell (the same shell the fault generator uses), over a websocket opened
//! from a chosen source address, ending at the first lost connection.

use std::net::{IpAddr, SocketAddr};

use app_client::Identify;
use app_client::{ClientConfig, ConnectionState, Output, PresenceView, Session};
use shared::events::{IdentifyAck, ServerEvent};
use sio_client::native::{Connector, Shell};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
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
pub use sio_client::engineio::WEBSOCKET_PATH as SOCKET_PATH;

/// A typed session on one websocket; it does not reconnect.
pub struct Client {
    shell: Shell<Session, TcpStream>,
    /// Who is online, kept up to date from every presence message, as the page does.
    pub presence: PresenceView,
    /// The session's last warning, to explain an end.
    warning: Option<String>,
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
    /// A session on an open websocket: the shell's first connect hands it
    /// over, any later one fails (a benchmark client ends instead).
    pub fn new(ws: Ws, config: ClientConfig) -> Client {
        let mut ws = Some(ws);
        let connect: Connector<TcpStream> = Box::new(move || {
            let ws = ws.take();
            Box::pin(
                async move { ws.ok_or_else(|| "a benchmark client does not reconnect".to_owned()) },
            )
        });
        Client {
            shell: Shell::new(Session::new(config, 0), connect),
            presence: PresenceView::default(),
            warning: None,
        }
    }

    /// Connects to a Socket.IO server and waits for `connected`.
    pub async fn joined(addr: SocketAddr, source: Option<IpAddr>) -> Result<Client, String> {
        let ws = connect(addr, source, SOCKET_PATH).await?;
        let mut client = Client::new(ws, app_client::config());
        client
            .until(|output| {
                matches!(output, Output::Event(ServerEvent::Connected(_))).then_some(())
            })
            .await
            .map_err(ended)?;
        Ok(client)
    }

    /// Engine.IO pings received (heartbeats the server sent us).
    pub fn pings(&self) -> u64 {
        self.shell.pings
    }

    /// Drives the session, handing every output to `f`, until `f` returns a
    /// value; a lost connection ends the client.
    pub async fn until<T>(&mut self, mut f: impl FnMut(Output) -> Option<T>) -> Result<T, Ended> {
        loop {
            let output = self.shell.next().await.ok_or(Ended::Closed)?;
            match &output {
                Output::State(
                    ConnectionState::Reconnecting { .. } | ConnectionState::Offline { .. },
                ) => {
                    return Err(self.warning.take().map_or(Ended::Closed, Ended::Error));
                }
                Output::Event(ServerEvent::Presence(presence)) => {
                    self.presence.apply(presence);
                }
                Output::Warning(message) => self.warning = Some(message.clone()),
                _ => {}
            }
            if let Some(done) = f(output) {
                return Ok(done);
            }
        }
    }

    /// Drives the session until presence counts at least `n` users online.
    pub async fn until_online(&mut self, n: usize) -> Result<(), Ended> {
        while self.presence.len() < n {
            self.until(|_| Some(())).await?;
        }
        Ok(())
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
    pub async fn into_ws(self) -> Result<Ws, String> {
        self.shell
            .into_transport()
            .await
            .ok_or_else(|| "the connection was lost".to_owned())
    }

    /// Closes the websocket politely (a close frame), as a page that goes away.
    pub async fn hang_up(mut self) {
        self.shell.hang_up().await;
    }

    /// One identify with an ack, start to reply; an error ack is a failure.
    pub async fn identify(&mut self, identify: Identify) -> Result<(), String> {
        let now = self.shell.now_ms();
        let pending = self
            .shell
            .session
            .request(now, identify, ACK_TIMEOUT_MS)
            .map_err(|e| e.to_string())?;
        self.until(|output| match output {
            Output::Ack { id, result } if id == pending.id() => {
                Some(match pending.decode(&result) {
                    Ok(IdentifyAck::Ok(_)) => Ok(()),
                    other => Err(format!("identify failed: {other:?}")),
                })
            }
            _ => None,
        })
        .await
        .map_err(ended)?
    }
}

/// An [`Ended`] as the error text of a failed client.
pub fn ended(e: Ended) -> String {
    format!("{e:?}")
}
