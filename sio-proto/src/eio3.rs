//! Engine.IO v3 long-polling bodies (the 2016 generation), sans IO.
//!
//! The packets are v4's text frames ([`EnginePacket`]); what differs is the
//! body that carries several of them in one HTTP request or response:
//! - **text framing**, `<length>:<packet>` repeated: what clients POST
//!   (`6:40/iss`) and what some servers answer (socketioxide's `v4`);
//! - **binary framing**, what python-engineio 3 and engine.io 1.6 answer an
//!   XHR2 client: per packet a `0x00` byte, the length as decimal-digit
//!   *bytes* (`0x09 0x08` for 98), `0xFF`, then the packet's UTF-8 bytes. A
//!   `0x01` byte instead of `0x00` marks a binary packet, which this client
//!   does not support.
//!
//! The length unit is a trap: in text framing the JavaScript reference
//! counts UTF-16 units and python-engineio code points (socket.io-client
//! 1.4.4 counts the code points of a string it UTF-8-encoded once more, so
//! bytes); binary framing counts bytes. They agree on ASCII and differ on
//! characters beyond the Basic Multilingual Plane. Text decoding therefore
//! accepts either UTF-16 units or code points, choosing the reading after
//! which the body ends or the next packet's `<digits>:` begins. Encoding
//! writes UTF-16 units, as the JavaScript reference parser reads them.

use crate::engineio::{EngineError, EnginePacket};

/// The most digits a packet length may have (a billion characters is
/// already far beyond any server's payload limit).
const MAX_LENGTH_DIGITS: usize = 9;

/// Why a v3 polling body could not be read. Framing errors spoil the whole
/// body (the next packet cannot be found), as in the reference parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Eio3Error {
    #[error("empty Engine.IO v3 payload")]
    Empty,
    #[error("bad packet length at byte {at} of an Engine.IO v3 payload")]
    BadLength { at: usize },
    #[error("an Engine.IO v3 payload ends inside a packet")]
    Truncated,
    #[error("a packet of an Engine.IO v3 payload is not UTF-8")]
    NotUtf8,
    #[error("an Engine.IO v3 payload of more than {max} packets")]
    TooManyPackets { max: usize },
    #[error(transparent)]
    Packet(#[from] EngineError),
}

/// Reads a polling response body: binary framing when it starts with a
/// `0x00`/`0x01` byte, text framing otherwise.
///
/// # Errors
/// The first framing or packet error.
pub fn decode_payload(body: &[u8]) -> Result<Vec<EnginePacket>, Eio3Error> {
    match body.first() {
        None => Err(Eio3Error::Empty),
        Some(0 | 1) => decode_binary_payload(body),
        Some(_) => {
            let text = std::str::from_utf8(body).map_err(|_| Eio3Error::NotUtf8)?;
            decode_text_payload(text)
        }
    }
}

/// Reads a text-framed body, `<length>:<packet>` repeated, with the length
/// in UTF-16 units or code points (see the module docs).
///
/// # Errors
/// [`Eio3Error`] for an empty body, a length that is missing, too long or
/// fits no unit, and for a packet that does not decode.
pub fn decode_text_payload(body: &str) -> Result<Vec<EnginePacket>, Eio3Error> {
    split_text_payload(body)?
        .into_iter()
        .map(|packet| EnginePacket::decode(packet).map_err(Eio3Error::from))
        .collect()
}

/// Splits a text-framed body into its packets' texts, undecoded (for a
/// proxy or server layer that rewrites the framing and must not touch the
/// packets).
///
/// # Errors
/// [`Eio3Error`] for an empty body and a length that is missing, too long
/// or fits no unit.
pub fn split_text_payload(body: &str) -> Result<Vec<&str>, Eio3Error> {
    split_text_payload_at_most(body, usize::MAX)
}

