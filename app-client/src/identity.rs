//! Who this client is, and keeping it that way across reconnects.
//!
//! The chosen name is remembered (the browser shell keeps it in
//! localStorage). Whenever the server says `connected` — a first connect, a
//! reconnect after a server restart, a page reload — the client identifies
//! again by itself, so nobody has to type their name twice.

use crate::session::{AckId, Pending, RawReply, Session};
use shared::events::{Identify, IdentifyAck, IdentifyOk, SessionId};

/// Timeout for identify acks sent on the client's behalf, in milliseconds.
pub const IDENTIFY_TIMEOUT_MS: u64 = 10_000;

/// What the page shows about "me".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Me {
    /// No name chosen yet.
    #[default]
    Anonymous,
    /// Sent, waiting for the server.
    Pending { name: String },
    /// The server accepted the name.
    Identified { name: String },
    /// The server refused; its words are in `message`.
    Refused { name: String, message: String },
}

/// The identity logic, sans IO: it says what to emit and what to show.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The name to (re)claim on every connect.
    remembered: Option<String>,
    /// The identify in flight, if any.
    in_flight: Option<(Pending<IdentifyAck>, String)>,
    me: Me,
    session: Option<SessionId>,
}

impl Identity {
    /// Starts with a name remembered from an earlier visit (shown as
    /// pending: it is claimed on the first `connected`).
    pub fn new(remembered: Option<String>) -> Self {
        let me = remembered
            .clone()
            .map_or(Me::Anonymous, |name| Me::Pending { name });
        Identity {
            remembered,
            me,
            ..Default::default()
        }
    }

    pub fn me(&self) -> &Me {
        &self.me
    }

    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    pub fn remembered(&self) -> Option<&str> {
        self.remembered.as_deref()
    }

    /// The person chose a name (already valid by the shared rules):
    /// remember it and identify through `session`.
    pub fn identify(&mut self, session: &mut Session, now_ms: u64, name: String) {
        self.remembered = Some(name.clone());
        self.send(session, now_ms, name);
    }

    /// The server said `connected`: remember the session and, if a name is
    /// remembered and none is on its way, identify again through `session`.
    pub fn connected(&mut self, session: &mut Session, now_ms: u64, id: Option<SessionId>) {
        self.session = id;
        if self.in_flight.is_some() {
            return;
        }
        if let Some(name) = self.remembered.clone() {
            self.send(session, now_ms, name);
        }
    }

    /// An ack arrived from `session`; true if it answered our identify
    /// (then [`Identity::me`] changed).
    pub fn on_session_ack(&mut self, id: AckId, result: &RawReply) -> bool {
        let Some((pending, name)) = self.in_flight.take_if(|(pending, _)| pending.id() == id)
        else {
            return false;
        };
        self.me = match pending.decode(result) {
            Ok(IdentifyAck::Ok(IdentifyOk { username, .. })) => Me::Identified { name: username },
            Ok(IdentifyAck::Err(err)) => Me::Refused {
                name,
                message: err.message,
            },
            // Lost, timed out or unreadable: the next `connected` identifies again.
            Err(_) => Me::Pending { name },
        };
        true
    }

    /// Emits the identify for `name` with an ack; a refused emit shows why.
    fn send(&mut self, session: &mut Session, now_ms: u64, name: String) {
        self.me = Me::Pending { name: name.clone() };
        let request = Identify { name: name.clone() };
        match session.request(now_ms, request, IDENTIFY_TIMEOUT_MS) {
            Ok(pending) => self.in_flight = Some((pending, name)),
            Err(err) => {
                self.me = Me::Refused {
                    name,
                    message: err.to_string(),
                }
            }
        }
    }

    /// The connection dropped: whatever was in flight will be redone on reconnect.
    pub fn on_disconnected(&mut self) {
        self.in_flight = None;
        self.session = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Output;
    use crate::Driven;
    use shared::events::ProtocolCode;
    use shared::events::{ErrorCode, Refusal};
    use sio_client::RawJson;

    /// A session joined to `/iss` (node's handshake), its outputs drained.
    fn joined() -> Session {
        let mut session = Session::new(crate::config(), 0);
        session.handle_text(
            0,
            r#"0{"sid":"e","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        );
        session.handle_text(0, r#"40/iss,{"sid":"n"}"#);
        while session.poll_output().is_some() {}
        session
    }

    /// The identify frames the session was asked to send.
    fn identifies(session: &mut Session) -> Vec<String> {
        std::iter::from_fn(|| session.poll_output())
            .filter_map(|out| match out {
                Output::Send(frame) if frame.contains("identify") => Some(frame),
                _ => None,
            })
            .collect()
    }

    /// A reply as the session hands it over: its raw arguments.
    fn reply(ack: &IdentifyAck) -> RawReply {
        Ok(ack
            .to_args()
            .iter()
            .map(|arg| RawJson::from_serialize(arg).expect("JSON"))
            .collect())
    }

    fn ok(name: &str) -> RawReply {
        reply(&IdentifyAck::Ok(IdentifyOk {
            uuid: SessionId("s1".into()),
            username: name.into(),
        }))
    }

    #[test]
    fn remembered_name_is_claimed_on_every_connect() {
        let mut session = joined();
        let mut identity = Identity::new(Some("Ada".into()));
        identity.connected(&mut session, 0, Some(SessionId("s1".into())));
        assert_eq!(identities_sent(&mut session), 1);
        // A second `connected` while the first identify is in flight sends nothing.
        identity.connected(&mut session, 0, None);
        assert_eq!(identities_sent(&mut session), 0);
        assert!(identity.on_session_ack(AckId(0), &ok("Ada")));
        assert_eq!(identity.me(), &Me::Identified { name: "Ada".into() });
        identity.on_disconnected();
        identity.connected(&mut session, 0, Some(SessionId("s2".into())));
        assert_eq!(identities_sent(&mut session), 1);
    }

    fn identities_sent(session: &mut Session) -> usize {
        identifies(session).len()
    }

    #[test]
    fn no_name_no_identify() {
        let mut session = joined();
        let mut identity = Identity::new(None);
        identity.connected(&mut session, 0, None);
        assert_eq!(identities_sent(&mut session), 0);
        assert_eq!(identity.me(), &Me::Anonymous);
    }

    #[test]
    fn refusal_shows_the_server_words_and_other_acks_are_ignored() {
        let mut session = joined();
        let mut identity = Identity::new(None);
        identity.identify(&mut session, 0, "Mallory".into());
        assert_eq!(
            identifies(&mut session),
            [r#"42/iss,0["identify","Mallory"]"#]
        );
        assert_eq!(
            identity.me(),
            &Me::Pending {
                name: "Mallory".into()
            }
        );
        assert!(!identity.on_session_ack(AckId(7), &Err(sio_client::AckError::Timeout)));
        let refused = reply(&IdentifyAck::Err(Refusal {
            code: ErrorCode::Protocol(ProtocolCode::RateLimited),
            message: "Slow down.".into(),
        }));
        assert!(identity.on_session_ack(AckId(0), &refused));
        assert_eq!(
            identity.me(),
            &Me::Refused {
                name: "Mallory".into(),
                message: "Slow down.".into()
            }
        );
    }

    #[test]
    fn an_emit_the_session_refuses_shows_why() {
        let mut session = joined();
        session.close();
        let mut identity = Identity::new(None);
        identity.identify(&mut session, 0, "Ada".into());
        assert!(matches!(identity.me(), Me::Refused { message, .. } if message.contains("closed")));
    }
}
