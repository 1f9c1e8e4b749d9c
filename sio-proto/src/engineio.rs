//! Engine.IO v4 text frames, sans IO.
//!
//! Engine.IO is the transport layer under Socket.IO: it opens a session,
//! keeps it alive with ping/pong and carries opaque message strings. A text
//! frame is one type digit followed by the packet's data:
//!
//! | digit | packet  | data                                  |
//! |-------|---------|---------------------------------------|
//! | `0`   | open    | JSON handshake ([`OpenPacket`])       |
//! | `1`   | close   | none                                  |
//! | `2`   | ping    | optional text (`probe` while upgrading) |
//! | `3`   | pong    | optional text (echoes the ping's)     |
//! | `4`   | message | the Socket.IO packet (see `socketio`) |
//! | `5`   | upgrade | none                                  |
//! | `6`   | noop    | none                                  |
//!
//! HTTP long-polling bodies join several frames with the record separator
//! `'\x1e'` ([`decode_payload`], [`encode_payload`]).
//!
//! Binary data (websocket binary frames, and the `b`-prefixed base64 frames of
//! polling) is not supported: decoding it yields
//! [`EngineError::BinaryUnsupported`] so callers can close cleanly.
//!
//! Nothing here panics on input, whatever bytes a peer sends.

use crate::json::{self, QuotedChar};

/// Where a Socket.IO server answers Engine.IO requests (the reference
/// default, and socketioxide's).
pub const ENDPOINT_PATH: &str = "/socket.io";

/// The path and query a client opens a websocket session with: the
/// endpoint, Engine.IO protocol 4, websocket from the start.
pub const WEBSOCKET_PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// The protocol generation: Engine.IO v4 / Socket.IO v5 (today's servers),
/// or Engine.IO v3 / Socket.IO revision 4 (socket.io 1.x and 2.x, and
/// Flask-SocketIO 4), where the client pings, the server joins every client
/// to `/` unasked, and CONNECT carries no auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    V4,
    V3,
}

impl Protocol {
    /// The path and query a client opens a websocket session with.
    #[must_use]
    pub fn websocket_path(self) -> &'static str {
        match self {
            Protocol::V4 => WEBSOCKET_PATH,
            Protocol::V3 => "/socket.io/?EIO=3&transport=websocket",
        }
    }

    /// Whether a refused handshake (`status`, `body`) says the server does
    /// not speak this generation, so the other one is worth a try. Node
    /// socket.io writes `{"code":5,...}`, socketioxide `{"code":"5",...}`,
    /// both with the message `Unsupported protocol version`, status 400;
    /// python-engineio 3.14 a JSON string, `"The client is using an
    /// unsupported version of the Socket.IO or Engine.IO protocols"`.
    #[must_use]
    pub fn refused(status: u16, body: &str) -> bool {
        if status == 400 && body.to_ascii_lowercase().contains("unsupported version") {
            return true;
        }
        let Ok(members) = json::object_members(body) else {
            return false;
        };
        let code = members.iter().find(|(key, _)| key == "code").map(|m| m.1);
        let code_is_5 = matches!(code, Some("5" | "\"5\""));
        status == 400 && code_is_5
    }
}

/// The `maxPayload` assumed when a (pre-4.x) server omits it from the
/// handshake: the Engine.IO reference default of 1 MB, in bytes.
pub const DEFAULT_MAX_PAYLOAD: u64 = 1_000_000;

/// Separates packets inside an HTTP long-polling body. It is a control
/// character, so JSON encoders always escape it and it never appears raw
/// inside a Socket.IO payload.
pub const RECORD_SEPARATOR: char = '\u{1e}';