/// [`split_text_payload`], giving up at the packet after the first `max`
/// (a server bounds its work per request so).
///
/// # Errors
/// As [`split_text_payload`], and [`Eio3Error::TooManyPackets`].
pub fn split_text_payload_at_most(body: &str, max: usize) -> Result<Vec<&str>, Eio3Error> {
    if body.is_empty() {
        return Err(Eio3Error::Empty);
    }
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        if packets.len() == max {
            return Err(Eio3Error::TooManyPackets { max });
        }
        let (length, start) = text_length(body, pos)?;
        let end = packet_end(body, start, length).ok_or(Eio3Error::BadLength { at: pos })?;
        packets.push(&body[start..end]);
        pos = end;
    }
    Ok(packets)
}

/// Reads a binary-framed body (see the module docs).
///
/// # Errors
/// [`Eio3Error`] for an empty or truncated body, a bad length, a binary
/// packet ([`EngineError::BinaryUnsupported`]) and a packet that does not
/// decode.
pub fn decode_binary_payload(body: &[u8]) -> Result<Vec<EnginePacket>, Eio3Error> {
    split_binary_payload(body)?
        .into_iter()
        .map(|packet| EnginePacket::decode(packet).map_err(Eio3Error::from))
        .collect()
}

/// Splits a polling body in either framing (see [`decode_payload`]) into
/// its packets' texts, undecoded.
///
/// # Errors
/// As [`split_text_payload`] and [`split_binary_payload`].
pub fn split_payload(body: &[u8]) -> Result<Vec<&str>, Eio3Error> {
    match body.first() {
        None => Err(Eio3Error::Empty),
        Some(0 | 1) => split_binary_payload(body),
        Some(_) => split_text_payload(std::str::from_utf8(body).map_err(|_| Eio3Error::NotUtf8)?),
    }
}

/// Splits a binary-framed body into its packets' texts, undecoded.
///
/// # Errors
/// [`Eio3Error`] for an empty or truncated body, a bad length, a binary
/// packet and a packet that is not UTF-8.
pub fn split_binary_payload(body: &[u8]) -> Result<Vec<&str>, Eio3Error> {
    split_binary_payload_at_most(body, usize::MAX)
}

/// [`split_binary_payload`], giving up at the packet after the first `max`.
///
/// # Errors
/// As [`split_binary_payload`], and [`Eio3Error::TooManyPackets`].
pub fn split_binary_payload_at_most(body: &[u8], max: usize) -> Result<Vec<&str>, Eio3Error> {
    if body.is_empty() {
        return Err(Eio3Error::Empty);
    }
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        if packets.len() == max {
            return Err(Eio3Error::TooManyPackets { max });
        }
        match body[pos] {
            0 => {}
            1 => return Err(EngineError::BinaryUnsupported.into()),
            _ => return Err(Eio3Error::BadLength { at: pos }),
        }
        let (length, start) = binary_length(body, pos + 1)?;
        let end = start.checked_add(length).ok_or(Eio3Error::Truncated)?;
        let bytes = body.get(start..end).ok_or(Eio3Error::Truncated)?;
        packets.push(std::str::from_utf8(bytes).map_err(|_| Eio3Error::NotUtf8)?);
        pos = end;
    }
    Ok(packets)
}

/// Writes packets as a text-framed body, each length in UTF-16 units.
#[must_use]
pub fn encode_text_payload(packets: &[EnginePacket]) -> String {
    let texts: Vec<String> = packets.iter().map(EnginePacket::encode).collect();
    encode_text_frames(texts.iter().map(String::as_str))
}

/// Frames encoded packets as a text body, each length in UTF-16 units.
#[must_use]
pub fn encode_text_frames<'a>(packets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for text in packets {
        out.push_str(&text.encode_utf16().count().to_string());
        out.push(':');
        out.push_str(text);
    }
    out
}

/// Frames encoded (text) packets as a binary body: per packet `0x00`, the
/// UTF-8 byte length as decimal-digit bytes, `0xFF`, the UTF-8 bytes. The
/// framing every v3 client reads the same way, whatever its text length unit.
#[must_use]
pub fn encode_binary_frames<'a>(packets: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    for text in packets {
        out.push(0);
        out.extend(text.len().to_string().bytes().map(|digit| digit - b'0'));
        out.push(0xFF);
        out.extend_from_slice(text.as_bytes());
    }
    out
}

