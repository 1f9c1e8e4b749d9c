//! Who this client is, and keeping it that way across reconnects.
//!
//! The chosen name is remembered (the browser shell keeps it in
//! localStorage). Whenever the server says `connected` — a first connect, a
//! reconnect after a server restart, a page reload — the client identifies
//! again by itself, so nobody has to type their name twice.

use crate::client::session::AckId;
use crate::events::{ClientEvent, IdentifyAck, SessionId};

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
    in_flight: Option<(AckId, String)>,
    me: Me,
    session: Option<SessionId>,
}

impl Identity {
    /// Starts with a name remembered from an earlier visit.
    pub fn new(remembered: Option<String>) -> Self {
        Identity {
            remembered,
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

    /// The person chose a name (already valid by the shared rules): the event
    /// to emit with an ack. The caller passes back the ack id with [`Identity::sent`].
    pub fn choose(&mut self, name: String) -> ClientEvent {
        self.remembered = Some(name.clone());
        self.me = Me::Pending { name: name.clone() };
        ClientEvent::Identify { name }
    }

    /// Records the ack id of the identify just emitted for `name`.
    pub fn sent(&mut self, id: AckId, name: String) {
        self.in_flight = Some((id, name));
    }

    /// The server said `connected`: remember the session and, if a name is
    /// remembered and none is on its way, the identify to emit.
    pub fn on_connected(&mut self, session: Option<SessionId>) -> Option<ClientEvent> {
        self.session = session;
        if self.in_flight.is_some() {
            return None;
        }
        let name = self.remembered.clone()?;
        Some(self.choose(name))
    }

    /// An ack arrived (or failed). Returns true if it was ours.
    pub fn on_ack(&mut self, id: AckId, result: Result<&IdentifyAck, String>) -> bool {
        match &self.in_flight {
            Some((pending, _)) if *pending == id => {}
            _ => return false,
        }
        let Some((_, name)) = self.in_flight.take() else {
            return false;
        };
        self.me = match result {
            Ok(IdentifyAck::Ok { username, .. }) => Me::Identified {
                name: username.clone(),
            },
            Ok(IdentifyAck::Err(err)) => Me::Refused {
                name,
                message: err.message.clone(),
            },
            // Lost or timed out: the next `connected` identifies again.
            Err(_) => Me::Pending { name },
        };
        true
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
    use crate::events::{ErrorCode, IdentifyError};

    #[test]
    fn remembered_name_is_claimed_on_every_connect() {
        let mut identity = Identity::new(Some("Ada".into()));
        let event = identity.on_connected(Some(SessionId("s1".into())));
        assert_eq!(event, Some(ClientEvent::Identify { name: "Ada".into() }));
        identity.sent(AckId(0), "Ada".into());
        // A second `connected` while the first identify is in flight sends nothing.
        assert_eq!(identity.on_connected(None), None);
        let ok = IdentifyAck::Ok {
            uuid: SessionId("s1".into()),
            username: "Ada".into(),
        };
        assert!(identity.on_ack(AckId(0), Ok(&ok)));
        assert_eq!(identity.me(), &Me::Identified { name: "Ada".into() });
        identity.on_disconnected();
        assert!(identity
            .on_connected(Some(SessionId("s2".into())))
            .is_some());
    }

    #[test]
    fn no_name_no_identify() {
        let mut identity = Identity::new(None);
        assert_eq!(identity.on_connected(None), None);
        assert_eq!(identity.me(), &Me::Anonymous);
    }

    #[test]
    fn refusal_shows_the_server_words_and_other_acks_are_ignored() {
        let mut identity = Identity::new(None);
        let event = identity.choose("Mallory".into());
        assert!(matches!(event, ClientEvent::Identify { .. }));
        identity.sent(AckId(3), "Mallory".into());
        assert!(!identity.on_ack(AckId(2), Err("timeout".into())));
        let refused = IdentifyAck::Err(IdentifyError {
            code: ErrorCode::RateLimited,
            message: "Slow down.".into(),
        });
        assert!(identity.on_ack(AckId(3), Ok(&refused)));
        assert_eq!(
            identity.me(),
            &Me::Refused {
                name: "Mallory".into(),
                message: "Slow down.".into()
            }
        );
    }
}