/// The handshake a server sends in its open packet. Clients need it to know
/// their session id, when to expect pings and how big a message may be.
/// Times are in milliseconds, `max_payload` in bytes.
///
/// Decoding is lenient, because real servers differ: unknown fields are
/// ignored and a missing `maxPayload` defaults to [`DEFAULT_MAX_PAYLOAD`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPacket {
    /// The Engine.IO session id (not the Socket.IO namespace sid).
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` on polling,
    /// empty on a websocket connection).
    pub upgrades: Vec<String>,
    /// How often the server pings, in milliseconds.
    pub ping_interval: u64,
    /// How long the server waits for a pong, in milliseconds.
    pub ping_timeout: u64,
    /// The largest payload the peer accepts, in bytes.
    pub max_payload: u64,
}

/// One Engine.IO packet: the typed form of a text frame, so callers match
/// on variants instead of peeking at digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnginePacket {
    /// `0`: the server's handshake, first packet of every session.
    Open(OpenPacket),
    /// `1`: either side ends the session. Any trailing data is ignored.
    Close,
    /// `2`: liveness probe; the data is usually empty, `probe` during an upgrade.
    Ping(String),
    /// `3`: answer to a ping, echoing its data.
    Pong(String),
    /// `4`: an application message (for us, an encoded Socket.IO packet).
    Message(String),
    /// `5`: completes a transport upgrade. Any trailing data is ignored.
    Upgrade,
    /// `6`: flushes a pending poll during an upgrade. Any trailing data is ignored.
    Noop,
}

/// Why a frame could not be decoded. Each message is meant to be logged as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// A frame must contain at least its type digit.
    #[error("empty Engine.IO frame")]
    Empty,
    /// The first character is not one of the packet type digits `0`..=`6`.
    #[error("unknown Engine.IO packet type {}", QuotedChar(*.0))]
    UnknownType(char),
    /// The open packet's handshake JSON is malformed, lacks a required field
    /// or has one of the wrong type; says which.
    #[error("invalid Engine.IO open packet: {0}")]
    BadOpen(String),
    /// Binary frames (websocket binary or polling `b`+base64) are not supported.
    #[error("binary Engine.IO packets are not supported")]
    BinaryUnsupported,
}

impl EnginePacket {
    /// Parses one text frame (a websocket text message, or one packet of a
    /// polling body). Trailing data on close, upgrade and noop is ignored, as
    /// the reference engine.io-parser does.
    ///
    /// # Errors
    /// [`EngineError::Empty`] for an empty frame, [`EngineError::UnknownType`]
    /// for a bad type character, [`EngineError::BadOpen`] for a malformed
    /// handshake and [`EngineError::BinaryUnsupported`] for `b`+base64 frames.
    pub fn decode(frame: &str) -> Result<Self, EngineError> {
        let mut chars = frame.chars();
        let kind = chars.next().ok_or(EngineError::Empty)?;
        let data = chars.as_str();
        match kind {
            '0' => decode_open(data).map(Self::Open),
            '1' => Ok(Self::Close),
            '2' => Ok(Self::Ping(data.to_owned())),
            '3' => Ok(Self::Pong(data.to_owned())),
            '4' => Ok(Self::Message(data.to_owned())),
            '5' => Ok(Self::Upgrade),
            '6' => Ok(Self::Noop),
            // Polling marks base64-encoded binary packets with a leading `b`.
            'b' => Err(EngineError::BinaryUnsupported),
            other => Err(EngineError::UnknownType(other)),
        }
    }

    /// Writes the packet as one text frame; `decode` reads it back unchanged.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::from(self.type_digit());
        match self {
            Self::Open(open) => out.push_str(&encode_open(open)),
            Self::Ping(data) | Self::Pong(data) | Self::Message(data) => out.push_str(data),
            Self::Close | Self::Upgrade | Self::Noop => {}
        }
        out
    }

    /// The digit that starts this packet's frame.
    fn type_digit(&self) -> char {
        match self {
            Self::Open(_) => '0',
            Self::Close => '1',
            Self::Ping(_) => '2',
            Self::Pong(_) => '3',
            Self::Message(_) => '4',
            Self::Upgrade => '5',
            Self::Noop => '6',
        }
    }
}

/// Parses the handshake JSON that follows the `0`: an object with `sid`
/// (string), `upgrades` (array of strings), `pingInterval` and `pingTimeout`
/// (non-negative integers) and optionally `maxPayload`; other members are
/// ignored, a repeated known member is an error.
fn decode_open(text: &str) -> Result<OpenPacket, EngineError> {
    let bad = |why: String| EngineError::BadOpen(why);
    let members = json::object_members(text).map_err(|e| bad(e.to_string()))?;
    let mut fields: [Option<&str>; 5] = [None; 5];
    const NAMES: [&str; 5] = [
        "sid",
        "upgrades",
        "pingInterval",
        "pingTimeout",
        "maxPayload",
    ];
    for (key, value) in &members {
        if let Some(i) = NAMES.iter().position(|name| name == key) {
            if fields[i].replace(value).is_some() {
                return Err(bad(format!("duplicate field `{key}`")));
            }
        }
    }
    let required = |i: usize| fields[i].ok_or_else(|| bad(format!("missing field `{}`", NAMES[i])));
    let integer = |i: usize, text: &str| {
        text.parse::<u64>()
            .map_err(|_| bad(format!("`{}` is not a non-negative integer", NAMES[i])))
    };
    let sid = json::string(required(0)?).map_err(|e| bad(format!("`sid`: {e}")))?;
    let upgrades = json::array_elements(required(1)?)
        .map_err(|e| bad(format!("`upgrades`: {e}")))?
        .into_iter()
        .map(|item| json::string(item).map_err(|e| bad(format!("`upgrades`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OpenPacket {
        sid,
        upgrades,
        ping_interval: integer(2, required(2)?)?,
        ping_timeout: integer(3, required(3)?)?,
        max_payload: match fields[4] {
            Some(text) => integer(4, text)?,
            None => DEFAULT_MAX_PAYLOAD,
        },
    })
}

/// Writes the handshake with its fields in the order node's server uses.
fn encode_open(open: &OpenPacket) -> String {
    let mut out = String::from("{\"sid\":");
    json::quote(&open.sid, &mut out);
    out.push_str(",\"upgrades\":[");
    for (i, upgrade) in open.upgrades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::quote(upgrade, &mut out);
    }
    out.push_str(&format!(
        "],\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
        open.ping_interval, open.ping_timeout, open.max_payload
    ));
    out
}

/// Splits an HTTP long-polling body into its packets and decodes each one.
///
/// Every packet gets its own result so a caller can decide whether one bad
/// packet spoils the whole body (the reference server closes the session) or
/// just gets logged. An empty body yields one `Err(EngineError::Empty)`.
pub fn decode_payload(body: &str) -> Vec<Result<EnginePacket, EngineError>> {
    body.split(RECORD_SEPARATOR)
        .map(EnginePacket::decode)
        .collect()
}

/// Joins packets into one HTTP long-polling body.
///
/// The separator is not escaped: a `Ping`, `Pong` or `Message` whose data
/// contains a raw `'\x1e'` would be split by the receiver. Socket.IO messages
/// never do, since JSON escapes control characters.
pub fn encode_payload(packets: &[EnginePacket]) -> String {
    let frames: Vec<String> = packets.iter().map(EnginePacket::encode).collect();
    frames.join(&RECORD_SEPARATOR.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusals recorded from a v5-only node socket.io 4.8.4 and from
    /// socketioxide without its `v4` feature, for an EIO=3 handshake.
    #[test]
    fn an_unsupported_version_refusal_is_recognised() {
        assert!(Protocol::refused(
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        ));
        assert!(Protocol::refused(
            400,
            r#"{"code":"5","message":"Unsupported protocol version"}"#
        ));
        assert!(!Protocol::refused(
            400,
            r#"{"code":"1","message":"Session ID unknown"}"#
        ));
        assert!(Protocol::refused(
            400,
            r#""The client is using an unsupported version of the Socket.IO or Engine.IO protocols""#
        ));
        assert!(!Protocol::refused(404, "Not Found"));
        assert!(!Protocol::refused(500, r#"{"code":5}"#));
        assert_eq!(
            Protocol::V3.websocket_path(),
            "/socket.io/?EIO=3&transport=websocket"
        );
        assert_eq!(Protocol::V4.websocket_path(), WEBSOCKET_PATH);
    }

    #[test]
    fn missing_max_payload_defaults() {
        let frame =
            r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}"#;
        let Ok(EnginePacket::Open(open)) = EnginePacket::decode(frame) else {
            panic!("open packet expected");
        };
        assert_eq!(open.max_payload, DEFAULT_MAX_PAYLOAD);
    }

    #[test]
    fn unknown_open_fields_are_ignored() {
        let frame = r#"0{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3,"future":{"x":[1]}}"#;
        assert!(matches!(
            EnginePacket::decode(frame),
            Ok(EnginePacket::Open(_))
        ));
    }

    #[test]
    fn open_without_sid_is_rejected() {
        let frame = r#"0{"upgrades":[],"pingInterval":1,"pingTimeout":2}"#;
        assert!(matches!(
            EnginePacket::decode(frame),
            Err(EngineError::BadOpen(_))
        ));
    }

    #[test]
    fn trailing_data_on_dataless_packets_is_ignored() {
        assert_eq!(EnginePacket::decode("1bye"), Ok(EnginePacket::Close));
        assert_eq!(EnginePacket::decode("5x"), Ok(EnginePacket::Upgrade));
        assert_eq!(EnginePacket::decode("6x"), Ok(EnginePacket::Noop));
    }

    #[test]
    fn unknown_and_empty_frames_are_errors() {
        assert_eq!(EnginePacket::decode(""), Err(EngineError::Empty));
        assert_eq!(
            EnginePacket::decode("7"),
            Err(EngineError::UnknownType('7'))
        );
        assert_eq!(
            EnginePacket::decode("é4"),
            Err(EngineError::UnknownType('é'))
        );
        assert_eq!(
            EnginePacket::decode("bAQID"),
            Err(EngineError::BinaryUnsupported)
        );
    }

    #[test]
    fn open_fields_of_the_wrong_type_or_twice_are_rejected() {
        for frame in [
            r#"0{"sid":1,"upgrades":[],"pingInterval":1,"pingTimeout":2}"#,
            r#"0{"sid":"s","upgrades":[1],"pingInterval":1,"pingTimeout":2}"#,
            r#"0{"sid":"s","upgrades":[],"pingInterval":-1,"pingTimeout":2}"#,
            r#"0{"sid":"s","upgrades":[],"pingInterval":1.5,"pingTimeout":2}"#,
            r#"0{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2,"sid":"t"}"#,
            r#"0{"sid":"s","upgrades":[],"pingInterval":1}"#,
            r#"0["sid"]"#,
            r#"0{"sid":"s","#,
        ] {
            assert!(
                matches!(EnginePacket::decode(frame), Err(EngineError::BadOpen(_))),
                "{frame}"
            );
        }
    }

    #[test]
    fn open_round_trips_with_escapes() {
        let open = OpenPacket {
            sid: "a\"b\\c".into(),
            upgrades: vec!["websocket".into(), "x".into()],
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 1_000_000,
        };
        let frame = EnginePacket::Open(open.clone()).encode();
        assert_eq!(
            frame,
            r#"0{"sid":"a\"b\\c","upgrades":["websocket","x"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(EnginePacket::decode(&frame), Ok(EnginePacket::Open(open)));
    }

    #[test]
    fn message_keeps_multibyte_data() {
        let packet = EnginePacket::Message("héllo ✓".into());
        assert_eq!(packet.encode(), "4héllo ✓");
        assert_eq!(EnginePacket::decode("4héllo ✓"), Ok(packet));
    }
}
