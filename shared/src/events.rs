//! Typed events: what the browser sends, what the server sends, and the acks.
//!
//! Socket.IO carries an event as a JSON array `["name", arg, ...]`. This module
//! is the only place where event names are spelled; everything else converts
//! through [`ClientEvent`], [`ServerEvent`] and [`IdentifyAck`], and gets a
//! typed [`EventError`] for anything it cannot understand.

use std::fmt;

use events_derive::{Event, FromJson, ToJson, WireCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sio_proto::json::Quoted;

use crate::names::{NameCode, NameError};
pub use crate::payload::json_kind;
use crate::payload::{single_arg, to_json};

/// The namespace the application lives in.
pub const NAMESPACE: &str = "/iss";

/// A session's public identifier (a UUID string). It is shown in presence, so
/// it must never be usable as a credential.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, FromJson, ToJson,
)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a client may send to the server. Each variant's wire name is
/// written here and nowhere else; the derive adds [`ClientEventKind`] (which
/// a server registers, dispatches and rate-limits by, and matches on
/// exhaustively: a new event asks for its handler), its complete list
/// `ClientEventKind::ALL`, and the names both ways.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Event)]
#[event(payload = crate::payload, sent_by = "client")]
pub enum ClientEvent {
    /// "Call me this." The name is sent as typed; the server applies the name
    /// rules. May ask for an ack ([`IdentifyAck`]).
    #[event(name = "identify", ack = IdentifyOk, expect = "a name (a string)")]
    Identify { name: String },
    /// "👋" at someone online, by their session id. The sender must have a
    /// name; may ask for an ack ([`WaveAck`]): `ok` once the target's
    /// sockets were handed the [`ServerEvent::Waved`], else why not.
    #[event(name = "wave", ack = WaveOk, expect = "a session id (a string)")]
    Wave { to: SessionId },
}

/// Everything the server may send to a client; [`ServerEventKind`] is
/// derived as for [`ClientEvent`], and every decoder matches on it
/// exhaustively.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Event)]
#[event(payload = crate::payload, sent_by = "server")]
pub enum ServerEvent {
    /// The namespace connection is ready, once per namespace connection, with
    /// the session id. `None` when a server sends no payload, as the original
    /// 2016 Flask app did.
    #[event(name = "connected")]
    Connected(Option<Connected>),
    /// Who is online: a snapshot on connect, then coalesced deltas.
    #[event(name = "presence")]
    Presence(Presence),
    /// Someone waved at this session (sent only to its sockets).
    #[event(name = "waved")]
    Waved(Waved),
}

/// Payload of `waved`: who waved, as presence names them.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct Waved {
    pub from: SessionId,
    pub name: String,
}

/// What an accepted `wave` answers: whom it reached.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct WaveOk {
    pub to: SessionId,
}

/// Payload of `connected`.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct Connected {
    pub uuid: SessionId,
    /// A secret that brings this session (id and name) back after a
    /// reconnect or reload: send it as [`ResumeAuth`] in the next CONNECT.
    /// Only our server issues one; other peers' `connected` has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeToken>,
}

/// A resume token: at least 128 random bits. Unlike the [`SessionId`] (which
/// presence shows to everyone) it is a credential, so its `Debug` is redacted
/// and it never appears in presence or logs.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, FromJson, ToJson)]
#[serde(transparent)]
pub struct ResumeToken(pub String);

impl fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeToken(…)")
    }
}

/// The Socket.IO CONNECT auth payload: `{"resume": "<token>"}`, or `{}`.
/// A wrong or expired token is not an error: the server silently starts a
/// fresh session, so the reply tells an attacker nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToJson)]
pub struct ResumeAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeToken>,
}

impl ResumeAuth {
    /// The auth payload as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One identified user as presence shows them. Nothing secret goes in here.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct OnlineUser {
    pub id: SessionId,
    pub name: String,
    /// The name's look-alike key: see [`Look`].
    #[serde(default)]
    pub look: Look,
}

/// A name's look-alike key: a 32-bit hash of its UTS #39 confusable
/// skeleton, computed by the server (which alone carries the confusables
/// table). Two names with the same key may look the same on screen (`Ada`,
/// Cyrillic `Аda`, a second `Ada`), so a page showing both adds a short
/// disambiguator to each.
///
/// [`Look::UNKNOWN`] (0, also what a peer that sends no key decodes to) is
/// never grouped with anything; the server never computes 0. A key only
/// means something among the names of one server.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    FromJson,
)]
#[serde(transparent)]
pub struct Look(pub u32);

