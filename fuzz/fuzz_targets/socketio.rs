//! Socket.IO: the string inside an Engine.IO message.
//!
//! Invariants: decoding never panics; a decoded packet has a full namespace
//! (`/...`, no `,`) and no reserved event name; it re-encodes to a string
//! that decodes to the same packet, and that string survives the trip
//! through an Engine.IO message frame.
//!
//! "The same" allows JSON floats to move by an ulp or two: serde_json without
//! its `float_roundtrip` feature parses them to within an ulp, not exactly
//! (`37[2e-88]`, see shared/tests/fuzz_regressions.rs). Everything else,
//! integers included, must come back exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::engineio::EnginePacket;
use shared::socketio::{Packet, RESERVED_EVENTS};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut packet) = Packet::decode(text) else {
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
    let Ok(mut again) = again else {
        panic!("{text:?} re-encoded as {encoded:?}, which does not decode: {again:?}");
    };
    let (floats, floats_again) = (take_floats(&mut packet), take_floats(&mut again));
    assert_eq!(again, packet, "{text:?} re-encoded as {encoded:?}");
    assert_eq!(floats.len(), floats_again.len());
    for (a, b) in floats.iter().zip(&floats_again) {
        let close = a == b || (a.signum() == b.signum() && a.to_bits().abs_diff(b.to_bits()) <= 2);
        assert!(
            close,
            "{text:?} re-encoded as {encoded:?}: float {a:?} came back as {b:?}"
        );
    }
    let frame = EnginePacket::Message(encoded.clone()).encode();
    assert_eq!(
        EnginePacket::decode(&frame),
        Ok(EnginePacket::Message(encoded))
    );
});

/// Replaces every JSON float in the packet by `null` and returns them in order.
fn take_floats(packet: &mut Packet) -> Vec<f64> {
    fn walk(value: &mut Value, out: &mut Vec<f64>) {
        match value {
            Value::Number(n) if n.is_f64() => {
                out.push(n.as_f64().unwrap_or_default());
                *value = Value::Null;
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, out)),
            Value::Object(fields) => fields.values_mut().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let values: Vec<&mut Value> = match packet {
        Packet::Connect { data, .. } | Packet::ConnectError { data, .. } => {
            data.iter_mut().collect()
        }
        Packet::Event { args, .. } | Packet::Ack { args, .. } => args.iter_mut().collect(),
        Packet::Disconnect { .. } => Vec::new(),
    };
    let mut out = Vec::new();
    values.into_iter().for_each(|v| walk(v, &mut out));
    out
}
