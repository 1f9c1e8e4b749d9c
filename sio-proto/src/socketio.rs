//! Socket.IO v5 packets, sans IO: the string carried inside an Engine.IO
//! message.
//!
//! A packet is written `<type>[<namespace>,][<ack id>][<JSON payload>]`:
//!
//! | type | packet        | payload                                        |
//! |------|---------------|------------------------------------------------|
//! | `0`  | CONNECT       | optional object (client auth, or server `{"sid":..}`) |
//! | `1`  | DISCONNECT    | none                                           |
//! | `2`  | EVENT         | array `[name, args...]`, optional ack id       |
//! | `3`  | ACK           | array of answers, required ack id              |
//! | `4`  | CONNECT_ERROR | object `{"message":..,"data":..}` or a bare string |
//! | `5`  | BINARY_EVENT  | not supported                                  |
//! | `6`  | BINARY_ACK    | not supported                                  |
//!
//! The namespace is written only when it is not the main namespace `/`;
//! when present it starts with `/` and runs to the first `,` or to the end
//! of the frame (`41/iss` and `41/iss,` are the same packet). The ack id is
//! the run of ASCII digits right after it, and whatever follows is JSON. This
//! follows the reference `socket.io-parser` decoder, including its payload
//! checks and its refusal of reserved event names.
//!
//! JSON is checked (strictly, to [`crate::json::MAX_DEPTH`] levels) but
//! not parsed into values: arguments and payloads are handed over as
//! [`RawJson`] text, for the application to decode as it likes. Nothing here
//! panics on input; ack ids that overflow `u64` are an error.

use crate::json::{self, JsonError, Quoted, QuotedChar};
use crate::raw::RawJson;

/// The namespace every client joins by default; it is never written on the wire.
pub const MAIN_NAMESPACE: &str = "/";

/// Event names the reference implementation keeps for itself (connection
/// life cycle and Node's EventEmitter). Peers must not send them as events,
/// so decoding refuses them rather than letting a client fake a disconnect.
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// One Socket.IO packet, the typed form of a frame, so application code
/// matches on meaning instead of parsing strings. `nsp` is always a full
/// namespace such as `/` or `/chat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Joins a namespace. Client->server: optional auth payload, which must
    /// be a JSON object if present. Server->client: payload `{"sid":..}`.
    Connect { nsp: String, data: Option<RawJson> },
    /// Leaves a namespace (either side).
    Disconnect { nsp: String },
    /// An application event. `args` excludes the event name; `id` asks the
    /// receiver for an [`Packet::Ack`] with the same id.
    Event {
        nsp: String,
        id: Option<u64>,
        name: String,
        args: Vec<RawJson>,
    },
    /// The answer to an event that carried an ack id.
    Ack {
        nsp: String,
        id: u64,
        args: Vec<RawJson>,
    },
    /// The server refused a CONNECT. Node and socketioxide send an object
    /// `{"message": "...", "data": ...}`, Flask-SocketIO a bare string: both
    /// decode to this (a bare string gives `data: None`); encoding always
    /// writes the object form.
    ConnectError {
        nsp: String,
        message: String,
        data: Option<RawJson>,
    },
}

/// Why a Socket.IO packet could not be decoded. Each message is meant to be
/// logged as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SioError {
    /// A packet must contain at least its type digit.
    #[error("empty Socket.IO packet")]
    Empty,
    /// The first character is not one of the type digits `0`..=`6`.
    #[error("unknown Socket.IO packet type {}", QuotedChar(*.0))]
    UnknownType(char),
    /// Types 5 and 6 carry binary attachments, which this client does not support.
    #[error("binary packets are not supported")]
    BinaryUnsupported,
    /// The ack id does not fit in a `u64`.
    #[error("ack id is too large")]
    BadAckId,
    /// An ACK must carry the id of the event it answers.
    #[error("ACK packet without an ack id")]
    MissingAckId,
    /// Only EVENT and ACK packets may carry an ack id.
    #[error("ack id on a packet type that does not take one")]
    UnexpectedAckId,
    /// The payload is not valid JSON (or nests deeper than 128 levels);
    /// carries the scanner's explanation.
    #[error("invalid JSON payload: {0}")]
    BadJson(String),
    /// EVENT, ACK and CONNECT_ERROR packets need a payload.
    #[error("packet has no payload")]
    MissingPayload,
    /// DISCONNECT packets take no payload.
    #[error("DISCONNECT packet with a payload")]
    UnexpectedPayload,
    /// A CONNECT payload, when present, must be a JSON object.
    #[error("CONNECT payload is not a JSON object")]
    ConnectNotObject,
    /// An EVENT payload must be a JSON array.
    #[error("EVENT payload is not a JSON array")]
    EventNotArray,
    /// An EVENT array must start with the event name, as a string.
    #[error("EVENT payload does not start with a string event name")]
    EventNameNotString,
    /// The event name is one of [`RESERVED_EVENTS`].
    #[error("reserved event name {}", Quoted(.0))]
    ReservedEventName(String),
    /// An ACK payload must be a JSON array.
    #[error("ACK payload is not a JSON array")]
    AckNotArray,
    /// A CONNECT_ERROR payload must be a string or an object whose
    /// `message` is a string.
    #[error("CONNECT_ERROR payload is neither a string nor an object with a string message")]
    BadConnectError,
}