impl Look {
    /// No key: a peer that does not compute one.
    pub const UNKNOWN: Look = Look(0);

    /// Whether this key can be compared with another.
    pub fn is_known(self) -> bool {
        self != Look::UNKNOWN
    }
}

/// How many users presence names: the first `PRESENCE_WINDOW` online users in
/// join order. Everyone else is only counted (`total`).
///
/// A window keeps presence O(1) per client: naming all 19,000 users of a busy
/// server would make every connect cost a megabyte and every burst of joins a
/// megabyte per client, which is O(n²) bytes for the server to send — and the
/// page shows only the first 100 names anyway.
pub const PRESENCE_WINDOW: usize = 100;

/// Payload of `presence`.
///
/// `users`/`changes` describe the [`PRESENCE_WINDOW`]: the first users in
/// join order. A user entering the window (a join while there is room, or the
/// next in line when someone in it leaves) is `joined` and goes to the end of
/// the window; `total` counts everyone online, named or not.
///
/// `seq` numbers presence messages. A snapshot carries the seq of the last
/// delta it already contains, so a client can drop a delta with a seq at or
/// below it, and notice a gap when one goes missing: a delta follows the
/// message numbered `prev` (when given; else `seq - 1`). One process counts
/// its deltas 1, 2, 3, …; the shared mode numbers them by its global change
/// counter, so every client of every node ends on the same seq. Applying a
/// change is idempotent (joined/renamed are upserts, left is a removal).
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Presence {
    Snapshot {
        seq: u64,
        total: u64,
        users: Vec<OnlineUser>,
    },
    Delta {
        seq: u64,
        total: u64,
        changes: Vec<PresenceChange>,
        /// The seq of the message this delta follows, when it is not
        /// `seq - 1`. The shared mode (several server processes on Redis)
        /// numbers presence by its global change counter, which a node's
        /// coalesced deltas skip through; one process leaves it out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prev: Option<u64>,
    },
}

/// One change in a presence delta.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PresenceChange {
    Joined {
        id: SessionId,
        name: String,
        #[serde(default)]
        look: Look,
    },
    Renamed {
        id: SessionId,
        name: String,
        #[serde(default)]
        look: Look,
    },
    Left {
        id: SessionId,
    },
}

/// A client event sent with an ack, and the type of its reply: sending an
/// [`Identify`] yields an [`IdentifyAck`], known at compile time (ACK
/// packets do not repeat the event, so the type must travel with the
/// request). Derived for every `#[event(ack = …)]` variant.
pub trait Request: Into<ClientEvent> {
    /// What the server answers.
    type Reply;
}

/// The answer to a request event (one sent with an ack), written once for
/// every request: `{"ok":true, …the value's fields}` or
/// `{"ok":false,"code":"…","error":"the sentence to show"}`, the shape the
/// other Socket.IO peers use. A request names only its value type `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack<T> {
    /// Done; what the server has to say about it.
    Ok(T),
    /// Refused, with why.
    Err(Refusal),
}

/// What an accepted `identify` answers: who the session is now.
#[cfg_attr(feature = "arbitrary", derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct IdentifyOk {
    pub uuid: SessionId,
    pub username: String,
}

/// Why a request was refused: a stable code and the sentence to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

/// The stable, machine-readable reason of a refusal, written on the wire as
/// one snake_case string (`"name_empty"`, `"rate_limited"`…). Name codes and
/// protocol codes are apart: the first are the person's to fix (the page
/// shows the sentence), the second the program's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A name rule refused the name.
    Name(NameCode),
    /// The request itself was refused.
    Protocol(ProtocolCode),
    /// Anything a newer or foreign server says that this build does not know.
    Other,
}

/// Why a request was refused for reasons other than the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, WireCode)]
pub enum ProtocolCode {
    /// The event's arguments had the wrong shape (not exactly one string).
    #[code("bad_payload")]
    BadPayload,
    /// The client sent too much too fast.
    #[code("rate_limited")]
    RateLimited,
    /// An event this server does not know.
    #[code("unknown_event")]
    UnknownEvent,
    /// The session is gone (an identify raced its own disconnect).
    #[code("not_connected")]
    NotConnected,
    /// The request needs a name first (a wave from someone unnamed).
    #[code("not_named")]
    NotNamed,
    /// A wave at oneself.
    #[code("wave_self")]
    WaveSelf,
    /// The person waved at is not online (left, or never was).
    #[code("target_offline")]
    TargetOffline,
    /// The server could not tell whether the target got it (another node
    /// did not answer in time): it may or may not have arrived.
    #[code("target_unreachable")]
    TargetUnreachable,
}

