//! The measuring loop of S1: identify-with-ack in raw frames.
//!
//! Why it exists: the full sans-IO [`shared::client::Session`] (serde events,
//! a timer per step, an output queue) costs the generator about twice the
//! CPU per ack that a lean client does. With the generator on one core and
//! the server on the other, S1 then measured the *generator* (both cores
//! saturated at ≈ 44k acks/s) and squeezed every contender's ratio towards
//! one. So a client connects, joins and identifies through the real `Session`
//! (the page's code), then hands its websocket to this loop, which does what
//! the echo client does plus the minimum Socket.IO needs: a pre-encoded
//! frame with a fresh ack id, the ack found by its prefix and its `ok`
//! checked, Engine.IO pings answered.

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use shared::events::{wire, NAMESPACE};
use tokio_tungstenite::tungstenite::Message;

use crate::shell::Ws;

/// One client's websocket, past the handshake, sending identify in a loop.
pub struct Lean {
    ws: Ws,
    /// `42/iss,`: an EVENT in our namespace; the ack id follows.
    event_prefix: String,
    /// `["identify","bench7"]`.
    args: String,
    next_id: u64,
}

/// The part of an identify ack this loop checks.
#[derive(Deserialize)]
struct Okay {
    ok: bool,
}

impl Lean {
    /// Takes over `ws` (joined to the namespace) to identify as `name`.
    pub fn new(ws: Ws, name: &str) -> Lean {
        let args = serde_json::to_string(&(wire::IDENTIFY, name)).expect("strings serialise");
        Lean {
            ws,
            event_prefix: format!("42{NAMESPACE},"),
            args,
            // Above any id the session used for its own acks.
            next_id: 1_000,
        }
    }

    /// Sends one identify with an ack and waits for its reply, answering
    /// pings and skipping anything else (presence) meanwhile. An ack without
    /// `"ok": true` is a failure.
    pub async fn identify(&mut self) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = format!("{}{id}{}", self.event_prefix, self.args);
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|e| e.to_string())?;
        let ack_prefix = format!("43{NAMESPACE},{id}[");
        loop {
            let text = match self.ws.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("the server closed the connection".into()),
            };
            if text.as_str() == "2" {
                self.ws
                    .send(Message::text("3"))
                    .await
                    .map_err(|e| e.to_string())?;
            } else if let Some(rest) = text.strip_prefix(ack_prefix.as_str()) {
                let json = format!("[{rest}");
                return match serde_json::from_str::<(Okay,)>(&json) {
                    Ok((Okay { ok: true },)) => Ok(()),
                    _ => Err(format!("identify failed: {text}")),
                };
            }
        }
    }
}