/// The decimal length at `pos` and where its packet starts (after `:`).
fn text_length(body: &str, pos: usize) -> Result<(usize, usize), Eio3Error> {
    let rest = &body[pos..];
    let digits = leading_digits(rest);
    if digits == 0 || digits > MAX_LENGTH_DIGITS || rest.as_bytes().get(digits) != Some(&b':') {
        return Err(Eio3Error::BadLength { at: pos });
    }
    let length = rest[..digits]
        .parse()
        .map_err(|_| Eio3Error::BadLength { at: pos })?;
    Ok((length, pos + digits + 1))
}

/// The length written as digit bytes (0–9) up to `0xFF`, from `pos`, and
/// where its packet starts.
fn binary_length(body: &[u8], pos: usize) -> Result<(usize, usize), Eio3Error> {
    // At most one digit past the limit is looked at: a hostile run of digit
    // bytes costs no more than a short one.
    let digits: Vec<u8> = body[pos..]
        .iter()
        .take(MAX_LENGTH_DIGITS + 1)
        .take_while(|b| **b <= 9)
        .copied()
        .collect();
    if digits.is_empty() || digits.len() > MAX_LENGTH_DIGITS {
        return Err(Eio3Error::BadLength { at: pos });
    }
    match body.get(pos + digits.len()) {
        Some(0xFF) => {}
        Some(_) => return Err(Eio3Error::BadLength { at: pos }),
        None => return Err(Eio3Error::Truncated),
    }
    let length = digits.iter().fold(0, |n, d| n * 10 + usize::from(*d));
    Ok((length, pos + digits.len() + 1))
}

/// Where a packet of `length` starting at `start` ends: the first of the
/// UTF-16 and code point readings after which the body ends or the next
/// `<digits>:` begins.
///
/// Each reading walks at most `length` characters, and the second is only
/// tried when the first fails, so splitting a body costs time linear in its
/// size whatever the lengths claim.
fn packet_end(body: &str, start: usize, length: usize) -> Option<usize> {
    let tail = &body[start..];
    let fits = |end: usize| end == tail.len() || starts_a_packet(&tail[end..]);
    end_after(tail, length, char::len_utf16)
        .filter(|&end| fits(end))
        .or_else(|| end_after(tail, length, |_| 1).filter(|&end| fits(end)))
        .map(|end| start + end)
}

/// The byte offset after `length` units of `text`, each char counting
/// `units(c)`; `None` if no char boundary falls exactly there. Stops as
/// soon as the count reaches or passes `length`: walking on after a
/// character that straddles the boundary made splitting quadratic.
fn end_after(text: &str, length: usize, units: impl Fn(char) -> usize) -> Option<usize> {
    let mut counted = 0;
    for (offset, c) in text.char_indices() {
        if counted >= length {
            return (counted == length).then_some(offset);
        }
        counted += units(c);
    }
    (counted == length).then_some(text.len())
}

/// Whether `rest` begins with a packet length: digits, then `:`.
fn starts_a_packet(rest: &str) -> bool {
    let digits = leading_digits(rest);
    digits > 0 && digits <= MAX_LENGTH_DIGITS && rest.as_bytes().get(digits) == Some(&b':')
}

