//! Engine.IO v3 long-polling bodies, repaired between the 2016 clients and
//! socketioxide.
//!
//! socketioxide's `v4` feature speaks the seed's protocol generation, but
//! over long-polling two things break non-ASCII text for the seed's own
//! client, socket.io-client 1.4.4. This layer sits in front of socketioxide
//! and, for `EIO=3&transport=polling` requests only, fixes both:
//!
//! - **What clients POST.** 1.4.4 UTF-8-encodes each packet into a
//!   byte-per-character string before framing it, and the browser's XHR
//!   UTF-8-encodes that string once more: "Zoë" arrives as "ZoÃ«". The 2016
//!   JavaScript server decoded a second time; socketioxide (like
//!   python-engineio 3 and node's `allowEIO3`) does not. We undo the second
//!   encoding of a packet when it is evidently there: every character below
//!   U+0100, some above U+007F, and those characters, read as bytes, are
//!   valid UTF-8. A client that does not double-encode (socket.io-client 2.x)
//!   produces such a packet only by sending Latin-1 text that spells UTF-8
//!   sequences ("Ã«"); that text would be read as the character it spells.
//! - **What the server answers.** socketioxide answers a client that reads
//!   binary (no `b64=1`) in text framing, `<length>:<packet>`, counting
//!   UTF-16 units. 1.4.4 counts bytes there, fails on the first non-ASCII
//!   packet, and reconnects in a loop. The reference servers of that
//!   generation (engine.io 1.x–3.x, python-engineio 3) answer such clients in
//!   binary framing, whose lengths are bytes and which every v3 client reads
//!   the same way; we re-frame socketioxide's answer so.
//!
//! - **What socketioxide is given.** Every v3 POST body is parsed here
//!   first, strictly and in linear time, and only a well-formed payload of
//!   client packets goes on, framed again by us; anything else gets `400`
//!   with the reason. engineioxide-core 0.2.3's own v3 decoder loops for
//!   ever, without yielding, on a length that ends inside a character
//!   (`1:🦀x`: one request froze the whole server), and is quadratic on
//!   many small packets; `vendor/engineioxide-core` carries the upstream fix
//!   of the first (see `docs/PROTOCOL.md`, section 7).
//!
//! Requests are classified as engineioxide classifies them
//! ([`crate::http::engine_request`]). Everything else (websocket, EIO=4, error
//! answers, binary answers) passes through untouched; socketioxide answers
//! its own errors. The upstream report is in `docs/PROTOCOL.md`, section 6.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sio_proto::eio3::{
    encode_binary_frames, encode_text_frames, split_binary_payload_at_most,
    split_text_payload_at_most, Eio3Error,
};
use sio_proto::engineio::ENDPOINT_PATH;

use crate::http::engine_request::EngineRequest;
use crate::observe::metrics::{Metrics, Refusal};

/// The most packets one POST may carry. socket.io-client 1.4.4 POSTs what
/// it queued while the previous POST was in flight: a handful. Thousands of
/// tiny packets in one body cost socketioxide ≈ 0.3 µs each (15–30 ms of
/// CPU for 256 KiB); past this the body is refused after a bounded scan.
pub const MAX_PACKETS_PER_POST: usize = 128;

/// The content type of a binary-framed polling body (engineioxide reads a
/// POST with exactly this type in binary framing, any other in text).
const BINARY: &str = "application/octet-stream";

/// Which body of a v3 polling exchange needs repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// A POST from the client: check it, undo the double UTF-8 encoding.
    Request,
    /// The answer to a GET from a client that reads binary: re-frame.
    Response,
}

/// axum middleware: repairs v3 polling bodies (see the module docs). The
/// state is the server's payload limit, which bounds what is read here.
pub async fn repair(
    State((max_payload, metrics)): State<(u64, Arc<Metrics>)>,
    req: Request,
    next: Next,
) -> Response {
    match classify(&req) {
        None => next.run(req).await,
        Some(Repair::Request) => match checked_request(req, max_payload, &metrics).await {
            Ok(req) => next.run(req).await,
            Err(refusal) => refusal,
        },
        Some(Repair::Response) => reframe(next.run(req).await).await,
    }
}

/// Whether (and how) a request takes part in a v3 polling exchange, read as
/// engineioxide reads it.
fn classify(req: &Request) -> Option<Repair> {
    let engine = EngineRequest::parse(req.uri(), ENDPOINT_PATH)?;
    if !engine.is_v3_polling() {
        return None;
    }
    match *req.method() {
        Method::POST => Some(Repair::Request),
        // A client that asked for base64 reads text framing only.
        Method::GET if !engine.b64 => Some(Repair::Response),
        _ => None,
    }
}