impl ErrorCode {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Name(code) => code.as_str(),
            ErrorCode::Protocol(code) => code.as_str(),
            ErrorCode::Other => "other",
        }
    }

    /// Reads the wire text; a code this build does not know is [`ErrorCode::Other`].
    pub fn from_wire(text: &str) -> Self {
        match (NameCode::from_wire(text), ProtocolCode::from_wire(text)) {
            (Some(code), _) => ErrorCode::Name(code),
            (None, Some(code)) => ErrorCode::Protocol(code),
            (None, None) => ErrorCode::Other,
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| ErrorCode::from_wire(&text))
    }
}

impl From<&NameError> for Refusal {
    fn from(err: &NameError) -> Self {
        Refusal {
            code: ErrorCode::Name(err.code()),
            message: err.to_string(),
        }
    }
}

impl From<&EventError> for Refusal {
    fn from(err: &EventError) -> Self {
        Refusal {
            code: ErrorCode::Protocol(ProtocolCode::BadPayload),
            message: err.to_string(),
        }
    }
}

/// The answer to an event this server does not know, when the event asked
/// for an ack. Its own type, never an identify's verdict; on the wire it is
/// the same refusal object other peers understand:
/// `{"ok":false,"code":"unknown_event","error":"Unknown event \"x\"."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEventReply {
    /// The event name as received.
    pub event: String,
}

impl Serialize for UnknownEventReply {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = format!("Unknown event {}.", Quoted(&self.event));
        RefusalWire {
            ok: false,
            code: ErrorCode::Protocol(ProtocolCode::UnknownEvent),
            error: &message,
        }
        .serialize(serializer)
    }
}

/// Serialised through borrowed flat forms: serde's `into` would clone the
/// value on the server's per-request path.
impl<T: Serialize> Serialize for Ack<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ack::Ok(value) => AcceptedWire { ok: true, value }.serialize(serializer),
            Ack::Err(refusal) => RefusalWire {
                ok: false,
                code: refusal.code,
                error: &refusal.message,
            }
            .serialize(serializer),
        }
    }
}

/// `{"ok":true, …}`: the value's fields next to `ok`.
#[derive(Serialize)]
struct AcceptedWire<'a, T> {
    ok: bool,
    #[serde(flatten)]
    value: &'a T,
}

/// `{"ok":false,"code":…,"error":…}`, as written.
#[derive(Serialize)]
struct RefusalWire<'a> {
    ok: bool,
    code: ErrorCode,
    error: &'a str,
}

/// A refusal's members besides `ok`, as read: both optional (foreign
/// servers may send neither, or `null`).
#[derive(Deserialize)]
struct RefusalRead {
    #[serde(default)]
    code: Option<ErrorCode>,
    #[serde(default)]
    error: Option<String>,
}

/// Reads `ok` first, then the value (`T`'s own derive) or the refusal from
/// the other members, so `T` keeps its strictness (missing, mistyped or
/// duplicate fields are errors) and a second `ok` is one too.
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Ack<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{value::MapDeserializer, Error};
        let members = AckMembers::deserialize(deserializer)?.0;
        let mut ok = None;
        let mut rest = Vec::with_capacity(members.len());
        for (key, value) in members {
            if key != "ok" {
                rest.push((key, value));
            } else if ok.is_some() {
                return Err(D::Error::duplicate_field("ok"));
            } else {
                ok = Some(bool::deserialize(value).map_err(D::Error::custom)?);
            }
        }
        let rest = MapDeserializer::<_, serde_json::Error>::new(rest.into_iter());
        match ok {
            None => Err(D::Error::missing_field("ok")),
            Some(true) => T::deserialize(rest).map(Ack::Ok).map_err(D::Error::custom),
            Some(false) => {
                let read = RefusalRead::deserialize(rest).map_err(D::Error::custom)?;
                Ok(Ack::Err(Refusal {
                    code: read.code.unwrap_or(ErrorCode::Other),
                    message: read.error.unwrap_or_else(|| "refused".to_owned()),
                }))
            }
        }
    }
}

