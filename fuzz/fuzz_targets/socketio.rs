//! Socket.IO: the string inside an Engine.IO message.
//!
//! Invariants: decoding never panics; a decoded packet has a full namespace
//! (`/...`, no `,`) and no reserved event name; it re-encodes to a string
//! that decodes to the same packet, and that string survives the trip
//! through an Engine.IO message frame.
//!
//! "The same" is exact, floats included: the codec hands JSON over as
//! checked text and writes it back unchanged (sio-proto/tests/fuzz_regressions.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_proto::engineio::EnginePacket;
use sio_proto::socketio::{Packet, RESERVED_EVENTS};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(packet) = Packet::decode(text) else {
        return;
    };
    let nsp = packet.nsp();
    assert!(
        nsp.starts_with('/') && !nsp.contains(','),
        "namespace {nsp:?}"
    );
    if let Packet::Event { name, .. } = &packet {
        assert!(!RESERVED_EVENTS.contains(&name.as_str()), "event {name:?}");
    }
    let encoded = packet.encode();
    let again = Packet::decode(&encoded);
    let Ok(again) = again else {
        panic!("{text:?} re-encoded as {encoded:?}, which does not decode: {again:?}");
    };
    assert_eq!(again, packet, "{text:?} re-encoded as {encoded:?}");
    let frame = EnginePacket::Message(encoded.clone()).encode();
    assert_eq!(
        EnginePacket::decode(&frame),
        Ok(EnginePacket::Message(encoded))
    );
});