/// A v3 POST with its body read, checked and framed again for
/// socketioxide, or the answer that refuses it.
///
/// Only a well-formed payload passes: engineioxide-core 0.2.3's v3 text
/// decoder loops for ever on some malformed ones (a length that ends inside
/// a character) and is quadratic on many small packets, so socketioxide
/// never sees the client's bytes, only ours: one body chunk per packet,
/// which keeps its decoder's work per packet.
async fn checked_request(
    req: Request,
    max_payload: u64,
    metrics: &Metrics,
) -> Result<Request, Response> {
    let (mut parts, body) = req.into_parts();
    let limit = usize::try_from(max_payload).unwrap_or(usize::MAX);
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|err| unreadable(err, metrics))?;
    let binary = parts.headers.get(header::CONTENT_TYPE) == Some(&HeaderValue::from_static(BINARY));
    let frames = if binary {
        binary_request_frames(&bytes)
    } else {
        text_request_frames(&bytes)
    }
    .map_err(|err| {
        metrics.refused(Refusal::BadV3Body);
        tracing::debug!(%err, "refused an Engine.IO v3 polling body");
        (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response()
    })?;
    let length: usize = frames.iter().map(Bytes::len).sum();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let chunks = frames.into_iter().map(Ok::<_, Infallible>);
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    Ok(Request::from_parts(parts, body))
}

/// The answer to a body that could not be read: over the payload limit,
/// too slow (see [`crate::http::deadline`]) or cut off.
fn unreadable(err: axum::Error, metrics: &Metrics) -> Response {
    let too_large = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .any(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        metrics.refused(Refusal::BodyTooLarge);
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "polling body over the payload limit\n",
        )
            .into_response();
    }
    crate::http::deadline::refusal(&err).unwrap_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "the request body could not be read\n",
        )
            .into_response()
    })
}

/// Why a polling body is refused, beyond its framing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum BadBody {
    #[error("bad Engine.IO v3 polling body: {0}")]
    Framing(#[from] Eio3Error),
    #[error("bad Engine.IO v3 polling body: the request body is not UTF-8 text")]
    NotText,
    #[error("bad Engine.IO v3 polling body: packet {0} is empty")]
    EmptyPacket(usize),
    #[error("bad Engine.IO v3 polling body: packet {0} is not a packet a client sends")]
    NotAClientPacket(usize),
    #[error(
        "bad Engine.IO v3 polling body: packet {0} is binary, which this server does not accept"
    )]
    Binary(usize),
}

/// A text-framed POST as one text frame per packet, each packet decoded
/// once more where 1.4.4 encoded it twice, lengths in UTF-16 units.
fn text_request_frames(body: &[u8]) -> Result<Vec<Bytes>, BadBody> {
    let text = std::str::from_utf8(body).map_err(|_| BadBody::NotText)?;
    let packets = split_text_payload_at_most(text, MAX_PACKETS_PER_POST)?;
    check_packets(&packets)?;
    Ok(packets
        .iter()
        .map(|packet| {
            let repaired = undo_double_utf8(packet);
            let packet = repaired.as_deref().unwrap_or(packet);
            Bytes::from(encode_text_frames([packet]))
        })
        .collect())
}

/// A binary-framed POST as one binary frame per packet (no repair: the
/// lengths are bytes, which every client counts alike).
fn binary_request_frames(body: &[u8]) -> Result<Vec<Bytes>, BadBody> {
    let packets = split_binary_payload_at_most(body, MAX_PACKETS_PER_POST)?;
    check_packets(&packets)?;
    Ok(packets
        .into_iter()
        .map(|packet| Bytes::from(encode_binary_frames([packet])))
        .collect())
}

/// Every packet is one a client may send: close, ping, pong, message,
/// upgrade or noop (`1`–`6`). Open (`0`) is the server's; base64 binary
/// (`b4…`) is refused like binary frames, since this server takes no
/// binary events.
fn check_packets(packets: &[&str]) -> Result<(), BadBody> {
    for (i, packet) in packets.iter().enumerate() {
        let number = i + 1;
        match packet.as_bytes().first() {
            None => return Err(BadBody::EmptyPacket(number)),
            Some(b'1'..=b'6') => {}
            Some(b'b') => return Err(BadBody::Binary(number)),
            Some(_) => return Err(BadBody::NotAClientPacket(number)),
        }
    }
    Ok(())
}