impl From<JsonError> for SioError {
    fn from(err: JsonError) -> Self {
        SioError::BadJson(err.to_string())
    }
}

/// The five supported packet types, before their payload is checked.
#[derive(Clone, Copy)]
enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
}

/// A frame cut into its parts, before the payload is checked against the type.
/// The payload, when present, is known to be one valid JSON value.
struct Parts<'a> {
    kind: Kind,
    nsp: &'a str,
    id: Option<u64>,
    payload: Option<&'a str>,
}

impl Packet {
    /// Parses the string carried by an Engine.IO message.
    ///
    /// # Errors
    /// A [`SioError`] naming the first rule the frame breaks: unknown or
    /// binary type, ack id overflow, invalid JSON, or a payload of the wrong
    /// shape for the packet type.
    pub fn decode(s: &str) -> Result<Packet, SioError> {
        let parts = split(s)?;
        let nsp = parts.nsp.to_owned();
        match parts.kind {
            Kind::Connect => decode_connect(nsp, parts.id, parts.payload),
            Kind::Disconnect => decode_disconnect(nsp, parts.id, parts.payload),
            Kind::Event => decode_event(nsp, parts.id, parts.payload),
            Kind::Ack => decode_ack(nsp, parts.id, parts.payload),
            Kind::ConnectError => decode_connect_error(nsp, parts.id, parts.payload),
        }
    }

    /// Writes the packet as the string to put in an Engine.IO message.
    ///
    /// `decode` reads back an equal packet provided the packet is valid: the
    /// namespace is `/` or starts with `/` and has no `,`, CONNECT data is an
    /// object, and the event name is not reserved. An empty namespace is
    /// written like `/`. Encoding never fails, so it does not check these.
    /// JSON text is written exactly as held, so it comes back byte for byte.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::from(self.type_digit());
        push_namespace(&mut out, self.nsp());
        match self {
            Self::Connect { data, .. } => {
                if let Some(data) = data {
                    out.push_str(data.as_str());
                }
            }
            Self::Disconnect { .. } => {}
            Self::Event { id, name, args, .. } => push_event(&mut out, *id, name, args),
            Self::Ack { id, args, .. } => {
                push_id(&mut out, Some(*id));
                push_array(&mut out, args);
            }
            Self::ConnectError { message, data, .. } => {
                push_connect_error(&mut out, message, data.as_ref());
            }
        }
        out
    }

    /// The namespace the packet belongs to, whatever its type, so a router
    /// can dispatch without matching every variant.
    #[must_use]
    pub fn nsp(&self) -> &str {
        match self {
            Self::Connect { nsp, .. }
            | Self::Disconnect { nsp }
            | Self::Event { nsp, .. }
            | Self::Ack { nsp, .. }
            | Self::ConnectError { nsp, .. } => nsp,
        }
    }

    /// The digit that starts this packet's frame.
    fn type_digit(&self) -> char {
        match self {
            Self::Connect { .. } => '0',
            Self::Disconnect { .. } => '1',
            Self::Event { .. } => '2',
            Self::Ack { .. } => '3',
            Self::ConnectError { .. } => '4',
        }
    }
}

/// Cuts a frame into type, namespace, ack id and checked JSON payload.
fn split(s: &str) -> Result<Parts<'_>, SioError> {
    let mut chars = s.chars();
    let kind = decode_kind(chars.next().ok_or(SioError::Empty)?)?;
    let (nsp, rest) = split_namespace(chars.as_str());
    let (id, rest) = split_id(rest)?;
    let payload = if rest.is_empty() {
        None
    } else {
        json::validate(rest)?;
        Some(rest)
    };
    Ok(Parts {
        kind,
        nsp,
        id,
        payload,
    })
}

/// Maps the type digit to a supported kind.
fn decode_kind(c: char) -> Result<Kind, SioError> {
    match c {
        '0' => Ok(Kind::Connect),
        '1' => Ok(Kind::Disconnect),
        '2' => Ok(Kind::Event),
        '3' => Ok(Kind::Ack),
        '4' => Ok(Kind::ConnectError),
        '5' | '6' => Err(SioError::BinaryUnsupported),
        other => Err(SioError::UnknownType(other)),
    }
}