/// An ack object's members in order, duplicates kept (a map would drop them).
struct AckMembers(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for AckMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = AckMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ack object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<AckMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(AckMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl<T: Serialize + serde::de::DeserializeOwned> Ack<T> {
    /// Decodes the arguments of an ACK packet (`[{"ok":..}]`).
    pub fn from_args(args: &[Value]) -> Result<Self, PayloadError> {
        let value = single_arg(args)?;
        Ack::deserialize(value).map_err(|e| PayloadError::Invalid(e.to_string()))
    }

    /// The arguments of the ACK packet that carries this reply.
    pub fn to_args(&self) -> Vec<Value> {
        vec![to_json(self)]
    }
}

/// Why an event array could not be turned into a typed event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("unknown event {}", Quoted(.0))]
    UnknownEvent(String),
    #[error("an event must be a JSON array starting with the event name")]
    NotAnEventArray,
    #[error("bad arguments for `{event}`: {reason}")]
    BadPayload {
        event: &'static str,
        reason: PayloadError,
    },
}

/// What is wrong with an event's arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("expected {expected}, got nothing")]
    Missing { expected: &'static str },
    #[error("expected exactly one argument, got {got}")]
    TooMany { got: usize },
    #[error("expected {expected}, got {got}")]
    WrongType {
        expected: &'static str,
        got: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind is listed in `ALL` and round-trips through its name, and
    /// an event decodes to its own kind.
    #[test]
    fn every_client_event_kind_is_listed_and_named_once() {
        let examples = [
            ClientEvent::Identify { name: "Ada".into() },
            ClientEvent::Wave {
                to: SessionId("b".into()),
            },
        ];
        for event in &examples {
            let kind = event.kind();
            assert!(ClientEventKind::ALL.contains(&kind), "{kind:?} not in ALL");
            assert_eq!(ClientEventKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                &ClientEvent::from_parts(event.name(), &event.args()).unwrap(),
                event
            );
        }
        assert_eq!(examples.len(), ClientEventKind::ALL.len());
        assert_eq!(ClientEventKind::from_name("nope"), None);
    }
    use serde_json::json;

    #[test]
    fn wave_and_waved_wire_shapes() {
        let wave = ClientEvent::Wave {
            to: SessionId("b".into()),
        };
        assert_eq!(wave.to_array(), json!(["wave", "b"]));
        assert_eq!(ClientEvent::from_array(&wave.to_array()), Ok(wave));
        let err = ClientEvent::from_array(&json!(["wave", 7])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad arguments for `wave`: expected a session id (a string), got a number"
        );
        let waved = ServerEvent::Waved(Waved {
            from: SessionId("a".into()),
            name: "Ada".into(),
        });
        assert_eq!(
            waved.to_array(),
            json!(["waved", {"from": "a", "name": "Ada"}])
        );
        assert_eq!(ServerEvent::from_array(&waved.to_array()), Ok(waved));
        let ok = WaveAck::Ok(WaveOk {
            to: SessionId("b".into()),
        });
        assert_eq!(ok.to_args(), vec![json!({"ok": true, "to": "b"})]);
        assert_eq!(WaveAck::from_args(&ok.to_args()), Ok(ok));
    }

    #[test]
    fn identify_round_trips() {
        let event = ClientEvent::Identify { name: "Ada".into() };
        assert_eq!(event.to_array(), json!(["identify", "Ada"]));
        assert_eq!(ClientEvent::from_array(&event.to_array()), Ok(event));
    }

    #[test]
    fn identify_wrong_payloads_have_clear_errors() {
        let cases = [
            (
                json!(["identify", 42]),
                "expected a name (a string), got a number",
            ),
            (json!(["identify", {"a": 1}]), "got an object"),
            (json!(["identify", ["Ada"]]), "got an array"),
            (json!(["identify", null]), "got null"),
            (json!(["identify", true]), "got a boolean"),
            (json!(["identify"]), "got nothing"),
            (
                json!(["identify", "Ada", "x"]),
                "exactly one argument, got 2",
            ),
        ];
        for (array, expected) in cases {
            let err = ClientEvent::from_array(&array).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{array}: {text}");
            assert!(text.starts_with("bad arguments for `identify`"), "{text}");
        }
    }

    #[test]
    fn unknown_and_malformed_events() {
        assert_eq!(
            ClientEvent::from_array(&json!(["dance", 1])),
            Err(EventError::UnknownEvent("dance".into()))
        );
        for bad in [json!([]), json!({}), json!([1, "x"]), json!("identify")] {
            assert_eq!(
                ClientEvent::from_array(&bad),
                Err(EventError::NotAnEventArray)
            );
        }
    }

    #[test]
    fn connected_with_and_without_payload() {
        let with = json!(["connected", {"uuid": "0190c0de-0000-7000-8000-000000000000"}]);
        let event = ServerEvent::from_array(&with).unwrap();
        assert_eq!(
            event,
            ServerEvent::Connected(Some(Connected {
                uuid: SessionId("0190c0de-0000-7000-8000-000000000000".into()),
                resume: None,
            }))
        );
        assert_eq!(event.to_array(), with);
        // Ours adds a resume token; its Debug never shows it.
        let ours = json!(["connected", {"uuid": "u", "resume": "s3cr3t"}]);
        let event = ServerEvent::from_array(&ours).unwrap();
        assert_eq!(event.to_array(), ours);
        assert!(!format!("{event:?}").contains("s3cr3t"), "{event:?}");
        let auth = ResumeAuth {
            resume: Some(ResumeToken("s3cr3t".into())),
        };
        assert_eq!(auth.to_json(), json!({"resume": "s3cr3t"}));
        assert_eq!(ResumeAuth::default().to_json(), json!({}));
        // The original 2016 app emitted `connected` with nothing.
        assert_eq!(
            ServerEvent::from_array(&json!(["connected"])),
            Ok(ServerEvent::Connected(None))
        );
    }

    #[test]
    fn presence_wire_shape() {
        let delta = ServerEvent::Presence(Presence::Delta {
            seq: 3,
            total: 250,
            changes: vec![
                PresenceChange::Joined {
                    id: SessionId("a".into()),
                    name: "Ada".into(),
                    look: Look(7),
                },
                PresenceChange::Left {
                    id: SessionId("b".into()),
                },
            ],
            prev: None,
        });
        let array = delta.to_array();
        assert_eq!(
            array,
            json!(["presence", {"kind": "delta", "seq": 3, "total": 250, "changes": [
                {"op": "joined", "id": "a", "name": "Ada", "look": 7},
                {"op": "left", "id": "b"}
            ]}])
        );
        assert_eq!(ServerEvent::from_array(&array), Ok(delta));
    }

    /// A peer that sends no look-alike key still decodes: the key is unknown.
    #[test]
    fn presence_without_look_keys_decodes() {
        let snapshot = json!(["presence", {"kind": "snapshot", "seq": 1, "total": 1,
            "users": [{"id": "a", "name": "Ada"}]}]);
        let Ok(ServerEvent::Presence(Presence::Snapshot { users, .. })) =
            ServerEvent::from_array(&snapshot)
        else {
            panic!("{snapshot}");
        };
        assert_eq!(users[0].look, Look::UNKNOWN);
        assert!(!users[0].look.is_known());
        let delta = json!(["presence", {"kind": "delta", "seq": 2, "total": 1, "changes": [
            {"op": "renamed", "id": "a", "name": "Grace"}
        ]}]);
        assert_eq!(
            ServerEvent::from_array(&delta),
            Ok(ServerEvent::Presence(Presence::Delta {
                seq: 2,
                total: 1,
                changes: vec![PresenceChange::Renamed {
                    id: SessionId("a".into()),
                    name: "Grace".into(),
                    look: Look::UNKNOWN,
                }],
                prev: None,
            }))
        );
        let user = OnlineUser {
            id: SessionId("a".into()),
            name: "Ada".into(),
            look: Look(42),
        };
        assert_eq!(
            serde_json::to_value(&user).unwrap(),
            json!({"id": "a", "name": "Ada", "look": 42})
        );
    }

    /// Every name rule's code is the wire code of its ack.
    #[test]
    fn name_error_codes_are_the_ack_codes() {
        let errors = [
            NameError::Empty,
            NameError::TooLong { chars: 40 },
            NameError::ControlCharacter {
                ch: '\u{2028}',
                position: 4,
            },
            NameError::BidiOverride {
                ch: '\u{202E}',
                position: 1,
            },
            NameError::Invisible,
            NameError::InvisibleCharacter {
                ch: '\u{200B}',
                position: 3,
            },
            NameError::TooManyMarks { position: 6 },
        ];
        for err in errors {
            let ack = IdentifyAck::Err(Refusal::from(&err));
            let args = ack.to_args();
            assert_eq!(
                args,
                vec![json!({"ok": false, "code": err.code().as_str(), "error": err.to_string()})]
            );
            assert_eq!(IdentifyAck::from_args(&args), Ok(ack));
        }
    }

    #[test]
    fn every_code_reads_back_and_name_and_protocol_codes_are_apart() {
        let names = NameCode::ALL.map(ErrorCode::Name);
        let protocol = ProtocolCode::ALL.map(ErrorCode::Protocol);
        let mut seen = std::collections::HashSet::new();
        for code in names.into_iter().chain(protocol) {
            assert!(seen.insert(code.as_str()), "{code:?} shares its text");
            assert_eq!(ErrorCode::from_wire(code.as_str()), code);
            let json = serde_json::to_value(code).expect("a string");
            assert_eq!(serde_json::from_value::<ErrorCode>(json).ok(), Some(code));
        }
        assert_eq!(ErrorCode::from_wire("from_the_future"), ErrorCode::Other);
    }

    #[test]
    fn the_unknown_event_reply_is_a_refusal_other_peers_read() {
        let reply = UnknownEventReply {
            event: "jump".into(),
        };
        let json = serde_json::to_value(&reply).expect("serialises");
        assert_eq!(
            json,
            json!({"ok": false, "code": "unknown_event", "error": "Unknown event \"jump\"."})
        );
        let read = IdentifyAck::from_args(&[json]);
        assert!(matches!(
            read,
            Ok(IdentifyAck::Err(Refusal {
                code: ErrorCode::Protocol(ProtocolCode::UnknownEvent),
                ..
            }))
        ));
    }

    #[test]
    fn ack_shapes_match_the_other_peers() {
        let ok = IdentifyAck::Ok(IdentifyOk {
            uuid: SessionId("u".into()),
            username: "Ada".into(),
        });
        assert_eq!(
            ok.to_args(),
            vec![json!({"ok": true, "uuid": "u", "username": "Ada"})]
        );
        // Key order does not matter (socketioxide sorts keys).
        let from_peer = [json!({"username": "Ada", "ok": true, "uuid": "u"})];
        assert_eq!(IdentifyAck::from_args(&from_peer), Ok(ok));

        let err = IdentifyAck::Err(Refusal::from(&NameError::Empty));
        let args = err.to_args();
        assert_eq!(
            args,
            vec![json!({"ok": false, "code": "name_empty", "error": "Please enter a name."})]
        );
        assert_eq!(IdentifyAck::from_args(&args), Ok(err));
        // A foreign server's unknown code still decodes.
        let foreign = [json!({"ok": false, "code": "teapot", "error": "no"})];
        assert!(matches!(
            IdentifyAck::from_args(&foreign),
            Ok(IdentifyAck::Err(Refusal {
                code: ErrorCode::Other,
                ..
            }))
        ));
        assert!(IdentifyAck::from_args(&[json!({"ok": true})]).is_err());
    }

    /// The ack shape is written once: any value type gets it, and reading
    /// keeps the strictness of the value's own derive.
    #[test]
    fn the_generic_ack_serves_any_value_and_stays_strict() {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        struct Waved {
            to: SessionId,
            at: u64,
        }
        let ok = Ack::Ok(Waved {
            to: SessionId("b".into()),
            at: 7,
        });
        assert_eq!(ok.to_args(), vec![json!({"ok": true, "to": "b", "at": 7})]);
        assert_eq!(Ack::from_args(&ok.to_args()), Ok(ok));
        let refused: Ack<Waved> = Ack::Err(Refusal {
            code: ErrorCode::Protocol(ProtocolCode::RateLimited),
            message: "Slow down.".into(),
        });
        assert_eq!(Ack::from_args(&refused.to_args()), Ok(refused));

        let read = |text: &str| serde_json::from_str::<IdentifyAck>(text);
        assert!(read(r#"{"ok":true,"ok":true,"uuid":"u","username":"A"}"#).is_err());
        assert!(read(r#"{"ok":true,"uuid":"u","uuid":"v","username":"A"}"#).is_err());
        assert!(read(r#"{"ok":"yes","uuid":"u","username":"A"}"#).is_err());
        assert!(read(r#"{"ok":true,"uuid":7,"username":"A"}"#).is_err());
        assert!(read(r#"{"uuid":"u","username":"A"}"#).is_err());
        assert!(read(r#"["ok"]"#).is_err());
        assert_eq!(
            read(r#"{"ok":false,"code":null,"error":null}"#).unwrap(),
            IdentifyAck::Err(Refusal {
                code: ErrorCode::Other,
                message: "refused".into()
            })
        );
    }
}
