//! Engine.IO: a text frame, the same bytes as an HTTP long-polling body, and
//! as an Engine.IO v3 polling body (text or binary framing).
//!
//! Invariants: decoding never panics; a decoded packet re-encodes to a frame
//! that decodes to the same packet, keeps its type digit, and keeps ping,
//! pong and message data byte for byte; a body decodes packet by packet, and
//! a body whose packets all decode round-trips through `encode_payload`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_proto::eio3;
use sio_proto::engineio::{
    decode_payload, encode_payload, EngineError, EnginePacket, RECORD_SEPARATOR,
};

fuzz_target!(|data: &[u8]| {
    eio3_body(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    frame(text);
    payload(text);
});

fn frame(text: &str) {
    let packet = match EnginePacket::decode(text) {
        Ok(packet) => packet,
        Err(EngineError::Empty) => return assert!(text.is_empty()),
        Err(_) => return assert!(!text.is_empty()),
    };
    let encoded = packet.encode();
    assert_eq!(
        EnginePacket::decode(&encoded).as_ref(),
        Ok(&packet),
        "{text:?} re-encoded as {encoded:?}"
    );
    assert_eq!(encoded.chars().next(), text.chars().next());
    if matches!(
        packet,
        EnginePacket::Ping(_) | EnginePacket::Pong(_) | EnginePacket::Message(_)
    ) {
        assert_eq!(encoded, text);
    }
}

fn payload(body: &str) {
    let results = decode_payload(body);
    let frames: Vec<&str> = body.split(RECORD_SEPARATOR).collect();
    assert_eq!(results.len(), frames.len());
    for (result, frame) in results.iter().zip(&frames) {
        assert_eq!(result, &EnginePacket::decode(frame));
    }
    let Ok(packets) = results.into_iter().collect::<Result<Vec<_>, _>>() else {
        return;
    };
    let encoded = encode_payload(&packets);
    let again = decode_payload(&encoded);
    assert_eq!(
        again.len(),
        packets.len(),
        "{body:?} re-encoded as {encoded:?}"
    );
    for (decoded, packet) in again.into_iter().zip(packets) {
        assert_eq!(decoded, Ok(packet), "{body:?} re-encoded as {encoded:?}");
    }
}

/// An Engine.IO v3 polling body (text or binary framing): decoding never
/// panics, and whatever decodes re-encodes (text framing) to a body that
/// decodes to the same packets.
fn eio3_body(body: &[u8]) {
    let Ok(packets) = eio3::decode_payload(body) else {
        return;
    };
    let encoded = eio3::encode_text_payload(&packets);
    assert_eq!(
        eio3::decode_payload(encoded.as_bytes()).as_ref(),
        Ok(&packets),
        "{body:?} re-encoded as {encoded:?}"
    );
}