/// A namespace is present only if the frame continues with `/`; it then
/// runs to the first `,` (consumed) or to the end of the frame.
fn split_namespace(rest: &str) -> (&str, &str) {
    if !rest.starts_with('/') {
        return (MAIN_NAMESPACE, rest);
    }
    rest.split_once(',').unwrap_or((rest, ""))
}

/// The ack id is the run of ASCII digits right after the namespace; the
/// JSON payload starts at the first non-digit.
fn split_id(rest: &str) -> Result<(Option<u64>, &str), SioError> {
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    // `end` is a char boundary (digits are ASCII), so this never fails.
    let (digits, tail) = rest.split_at_checked(end).unwrap_or(("", rest));
    if digits.is_empty() {
        return Ok((None, tail));
    }
    let id = digits.parse::<u64>().map_err(|_| SioError::BadAckId)?;
    Ok((Some(id), tail))
}

/// Refuses an ack id on packet types that cannot carry one, rather than
/// silently dropping it.
fn no_id(id: Option<u64>) -> Result<(), SioError> {
    match id {
        Some(_) => Err(SioError::UnexpectedAckId),
        None => Ok(()),
    }
}

/// The elements of a checked payload that must be an array, or `not_array`.
fn elements(payload: &str, not_array: SioError) -> Result<Vec<&str>, SioError> {
    match json::array_elements(payload) {
        Ok(items) => Ok(items),
        Err(JsonError::WrongType { .. }) => Err(not_array),
        Err(other) => Err(other.into()),
    }
}

fn decode_connect(nsp: String, id: Option<u64>, payload: Option<&str>) -> Result<Packet, SioError> {
    no_id(id)?;
    match payload.map(RawJson::trusted) {
        Some(data) if !data.is_object() => Err(SioError::ConnectNotObject),
        data => Ok(Packet::Connect { nsp, data }),
    }
}

fn decode_disconnect(
    nsp: String,
    id: Option<u64>,
    payload: Option<&str>,
) -> Result<Packet, SioError> {
    no_id(id)?;
    match payload {
        None => Ok(Packet::Disconnect { nsp }),
        Some(_) => Err(SioError::UnexpectedPayload),
    }
}

fn decode_event(nsp: String, id: Option<u64>, payload: Option<&str>) -> Result<Packet, SioError> {
    let payload = payload.ok_or(SioError::MissingPayload)?;
    let items = elements(payload, SioError::EventNotArray)?;
    let (first, args) = items.split_first().ok_or(SioError::EventNameNotString)?;
    let name = json::string(first).map_err(|_| SioError::EventNameNotString)?;
    if RESERVED_EVENTS.contains(&name.as_str()) {
        return Err(SioError::ReservedEventName(name));
    }
    Ok(Packet::Event {
        nsp,
        id,
        name,
        args: args.iter().map(|arg| RawJson::trusted(arg)).collect(),
    })
}

fn decode_ack(nsp: String, id: Option<u64>, payload: Option<&str>) -> Result<Packet, SioError> {
    let id = id.ok_or(SioError::MissingAckId)?;
    let payload = payload.ok_or(SioError::MissingPayload)?;
    let args = elements(payload, SioError::AckNotArray)?;
    Ok(Packet::Ack {
        nsp,
        id,
        args: args.into_iter().map(RawJson::trusted).collect(),
    })
}

/// Accepts Flask-SocketIO's bare string as well as the object form; extra
/// object fields are ignored, and of a repeated key the last one counts.
fn decode_connect_error(
    nsp: String,
    id: Option<u64>,
    payload: Option<&str>,
) -> Result<Packet, SioError> {
    no_id(id)?;
    let payload = payload.ok_or(SioError::MissingPayload)?;
    if let Ok(message) = json::string(payload) {
        return Ok(Packet::ConnectError {
            nsp,
            message,
            data: None,
        });
    }
    let members = json::object_members(payload).map_err(|_| SioError::BadConnectError)?;
    let last = |key: &str| members.iter().rev().find(|(k, _)| k == key).map(|m| m.1);
    let message = last("message")
        .and_then(|raw| json::string(raw).ok())
        .ok_or(SioError::BadConnectError)?;
    let data = last("data").map(RawJson::trusted);
    Ok(Packet::ConnectError { nsp, message, data })
}

/// Writes `<nsp>,` unless the namespace is the main one.
fn push_namespace(out: &mut String, nsp: &str) {
    if !nsp.is_empty() && nsp != MAIN_NAMESPACE {
        out.push_str(nsp);
        out.push(',');
    }
}

/// Writes an EVENT's ack id and its `[name, args...]` array.
fn push_event(out: &mut String, id: Option<u64>, name: &str, args: &[RawJson]) {
    push_id(out, id);
    out.push('[');
    json::quote(name, out);
    for arg in args {
        out.push(',');
        out.push_str(arg.as_str());
    }
    out.push(']');
}