/// `packet` decoded once more if it is UTF-8 spelled in Latin-1 characters
/// (what 1.4.4 sends), `None` otherwise.
fn undo_double_utf8(packet: &str) -> Option<String> {
    if packet.is_ascii() {
        return None;
    }
    let bytes: Vec<u8> = packet
        .chars()
        .map(u8::try_from)
        .collect::<Result<_, _>>()
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// A text-framed 200 answer re-framed as binary; anything else untouched.
async fn reframe(response: Response) -> Response {
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if response.status() != StatusCode::OK || !is_text {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // socketioxide built this body in memory, bounded by its payload limit.
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(binary) = binary_framed(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(BINARY));
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(binary.len()));
    Response::from_parts(parts, Body::from(binary))
}

/// A text-framed body in binary framing; `None` if it is not one.
fn binary_framed(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let packets = sio_proto::eio3::split_text_payload(text).ok()?;
    Some(encode_binary_frames(packets))
}

#[cfg(test)]
mod tests {
    use super::*;

    use shared::events::ClientEventKind;

    /// What socket.io-client 1.4.4 POSTs for `identify` "Zoë": the packet
    /// UTF-8-encoded into one character per byte, framed with that length,
    /// and UTF-8-encoded again by XHR (recorded from Chromium:
    /// `26:42/iss,["identify","Zo\xc3\x83\xc2\xab"]`).
    /// The body socketioxide is given for a POST of `body`.
    fn repaired(body: &[u8]) -> Result<String, BadBody> {
        let frames = text_request_frames(body)?;
        Ok(frames
            .iter()
            .map(|f| std::str::from_utf8(f).unwrap())
            .collect())
    }

    fn seed_post(name: &str) -> Vec<u8> {
        let packet = format!(
            "42/iss,[\"{}\",\"{name}\"]",
            ClientEventKind::Identify.name()
        );
        let bytes_as_chars: String = packet.bytes().map(char::from).collect();
        format!("{}:{bytes_as_chars}", bytes_as_chars.chars().count()).into_bytes()
    }

    #[test]
    fn the_seed_clients_double_encoding_is_undone() {
        let recorded = b"26:42/iss,[\"identify\",\"Zo\xc3\x83\xc2\xab\"]";
        assert_eq!(seed_post("Zoë"), recorded);
        let expected = format!(
            "25:42/iss,[\"{}\",\"Zoë\"]",
            ClientEventKind::Identify.name()
        );
        assert_eq!(repaired(&seed_post("Zoë")), Ok(expected));
        let crab = format!(
            "42/iss,[\"{}\",\"日本 🦀\"]",
            ClientEventKind::Identify.name()
        );
        assert_eq!(
            repaired(&seed_post("日本 🦀")),
            Ok(encode_text_frames([crab.as_str()]))
        );
    }

    #[test]
    fn single_encoded_text_is_left_alone() {
        // socket.io-client 2.x: plain UTF-8, UTF-16 lengths.
        for name in ["Zoë", "日本 🦀"] {
            let packet = format!(
                "42/iss,[\"{}\",\"{name}\"]",
                ClientEventKind::Identify.name()
            );
            let body = encode_text_frames([packet.as_str()]);
            assert_eq!(repaired(body.as_bytes()), Ok(body));
        }
        assert_eq!(repaired(b"6:40/iss").as_deref(), Ok("6:40/iss"));
    }

    #[test]
    fn several_packets_are_repaired_one_by_one() {
        // A ping and an event, as the server reads the body once: the
        // event's "ë" still spelled as the two characters of its UTF-8.
        let once = "1:219:42/iss,[\"e\",\"ZoÃ«\"]";
        assert_eq!(
            repaired(once.as_bytes()).as_deref(),
            Ok("1:218:42/iss,[\"e\",\"Zoë\"]")
        );
        // One body chunk per packet: socketioxide's decoder never sees more
        // than the packet it is reading.
        assert_eq!(text_request_frames(once.as_bytes()).unwrap().len(), 2);
    }

    /// Every body that is not a well-formed payload of client packets is
    /// refused here, before socketioxide's decoder sees it.
    #[test]
    fn bodies_that_are_not_payloads_are_refused() {
        let framing = |e| Err(BadBody::Framing(e));
        let bad_length = |at| framing(Eio3Error::BadLength { at });
        // The 7 bytes that froze engineioxide-core 0.2.3: a length of 1 that
        // ends inside 🦀, then more; and its variants.
        assert_eq!(repaired(b"1:\xf0\x9f\xa6\x80x"), bad_length(0));
        assert_eq!(
            repaired("1:🦀".as_bytes()),
            Err(BadBody::NotAClientPacket(1))
        );
        assert_eq!(repaired(b"1:\xf0\x9f\xa6\x80\xff"), Err(BadBody::NotText));
        assert_eq!(repaired(b"\xff\xfe"), Err(BadBody::NotText));
        assert_eq!(repaired("é:40".as_bytes()), bad_length(0));
        assert_eq!(repaired(b"6:40/iss trailing"), bad_length(0));
        // A message whose content is not Socket.IO is socketioxide's to refuse.
        assert_eq!(repaired(b"2:4x").as_deref(), Ok("2:4x"));
        assert_eq!(repaired(b""), framing(Eio3Error::Empty));
        assert_eq!(repaired(b"0:"), Err(BadBody::EmptyPacket(1)));
        assert_eq!(repaired(b"1:2"), Ok("1:2".to_owned()));
        assert_eq!(repaired(b"1:21:0"), Err(BadBody::NotAClientPacket(2)));
        assert_eq!(repaired(b"1:9"), Err(BadBody::NotAClientPacket(1)));
        assert_eq!(repaired(b"5:b4AAA"), Err(BadBody::Binary(1)));
        // Bad input #77: thousands of tiny packets in one body.
        let many = "1:3".repeat(MAX_PACKETS_PER_POST);
        assert_eq!(repaired(many.as_bytes()).map(|b| b.len()), Ok(many.len()));
        let too_many = format!("{many}1:3");
        assert_eq!(
            repaired(too_many.as_bytes()),
            framing(Eio3Error::TooManyPackets {
                max: MAX_PACKETS_PER_POST
            })
        );
        assert_eq!(
            binary_request_frames(&[0, 1, 0xFF, b'2', 0, 1, 0xFF, b'x']),
            Err(BadBody::NotAClientPacket(2))
        );
        assert_eq!(
            binary_request_frames(&[1, 1, 0xFF, 4]),
            Err(BadBody::Framing(Eio3Error::Packet(
                sio_proto::engineio::EngineError::BinaryUnsupported
            )))
        );
    }

    /// socketioxide's answer with "ë" (77 UTF-16 units, 78 bytes) becomes
    /// binary framing with the byte length 1.4.4 checks.
    #[test]
    fn answers_are_reframed_with_byte_lengths() {
        let event =
            r#"42/iss,["e",{"greeting":"Zoë","uuid":"0bc43071-ec7d-11f1-baeb-010203040506"}]"#;
        assert_eq!((event.encode_utf16().count(), event.len()), (77, 78));
        let body = format!("2:407:40/iss,77:{event}");
        let binary = binary_framed(body.as_bytes()).expect("a text payload");
        let mut expected = vec![0, 2, 0xFF, b'4', b'0', 0, 7, 0xFF];
        expected.extend_from_slice(b"40/iss,");
        expected.extend_from_slice(&[0, 7, 8, 0xFF]);
        expected.extend_from_slice(event.as_bytes());
        assert_eq!(binary, expected);
        assert_eq!(binary_framed(b"ok"), None);
    }

    #[test]
    fn only_v3_polling_is_touched() {
        let request = |method: Method, uri: &str| {
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap()
        };
        let cases = [
            (
                Method::POST,
                "/socket.io/?EIO=3&transport=polling&sid=a",
                Some(Repair::Request),
            ),
            (
                Method::GET,
                "/socket.io/?EIO=3&transport=polling&t=x",
                Some(Repair::Response),
            ),
            (
                Method::GET,
                "/socket.io/?EIO=3&transport=polling&b64=1",
                None,
            ),
            // engineioxide reads these as v3 polling too.
            (
                Method::POST,
                "/socket.io/?EIO=3=x&transport=polling&sid=a",
                Some(Repair::Request),
            ),
            (
                Method::POST,
                "/socket.io?EIO=3&EIO=4&transport=polling=ws&sid=a",
                Some(Repair::Request),
            ),
            (Method::GET, "/socket.io/?EIO=4&transport=polling", None),
            (Method::GET, "/socket.io/?EIO=3&transport=websocket", None),
            (Method::GET, "/index.html?EIO=3&transport=polling", None),
            (Method::OPTIONS, "/socket.io/?EIO=3&transport=polling", None),
        ];
        for (method, uri, expected) in cases {
            assert_eq!(
                classify(&request(method.clone(), uri)),
                expected,
                "{method} {uri}"
            );
        }
    }

    /// The patched engineioxide-core (`vendor/`, see `docs/PROTOCOL.md`
    /// section 7) refuses the bodies its v3 decoder once spun on, for
    /// whoever reaches it without this layer. On its own thread: a spin
    /// cannot be interrupted, so a hang fails here instead of freezing.
    #[test]
    fn the_patched_engineioxide_decoder_refuses_instead_of_spinning() {
        use futures_util::StreamExt;
        for body in [&b"1:\xf0\x9f\xa6\x80x"[..], b"1:\xf0\x9f\xa6\x80\xff"] {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let body = http_body_util::Full::new(Bytes::from_static(body));
                let packets = engineioxide_core::payload::decoder(
                    body,
                    None,
                    engineioxide_core::ProtocolVersion::V3,
                    16 * 1024,
                );
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let first = runtime.block_on(Box::pin(packets).next());
                let _ = tx.send(matches!(first, Some(Err(_))));
            });
            let refused = rx
                .recv_timeout(std::time::Duration::from_secs(5))
                .unwrap_or_else(|_| panic!("engineioxide's decoder hung on {body:?}"));
            assert!(refused, "{body:?}");
        }
    }
}
