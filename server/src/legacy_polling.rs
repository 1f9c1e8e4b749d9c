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
//! Everything else (websocket, EIO=4, error answers, binary answers, bodies
//! that do not parse) passes through untouched; socketioxide answers its own
//! errors. The upstream report is in `docs/PROTOCOL.md`, section 6.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::engineio::ENDPOINT_PATH;
use sio_client::eio3::{encode_binary_frames, encode_text_frames, split_text_payload};

/// The content type of a binary-framed polling answer.
const BINARY: &str = "application/octet-stream";

/// Which body of a v3 polling exchange needs repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// A POST from the client: undo the double UTF-8 encoding.
    Request,
    /// The answer to a GET from a client that reads binary: re-frame.
    Response,
}

/// axum middleware: repairs v3 polling bodies (see the module docs). The
/// state is the server's payload limit, which bounds what is read here.
pub async fn repair(State(max_payload): State<u64>, req: Request, next: Next) -> Response {
    match classify(&req) {
        None => next.run(req).await,
        Some(Repair::Request) => {
            let (mut parts, body) = req.into_parts();
            let limit = usize::try_from(max_payload).unwrap_or(usize::MAX);
            let Ok(bytes) = to_bytes(body, limit).await else {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "polling body over the payload limit",
                )
                    .into_response();
            };
            let body = match repair_request_body(&bytes) {
                Some(repaired) => Bytes::from(repaired),
                None => bytes,
            };
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Some(Repair::Response) => reframe(next.run(req).await).await,
    }
}

/// Whether (and how) a request takes part in a v3 polling exchange.
fn classify(req: &Request) -> Option<Repair> {
    if !req.uri().path().starts_with(ENDPOINT_PATH) {
        return None;
    }
    let query = req.uri().query().unwrap_or_default();
    let has = |pair: &str| query.split('&').any(|p| p == pair);
    if !has("EIO=3") || !has("transport=polling") {
        return None;
    }
    match *req.method() {
        Method::POST => Some(Repair::Request),
        // A client that asked for base64 reads text framing only.
        Method::GET if !has("b64=1") && !has("b64=true") => Some(Repair::Response),
        _ => None,
    }
}

/// A POST body with each double-encoded packet decoded once more, framed
/// again with the UTF-16 lengths socketioxide reads; `None` when nothing
/// needs repair or the body is not a text payload (socketioxide answers it).
fn repair_request_body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if text.is_ascii() {
        return None;
    }
    let packets = split_text_payload(text).ok()?;
    let repaired: Vec<String> = packets
        .iter()
        .map(|packet| undo_double_utf8(packet).unwrap_or_else(|| (*packet).to_owned()))
        .collect();
    Some(encode_text_frames(repaired.iter().map(String::as_str)))
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
    let packets = split_text_payload(text).ok()?;
    Some(encode_binary_frames(packets))
}

#[cfg(test)]
mod tests {
    use super::*;

    use shared::events::wire;

    /// What socket.io-client 1.4.4 POSTs for `identify` "Zoë": the packet
    /// UTF-8-encoded into one character per byte, framed with that length,
    /// and UTF-8-encoded again by XHR (recorded from Chromium:
    /// `26:42/iss,["identify","Zo\xc3\x83\xc2\xab"]`).
    fn seed_post(name: &str) -> Vec<u8> {
        let packet = format!("42/iss,[\"{}\",\"{name}\"]", wire::IDENTIFY);
        let bytes_as_chars: String = packet.bytes().map(char::from).collect();
        format!("{}:{bytes_as_chars}", bytes_as_chars.chars().count()).into_bytes()
    }

    #[test]
    fn the_seed_clients_double_encoding_is_undone() {
        let recorded = b"26:42/iss,[\"identify\",\"Zo\xc3\x83\xc2\xab\"]";
        assert_eq!(seed_post("Zoë"), recorded);
        let expected = format!("25:42/iss,[\"{}\",\"Zoë\"]", wire::IDENTIFY);
        assert_eq!(repair_request_body(&seed_post("Zoë")), Some(expected));
        let crab = format!("42/iss,[\"{}\",\"日本 🦀\"]", wire::IDENTIFY);
        assert_eq!(
            repair_request_body(&seed_post("日本 🦀")),
            Some(encode_text_frames([crab.as_str()]))
        );
    }

    #[test]
    fn single_encoded_text_is_left_alone() {
        // socket.io-client 2.x: plain UTF-8, UTF-16 lengths.
        for name in ["Zoë", "日本 🦀"] {
            let packet = format!("42/iss,[\"{}\",\"{name}\"]", wire::IDENTIFY);
            let body = encode_text_frames([packet.as_str()]);
            let repaired = repair_request_body(body.as_bytes()).expect("a text payload");
            assert_eq!(repaired, body);
        }
        assert_eq!(
            repair_request_body(b"6:40/iss"),
            None,
            "ASCII needs nothing"
        );
    }

    #[test]
    fn several_packets_are_repaired_one_by_one() {
        // A ping and an event, as the server reads the body once: the
        // event's "ë" still spelled as the two characters of its UTF-8.
        let once = "1:219:42/iss,[\"e\",\"ZoÃ«\"]";
        assert_eq!(
            repair_request_body(once.as_bytes()).as_deref(),
            Some("1:218:42/iss,[\"e\",\"Zoë\"]")
        );
    }

    #[test]
    fn bodies_that_are_not_payloads_pass_untouched() {
        assert_eq!(repair_request_body(b"\xff\xfe"), None);
        assert_eq!(repair_request_body("é:40".as_bytes()), None);
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
}