/// How many ASCII digits `text` starts with, counting no further than one
/// past [`MAX_LENGTH_DIGITS`] (enough to refuse a longer run).
fn leading_digits(text: &str) -> usize {
    text.bytes()
        .take(MAX_LENGTH_DIGITS + 1)
        .take_while(u8::is_ascii_digit)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::OpenPacket;

    /// python-engineio 3.14.2 (the seed backend, threading mode): the
    /// handshake answer to an XHR2 client, binary framing.
    #[test]
    fn python_engineio_3_handshake_in_binary_framing() {
        let open = r#"0{"sid":"c9536a9a9eea4b9888a1a124287360f1","upgrades":[],"pingTimeout":60000,"pingInterval":25000}"#;
        assert_eq!(open.len(), 98);
        let mut body = vec![0x00, 9, 8, 0xFF];
        body.extend_from_slice(open.as_bytes());
        body.extend_from_slice(&[0x00, 2, 0xFF]);
        body.extend_from_slice(b"40");
        let packets = decode_payload(&body).expect("decodes");
        let [EnginePacket::Open(OpenPacket {
            sid,
            upgrades,
            ping_interval: 25_000,
            ping_timeout: 60_000,
            ..
        }), EnginePacket::Message(connect)] = &packets[..]
        else {
            panic!("open and 40 expected, got {packets:?}");
        };
        assert_eq!(sid, "c9536a9a9eea4b9888a1a124287360f1");
        assert!(upgrades.is_empty());
        assert_eq!(connect, "0");
    }

    /// The seed backend with eventlet offers the websocket; its open packet
    /// is 109 bytes, so the length takes three digit bytes.
    #[test]
    fn python_engineio_3_eventlet_handshake_offers_the_websocket() {
        let open = r#"0{"sid":"a8bd86f7b8774812a09f8a7784cd18ee","upgrades":["websocket"],"pingTimeout":60000,"pingInterval":25000}"#;
        let mut body = vec![0x00, 1, 0, 9, 0xFF];
        body.extend_from_slice(open.as_bytes());
        body.extend_from_slice(&[0x00, 2, 0xFF]);
        body.extend_from_slice(b"40");
        let packets = decode_payload(&body).expect("decodes");
        assert!(
            matches!(&packets[..], [EnginePacket::Open(OpenPacket { upgrades, .. }), EnginePacket::Message(m)]
                if upgrades == &["websocket"] && m == "0"),
            "{packets:?}"
        );
    }

    /// The seed backend's answer to the first poll: `connected` before the
    /// CONNECT ack, and a pong.
    #[test]
    fn python_engineio_3_events_and_pong() {
        let mut body = vec![0x00, 2, 0, 0xFF];
        body.extend_from_slice(br#"42/iss,["connected"]"#);
        body.extend_from_slice(&[0x00, 6, 0xFF]);
        body.extend_from_slice(b"40/iss");
        assert_eq!(
            decode_payload(&body),
            Ok(vec![
                EnginePacket::Message(r#"2/iss,["connected"]"#.into()),
                EnginePacket::Message("0/iss".into()),
            ])
        );
        assert_eq!(
            decode_payload(&[0x00, 1, 0xFF, b'3']),
            Ok(vec![EnginePacket::Pong(String::new())])
        );
    }

    /// socketioxide 0.18.9 with `v4`: text framing whose lengths count
    /// UTF-16 units (85 for 86 bytes with "ë"), which 1.4.4 cannot read.
    #[test]
    fn socketioxide_v4_text_framing_with_utf16_lengths() {
        let event = r#"42/iss,["connected",{"greeting":"Zoë","uuid":"0bc43071-ec7d-11f1-baeb-010203040506"}]"#;
        assert_eq!((event.encode_utf16().count(), event.len()), (85, 86));
        let body = format!("2:407:40/iss,85:{event}");
        assert_eq!(
            decode_payload(body.as_bytes()),
            Ok(vec![
                EnginePacket::Message("0".into()),
                EnginePacket::Message("0/iss,".into()),
                EnginePacket::Message(event[1..].into()),
            ])
        );
    }

    /// The same packet with its length in code points (python-engineio's
    /// unit) reads the same; an astral character tells the units apart.
    #[test]
    fn both_text_length_units_read_the_same() {
        let packet = "42/iss,[\"identify\",\"Zoë 🦀\"]";
        let units = [packet.encode_utf16().count(), packet.chars().count()];
        assert_eq!(units, [28, 27]);
        for length in units {
            let body = format!("{length}:{packet}1:2");
            assert_eq!(
                decode_text_payload(&body),
                Ok(vec![
                    EnginePacket::Message(packet[1..].into()),
                    EnginePacket::Ping(String::new())
                ]),
                "{length}"
            );
        }
    }

    /// What socket.io-client 1.4.4 POSTs for ASCII, byte for byte.
    #[test]
    fn client_bodies_match_the_seed_client() {
        let message = |text: &str| EnginePacket::Message(text.into());
        assert_eq!(encode_text_payload(&[message("0/iss")]), "6:40/iss");
        assert_eq!(
            encode_text_payload(&[message(r#"2/iss,["identify","Ada"]"#)]),
            r#"25:42/iss,["identify","Ada"]"#
        );
        assert_eq!(
            encode_text_payload(&[EnginePacket::Ping(String::new())]),
            "1:2"
        );
    }

    /// Binary framing as python-engineio 3 writes it (lengths in bytes as
    /// digit bytes), read back by the decoder; "ë" counts two.
    #[test]
    fn binary_frames_count_bytes_like_python_engineio_3() {
        let connected = "42/iss,[\"connected\",\"Zoë\"]";
        let body = encode_binary_frames(["40", connected]);
        let mut expected = vec![0x00, 2, 0xFF, b'4', b'0', 0x00, 2, 7, 0xFF];
        expected.extend_from_slice(connected.as_bytes());
        assert_eq!(connected.len(), 27);
        assert_eq!(body, expected);
        assert_eq!(
            decode_payload(&body),
            Ok(vec![
                EnginePacket::Message("0".into()),
                EnginePacket::Message(connected[1..].into())
            ])
        );
    }

    /// Splitting keeps each packet's text as it was; framing it again as
    /// text gives UTF-16 lengths.
    #[test]
    fn split_then_frame_again_keeps_the_packets() {
        let body = "2:4028:42/iss,[\"identify\",\"Zoë 🦀\"]";
        let packets = split_text_payload(body).expect("splits");
        assert_eq!(packets, ["40", "42/iss,[\"identify\",\"Zoë 🦀\"]"]);
        assert_eq!(encode_text_frames(packets), body);
    }

    #[test]
    fn framing_errors_are_reported() {
        assert_eq!(decode_payload(b""), Err(Eio3Error::Empty));
        assert_eq!(
            decode_text_payload("x:40"),
            Err(Eio3Error::BadLength { at: 0 })
        );
        assert_eq!(
            decode_text_payload("9:40"),
            Err(Eio3Error::BadLength { at: 0 })
        );
        assert_eq!(
            decode_text_payload("2:40junk"),
            Err(Eio3Error::BadLength { at: 0 })
        );
        assert_eq!(
            decode_text_payload("1234567890:4"),
            Err(Eio3Error::BadLength { at: 0 })
        );
        assert_eq!(
            decode_binary_payload(&[0x00, 5, 0xFF, b'4']),
            Err(Eio3Error::Truncated)
        );
        assert_eq!(
            decode_binary_payload(&[0x01, 1, 0xFF, 4]),
            Err(Eio3Error::Packet(EngineError::BinaryUnsupported))
        );
        assert_eq!(
            decode_binary_payload(&[0x00, 1, 0xFF, 0xC3]),
            Err(Eio3Error::NotUtf8)
        );
        assert_eq!(
            decode_text_payload("1:9"),
            Err(Eio3Error::Packet(EngineError::UnknownType('9')))
        );
    }

    /// A length that ends inside a character beyond the BMP (UTF-16 reading)
    /// is read in code points instead, packet after packet.
    #[test]
    fn straddling_lengths_fall_back_to_code_points() {
        let body = "2:4🦀".repeat(3);
        assert_eq!(split_text_payload(&body), Ok(vec!["4🦀"; 3]));
    }

    /// The work per packet is bounded by its own length, never the rest of
    /// the body: the walk stops at the first character past the length, and
    /// digit runs are read no further than one past the longest length.
    #[test]
    fn splitting_looks_no_further_than_each_packet() {
        let visited = std::cell::Cell::new(0);
        let count = |c: char| {
            visited.set(visited.get() + 1);
            c.len_utf16()
        };
        let tail = format!("🦀{}", "x".repeat(10_000));
        assert_eq!(end_after(&tail, 1, count), None);
        assert_eq!(visited.get(), 1, "stopped after the straddling character");
        let digits = "7".repeat(100_000);
        assert_eq!(leading_digits(&digits), MAX_LENGTH_DIGITS + 1);
        assert!(!starts_a_packet(&digits));
    }
}
