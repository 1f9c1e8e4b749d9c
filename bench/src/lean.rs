//! The measuring loop of S1: identify-with-ack in raw frames.
//!
//! Why it exists: the full sans-IO [`app_client::Session`] (serde events,
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
use shared::events::{ClientEventKind, NAMESPACE};
use tokio_tungstenite::tungstenite::Message;

use crate::shell::Ws;

/// One client's websocket, past the handshake, sending identify in raw frames.
pub struct Lean {
    ws: Ws,
    /// `42/iss,`: an EVENT in our namespace; the ack id follows.
    event_prefix: String,
    /// `43/iss,`: an ACK in our namespace; the ack id follows.
    ack_prefix: String,
    /// `["identify","bench7"]`; with renames, also `["identify","bench7b"]`,
    /// sent in turn.
    args: Vec<String>,
    next_id: u64,
}

/// What the server sent, as far as this loop cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// An Engine.IO ping: answer with [`Lean::pong`].
    Ping,
    /// The ack of the identify with this id; `ok` is its `"ok"` field.
    Ack { id: u64, ok: bool },
    /// Anything else (presence, other events): skipped.
    Other,
}

/// The part of an identify ack this loop checks.
#[derive(Deserialize)]
struct Okay {
    ok: bool,
}

impl Lean {
    /// Takes over `ws` (joined to the namespace) to identify as `name`.
    pub fn new(ws: Ws, name: &str) -> Lean {
        Lean::cycling(ws, &[name.to_owned()])
    }

    /// Identifies as each of `names` in turn: every identify after the
    /// first is a rename (what presence, and in shared mode Redis, carries).
    pub fn renaming(ws: Ws, name: &str) -> Lean {
        Lean::cycling(ws, &[format!("{name}b"), name.to_owned()])
    }

    fn cycling(ws: Ws, names: &[String]) -> Lean {
        let args = names
            .iter()
            .map(|name| {
                serde_json::to_string(&(ClientEventKind::Identify.name(), name))
                    .expect("strings serialise")
            })
            .collect();
        Lean {
            ws,
            event_prefix: format!("42{NAMESPACE},"),
            ack_prefix: format!("43{NAMESPACE},"),
            args,
            // Above any id the session used for its own acks.
            next_id: 1_000,
        }
    }

    /// Sends one identify asking for an ack; returns its ack id.
    pub async fn send(&mut self) -> Result<u64, String> {
        let id = self.next_id;
        self.next_id += 1;
        let args = &self.args[id as usize % self.args.len()];
        let frame = format!("{}{id}{args}", self.event_prefix);
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|e| e.to_string())?;
        Ok(id)
    }

    /// The next frame, classified. Cancel-safe: it only reads, so it can be
    /// raced against a timer.
    pub async fn recv(&mut self) -> Result<Incoming, String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(classify(&self.ack_prefix, &text)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("the server closed the connection".into()),
            }
        }
    }

    /// Answers a ping.
    pub async fn pong(&mut self) -> Result<(), String> {
        self.ws
            .send(Message::text("3"))
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends one identify with an ack and waits for its reply, answering
    /// pings and skipping anything else (presence) meanwhile. An ack without
    /// `"ok": true` is a failure.
    pub async fn identify(&mut self) -> Result<(), String> {
        let sent = self.send().await?;
        loop {
            match self.recv().await? {
                Incoming::Ping => self.pong().await?,
                Incoming::Ack { id, ok } if id == sent => {
                    return ok
                        .then_some(())
                        .ok_or_else(|| format!("identify {id} refused"));
                }
                Incoming::Ack { .. } | Incoming::Other => {}
            }
        }
    }
}

/// Reads one text frame: a ping, an ack in our namespace (`43/iss,<id>[…]`),
/// or something to skip.
fn classify(ack_prefix: &str, text: &str) -> Incoming {
    if text == "2" {
        return Incoming::Ping;
    }
    let Some(rest) = text.strip_prefix(ack_prefix) else {
        return Incoming::Other;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(id) = rest[..digits].parse() else {
        return Incoming::Other;
    };
    let ok = matches!(
        serde_json::from_str::<(Okay,)>(&rest[digits..]),
        Ok((Okay { ok: true },))
    );
    Incoming::Ack { id, ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_classified_as_the_peers_send_them() {
        let p = "43/iss,";
        assert_eq!(classify(p, "2"), Incoming::Ping);
        // socketioxide and node (compact JSON), Flask (with spaces).
        let ours = r#"43/iss,1000[{"ok":true,"uuid":"u","username":"bench1"}]"#;
        assert_eq!(classify(p, ours), Incoming::Ack { id: 1000, ok: true });
        let flask = r#"43/iss,7[{"ok": true, "uuid": "u", "username": "b"}]"#;
        assert_eq!(classify(p, flask), Incoming::Ack { id: 7, ok: true });
        let refused = r#"43/iss,8[{"ok":false,"code":"rate_limited","error":"…"}]"#;
        assert_eq!(classify(p, refused), Incoming::Ack { id: 8, ok: false });
        assert_eq!(
            classify(p, r#"43/iss,9garbage"#),
            Incoming::Ack { id: 9, ok: false }
        );
        assert_eq!(classify(p, r#"42/iss,["presence",{}]"#), Incoming::Other);
        assert_eq!(classify(p, r#"43/other,1[{"ok":true}]"#), Incoming::Other);
        assert_eq!(classify(p, "3"), Incoming::Other);
    }
}
