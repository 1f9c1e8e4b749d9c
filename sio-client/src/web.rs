//! The browser websocket (feature `web`), as thin as it can be: open one,
//! forward its frames, report when it ends. Everything it carries is
//! interpreted by a sans-IO [`crate::Session`] (or a typed layer on it); the
//! page's driver feeds each [`TransportEvent`] in and sends what it asks.
//!
//! Status: the transport is here; the driver around it (outputs pumped, one
//! timer armed) still lives in the application's page and moves here next.

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use wasm_bindgen_futures::spawn_local;

/// What a transport tells its owner.
pub enum TransportEvent {
    Text(String),
    Binary,
    Closed,
}

/// One open (or opening) websocket. Dropping it closes the socket and stops
/// its tasks; frames from a dropped transport are never delivered.
pub struct Transport {
    outgoing: mpsc::UnboundedSender<Message>,
    /// Dropped with the transport: ends the reader task, which releases the socket.
    _cancel: oneshot::Sender<()>,
}

impl Transport {
    /// Opens `url` and calls `on_event` for each frame and once when it ends.
    pub fn open(url: &str, on_event: impl Fn(TransportEvent) + 'static) -> Transport {
        let (outgoing, mut queue) = mpsc::unbounded::<Message>();
        let (cancel, cancelled) = oneshot::channel::<()>();
        match WebSocket::open(url) {
            Ok(ws) => {
                let (mut write, read) = ws.split();
                spawn_local(async move {
                    while let Some(message) = queue.next().await {
                        if write.send(message).await.is_err() {
                            break;
                        }
                    }
                    // Dropping the write half (and with it the socket) closes it.
                });
                spawn_local(async move {
                    let mut read = read.take_until(cancelled);
                    while let Some(Ok(message)) = read.next().await {
                        match message {
                            Message::Text(text) => on_event(TransportEvent::Text(text)),
                            Message::Bytes(_) => on_event(TransportEvent::Binary),
                        }
                    }
                    // Closed by the server or the network, not by our owner.
                    if !read.is_stopped() {
                        on_event(TransportEvent::Closed);
                    }
                });
            }
            Err(err) => {
                web_sys::console::warn_1(&format!("cannot open {url}: {err}").into());
                spawn_local(async move { on_event(TransportEvent::Closed) });
            }
        }
        Transport {
            outgoing,
            _cancel: cancel,
        }
    }

    /// Queues a text frame (sent once the socket is open).
    pub fn send(&self, frame: String) {
        let _ = self.outgoing.unbounded_send(Message::Text(frame));
    }
}
