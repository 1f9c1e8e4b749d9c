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
//! Nothing here panics on input: JSON deeper than serde_json's recursion
//! limit (128) is an error, ack ids that overflow `u64` are an error.

use serde_json::Value;

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
/// namespace such as `/` or `/iss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Joins a namespace. Client->server: optional auth payload, which must
    /// be a JSON object if present. Server->client: payload `{"sid":..}`.
    Connect { nsp: String, data: Option<Value> },
    /// Leaves a namespace (either side).
    Disconnect { nsp: String },
    /// An application event. `args` excludes the event name; `id` asks the
    /// receiver for an [`Packet::Ack`] with the same id.
    Event {
        nsp: String,
        id: Option<u64>,
        name: String,
        args: Vec<Value>,
    },
    /// The answer to an event that carried an ack id.
    Ack {
        nsp: String,
        id: u64,
        args: Vec<Value>,
    },
    /// The server refused a CONNECT. Node and socketioxide send an object
    /// `{"message": "...", "data": ...}`, Flask-SocketIO a bare string: both
    /// decode to this (a bare string gives `data: None`); encoding always
    /// writes the object form.
    ConnectError {
        nsp: String,
        message: String,
        data: Option<Value>,
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
    #[error("unknown Socket.IO packet type {0:?}")]
    UnknownType(char),
    /// Types 5 and 6 carry binary attachments, which this project never uses.
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
    /// carries serde's explanation.
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
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// An ACK payload must be a JSON array.
    #[error("ACK payload is not a JSON array")]
    AckNotArray,
    /// A CONNECT_ERROR payload must be a string or an object whose
    /// `message` is a string.
    #[error("CONNECT_ERROR payload is neither a string nor an object with a string message")]
    BadConnectError,
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
struct Parts<'a> {
    kind: Kind,
    nsp: &'a str,
    id: Option<u64>,
    payload: Option<Value>,
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
    /// JSON floats are the exception: serde_json reads them to within an ulp,
    /// not exactly, so one may come back differing in its last place
    /// (tests/fuzz_regressions.rs); integers come back exactly.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::from(self.type_digit());
        push_namespace(&mut out, self.nsp());
        match self {
            Self::Connect { data, .. } => push_optional_json(&mut out, data.as_ref()),
            Self::Disconnect { .. } => {}
            Self::Event { id, name, args, .. } => {
                push_id(&mut out, *id);
                let name = Value::from(name.as_str());
                push_array(&mut out, std::iter::once(&name).chain(args));
            }
            Self::Ack { id, args, .. } => {
                push_id(&mut out, Some(*id));
                push_array(&mut out, args.iter());
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

/// Cuts a frame into type, namespace, ack id and parsed JSON payload.
fn split(s: &str) -> Result<Parts<'_>, SioError> {
    let mut chars = s.chars();
    let kind = decode_kind(chars.next().ok_or(SioError::Empty)?)?;
    let (nsp, rest) = split_namespace(chars.as_str());
    let (id, rest) = split_id(rest)?;
    let payload = parse_payload(rest)?;
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

/// Parses what follows the id as one JSON value; nothing means no payload.
fn parse_payload(rest: &str) -> Result<Option<Value>, SioError> {
    if rest.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(rest)
        .map(Some)
        .map_err(|e| SioError::BadJson(e.to_string()))
}

/// Refuses an ack id on packet types that cannot carry one, rather than
/// silently dropping it.
fn no_id(id: Option<u64>) -> Result<(), SioError> {
    match id {
        Some(_) => Err(SioError::UnexpectedAckId),
        None => Ok(()),
    }
}

fn decode_connect(
    nsp: String,
    id: Option<u64>,
    payload: Option<Value>,
) -> Result<Packet, SioError> {
    no_id(id)?;
    match payload {
        None | Some(Value::Object(_)) => Ok(Packet::Connect { nsp, data: payload }),
        Some(_) => Err(SioError::ConnectNotObject),
    }
}

fn decode_disconnect(
    nsp: String,
    id: Option<u64>,
    payload: Option<Value>,
) -> Result<Packet, SioError> {
    no_id(id)?;
    match payload {
        None => Ok(Packet::Disconnect { nsp }),
        Some(_) => Err(SioError::UnexpectedPayload),
    }
}

fn decode_event(nsp: String, id: Option<u64>, payload: Option<Value>) -> Result<Packet, SioError> {
    let Value::Array(items) = payload.ok_or(SioError::MissingPayload)? else {
        return Err(SioError::EventNotArray);
    };
    let mut items = items.into_iter();
    let Some(Value::String(name)) = items.next() else {
        return Err(SioError::EventNameNotString);
    };
    if RESERVED_EVENTS.contains(&name.as_str()) {
        return Err(SioError::ReservedEventName(name));
    }
    Ok(Packet::Event {
        nsp,
        id,
        name,
        args: items.collect(),
    })
}

fn decode_ack(nsp: String, id: Option<u64>, payload: Option<Value>) -> Result<Packet, SioError> {
    let id = id.ok_or(SioError::MissingAckId)?;
    match payload.ok_or(SioError::MissingPayload)? {
        Value::Array(args) => Ok(Packet::Ack { nsp, id, args }),
        _ => Err(SioError::AckNotArray),
    }
}

/// Accepts Flask-SocketIO's bare string as well as the object form; extra
/// object fields are ignored.
fn decode_connect_error(
    nsp: String,
    id: Option<u64>,
    payload: Option<Value>,
) -> Result<Packet, SioError> {
    no_id(id)?;
    let (message, data) = match payload.ok_or(SioError::MissingPayload)? {
        Value::String(message) => (message, None),
        Value::Object(mut fields) => match fields.remove("message") {
            Some(Value::String(message)) => (message, fields.remove("data")),
            _ => return Err(SioError::BadConnectError),
        },
        _ => return Err(SioError::BadConnectError),
    };
    Ok(Packet::ConnectError { nsp, message, data })
}

/// Writes `<nsp>,` unless the namespace is the main one.
fn push_namespace(out: &mut String, nsp: &str) {
    if !nsp.is_empty() && nsp != MAIN_NAMESPACE {
        out.push_str(nsp);
        out.push(',');
    }
}

fn push_id(out: &mut String, id: Option<u64>) {
    if let Some(id) = id {
        out.push_str(&id.to_string());
    }
}

fn push_optional_json(out: &mut String, value: Option<&Value>) {
    if let Some(value) = value {
        out.push_str(&value.to_string());
    }
}

/// Writes a JSON array from borrowed items, without cloning them into a `Value`.
fn push_array<'a>(out: &mut String, items: impl Iterator<Item = &'a Value>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item.to_string());
    }
    out.push(']');
}

/// Writes the object form of a CONNECT_ERROR payload, `message` first as
/// node and socketioxide send it (a `serde_json::Map` would sort the keys).
fn push_connect_error(out: &mut String, message: &str, data: Option<&Value>) {
    out.push_str("{\"message\":");
    out.push_str(&Value::from(message).to_string());
    if let Some(data) = data {
        out.push_str(",\"data\":");
        out.push_str(&data.to_string());
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            data: Some(json!({"code": 3})),
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