/// The text of an EVENT packet, written from borrowed parts (the session
/// keeps its queued emits until they are written).
#[must_use]
pub fn event_text(nsp: &str, id: Option<u64>, name: &str, args: &[RawJson]) -> String {
    let mut out = String::from('2');
    push_namespace(&mut out, nsp);
    push_event(&mut out, id, name, args);
    out
}

fn push_id(out: &mut String, id: Option<u64>) {
    if let Some(id) = id {
        out.push_str(&id.to_string());
    }
}

/// Writes a JSON array of the given values.
fn push_array(out: &mut String, items: &[RawJson]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.as_str());
    }
    out.push(']');
}

/// Writes the object form of a CONNECT_ERROR payload, `message` first as
/// node and socketioxide send it.
fn push_connect_error(out: &mut String, message: &str, data: Option<&RawJson>) {
    out.push_str("{\"message\":");
    json::quote(message, out);
    if let Some(data) = data {
        out.push_str(",\"data\":");
        out.push_str(data.as_str());
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_before_the_payload_are_the_ack_id() {
        let with_id = Packet::decode(r#"2/iss,12["x"]"#);
        let without = Packet::decode(r#"2/iss,["x"]"#);
        assert!(matches!(with_id, Ok(Packet::Event { id: Some(12), .. })));
        assert!(matches!(without, Ok(Packet::Event { id: None, .. })));
    }

    #[test]
    fn namespace_with_or_without_trailing_comma() {
        let expected = Packet::Disconnect { nsp: "/iss".into() };
        assert_eq!(Packet::decode("1/iss"), Ok(expected.clone()));
        assert_eq!(Packet::decode("1/iss,"), Ok(expected));
    }

    #[test]
    fn explicit_main_namespace_is_main() {
        assert_eq!(
            Packet::decode("1/,"),
            Ok(Packet::Disconnect { nsp: "/".into() })
        );
    }

    #[test]
    fn ack_id_overflow_is_an_error() {
        let frame = r#"2/iss,18446744073709551616["x"]"#;
        assert_eq!(Packet::decode(frame), Err(SioError::BadAckId));
        let max = r#"3/iss,18446744073709551615[]"#;
        assert!(matches!(
            Packet::decode(max),
            Ok(Packet::Ack { id: u64::MAX, .. })
        ));
    }

    #[test]
    fn payload_rules() {
        assert_eq!(Packet::decode("2/iss,"), Err(SioError::MissingPayload));
        assert_eq!(Packet::decode("2{}"), Err(SioError::EventNotArray));
        assert_eq!(Packet::decode("2[]"), Err(SioError::EventNameNotString));
        assert_eq!(Packet::decode("2[1]"), Err(SioError::EventNameNotString));
        assert_eq!(Packet::decode("3[]"), Err(SioError::MissingAckId));
        assert_eq!(Packet::decode("31{}"), Err(SioError::AckNotArray));
        assert_eq!(Packet::decode("31"), Err(SioError::MissingPayload));
        assert_eq!(Packet::decode("0[]"), Err(SioError::ConnectNotObject));
        assert_eq!(Packet::decode("1{}"), Err(SioError::UnexpectedPayload));
        assert_eq!(Packet::decode("45{}"), Err(SioError::UnexpectedAckId));
        assert_eq!(Packet::decode("4[]"), Err(SioError::BadConnectError));
        assert_eq!(
            Packet::decode(r#"4{"message":1}"#),
            Err(SioError::BadConnectError)
        );
        assert!(matches!(Packet::decode("2[x]"), Err(SioError::BadJson(_))));
    }

    #[test]
    fn reserved_event_names_are_refused() {
        assert_eq!(
            Packet::decode(r#"2["disconnect"]"#),
            Err(SioError::ReservedEventName("disconnect".into()))
        );
    }

    #[test]
    fn connect_error_data_is_kept() {
        let frame = r#"4/iss,{"message":"nope","data":{"code":3}}"#;
        let decoded = Packet::decode(frame);
        let expected = Packet::ConnectError {
            nsp: "/iss".into(),
            message: "nope".into(),
            data: Some(RawJson::new(r#"{"code":3}"#).unwrap()),
        };
        assert_eq!(decoded, Ok(expected.clone()));
        assert_eq!(expected.encode(), frame);
    }

    #[test]
    fn empty_namespace_encodes_as_main() {
        let packet = Packet::Disconnect { nsp: String::new() };
        assert_eq!(packet.encode(), "1");
    }

    #[test]
    fn multibyte_namespace_is_sliced_safely() {
        let decoded = Packet::decode(r#"2/é✓,3["ü"]"#);
        assert!(matches!(decoded, Ok(Packet::Event { id: Some(3), .. })));
    }
}
