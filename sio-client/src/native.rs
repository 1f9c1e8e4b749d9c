//! The tokio shell (feature `tokio`): one websocket at a time, reconnecting
//! whenever the session asks, and the one timer the session wants.
//!
//! How to open a websocket is the caller's: a [`Connector`] (plain TCP, TLS,
//! a fixed source address…). The shell only moves frames and time.
//!
//! ```no_run
//! # async fn demo() {
//! use sio_client::native::{Connector, Shell};
//! use sio_client::{ClientConfig, Output, RawJson, Session};
//!
//! let connect: Connector<_> = Box::new(|| {
//!     Box::pin(async {
//!         let url = "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket";
//!         let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
//!         Ok(ws)
//!     })
//! });
//! let mut shell = Shell::new(Session::new(ClientConfig::new("/chat"), 0), connect);
//! shell.session.emit("hello", vec![RawJson::string("world")]).unwrap();
//! while let Some(output) = shell.next().await {
//!     if let Output::Event(event) = output {
//!         println!("{} {:?}", event.name, event.args);
//!     }
//! }
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::driven::{Driven, Io};
use crate::session::Output;

/// Opens one websocket to the server; called for every (re)connect.
pub type Connector<T> = Box<
    dyn FnMut() -> Pin<Box<dyn Future<Output = Result<WebSocketStream<T>, String>> + Send>> + Send,
>;

/// A session driven on tokio; see the module docs.
pub struct Shell<S: Driven, T> {
    /// The session, for emits and state; [`Shell::next`] drives it.
    pub session: S,
    ws: Option<WebSocketStream<T>>,
    connect: Connector<T>,
    epoch: Instant,
    /// Engine.IO pings received (heartbeats the server sent).
    pub pings: u64,
}

impl<S: Driven, T: AsyncRead + AsyncWrite + Unpin> Shell<S, T> {
    /// Drives `session` (created at time 0 of this shell's clock).
    pub fn new(session: S, connect: Connector<T>) -> Self {
        Shell {
            session,
            ws: None,
            connect,
            epoch: Instant::now(),
            pings: 0,
        }
    }

    /// Milliseconds since the shell was made: the session's clock.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a websocket is open now.
    pub fn has_transport(&self) -> bool {
        self.ws.is_some()
    }

    /// Carries out the session's transport work, waiting for frames and
    /// timers as needed, until it has an output for the application.
    /// `None` once the session has stopped for good.
    pub async fn next(&mut self) -> Option<Output<S::Event, S::Reply>> {
        loop {
            if let Some(output) = self.carry_out().await {
                return Some(output);
            }
            if self.ws.is_none() && self.session.next_timeout().is_none() {
                return None;
            }
            self.wait().await;
        }
    }

    /// Closes the websocket politely (a close frame), as a page that goes away.
    pub async fn hang_up(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.close(None).await;
        }
    }

    /// Sends what the session has queued and gives up the websocket, for a
    /// caller that speaks raw frames from here on.
    pub async fn into_transport(mut self) -> Option<WebSocketStream<T>> {
        let _ = self.carry_out().await;
        self.ws
    }

    /// Does the session's I/O until it yields something else (returned) or
    /// nothing more; writes are flushed before returning either way.
    async fn carry_out(&mut self) -> Option<Output<S::Event, S::Reply>> {
        let mut delivered = None;
        let mut written = false;
        while let Some(output) = self.session.poll_output() {
            match output.into_io() {
                Ok(Io::Open) => self.open().await,
                Ok(Io::Send(frame)) => written |= self.feed(frame).await,
                Ok(Io::Close) => self.ws = None,
                Err(output) => {
                    delivered = Some(output);
                    break;
                }
            }
        }
        if written {
            if let Some(ws) = self.ws.as_mut() {
                if ws.flush().await.is_err() {
                    self.lost();
                }
            }
        }
        delivered
    }

    async fn open(&mut self) {
        self.ws = (self.connect)().await.ok();
        if self.ws.is_none() {
            self.lost();
        }
    }

    /// Queues a frame; true if it was queued on a live websocket.
    async fn feed(&mut self, frame: String) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        if ws.feed(Message::text(frame)).await.is_ok() {
            return true;
        }
        self.lost();
        false
    }

    fn lost(&mut self) {
        self.ws = None;
        let now = self.now_ms();
        self.session.handle_transport_closed(now);
    }

    /// Waits for the next frame or the session's timer, and feeds it in.
    async fn wait(&mut self) {
        let wait = self
            .session
            .next_timeout()
            .map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(at.saturating_sub(self.now_ms()))
            });
        tokio::select! {
            message = next_message(&mut self.ws) => match message {
                Some(Message::Text(text)) => {
                    // An Engine.IO v4 ping is the frame "2" plus optional data.
                    if text.as_bytes().first() == Some(&b'2') {
                        self.pings += 1;
                    }
                    let now = self.now_ms();
                    self.session.handle_text(now, &text);
                }
                Some(Message::Binary(_)) => self.session.handle_binary(),
                Some(_) => {}
                None => self.lost(),
            },
            () = tokio::time::sleep(wait) => {
                let now = self.now_ms();
                self.session.handle_timeout(now);
            }
        }
    }
}

/// The next message of the websocket, if there is one; never returns while
/// there is no websocket (the timer wins).
async fn next_message<T: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut Option<WebSocketStream<T>>,
) -> Option<Message> {
    match ws {
        Some(ws) => match ws.next().await {
            Some(Ok(message)) => Some(message),
            _ => None,
        },
        None => std::future::pending().await,
    }
}
