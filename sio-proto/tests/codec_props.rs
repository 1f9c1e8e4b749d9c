//! Properties of both codecs: every packet kind survives encode -> decode,
//! and no input, however hostile, makes a decoder panic or overflow the
//! stack.

use proptest::prelude::*;
use serde_json::Value;
use sio_proto::eio3;
use sio_proto::engineio::{
    decode_payload, encode_payload, EngineError, EnginePacket, OpenPacket, RECORD_SEPARATOR,
};
use sio_proto::socketio::{Packet, SioError, RESERVED_EVENTS};
use sio_proto::RawJson;

// ---- generators -------------------------------------------------------------

/// The main namespace or a short custom one, as the app uses.
fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_string()), "/[a-z]{1,8}"]
}

/// Any JSON value of modest depth. Floats are multiples of 1/8 so they print
/// and parse back exactly without serde_json's `float_roundtrip` feature.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-8_000i32..8_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(any::<String>(), json_value(), 0..4)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

/// Any event name the decoder accepts: unicode included, reserved names out.
fn event_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("reserved event name", |name| {
        !RESERVED_EVENTS.contains(&name.as_str())
    })
}

/// A value as the compact JSON text serde_json writes for it.
fn raw(value: &Value) -> RawJson {
    RawJson::new(&value.to_string()).expect("serde_json writes JSON")
}

fn raw_value() -> impl Strategy<Value = RawJson> {
    json_value().prop_map(|v| raw(&v))
}

fn args() -> impl Strategy<Value = Vec<RawJson>> {
    prop::collection::vec(raw_value(), 0..4)
}

fn sio_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (namespace(), prop::option::of(json_object())).prop_map(|(nsp, data)| Packet::Connect {
            nsp,
            data: data.as_ref().map(raw)
        }),
        namespace().prop_map(|nsp| Packet::Disconnect { nsp }),
        (namespace(), any::<Option<u64>>(), event_name(), args()).prop_map(
            |(nsp, id, name, args)| Packet::Event {
                nsp,
                id,
                name,
                args
            }
        ),
        (namespace(), any::<u64>(), args()).prop_map(|(nsp, id, args)| Packet::Ack {
            nsp,
            id,
            args
        }),
        (namespace(), any::<String>(), prop::option::of(raw_value()))
            .prop_map(|(nsp, message, data)| Packet::ConnectError { nsp, message, data }),
    ]
}

fn open_packet() -> impl Strategy<Value = OpenPacket> {
    (
        any::<String>(),
        prop::collection::vec(any::<String>(), 0..3),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(sid, upgrades, ping_interval, ping_timeout, max_payload)| OpenPacket {
                sid,
                upgrades,
                ping_interval,
                ping_timeout,
                max_payload,
            },
        )
}

/// Engine packets whose text comes from `text`, so polling tests can keep
/// the record separator out of it.
fn engine_packet_with(
    text: impl Strategy<Value = String> + Clone,
) -> impl Strategy<Value = EnginePacket> {
    prop_oneof![
        open_packet().prop_map(EnginePacket::Open),
        Just(EnginePacket::Close),
        text.clone().prop_map(EnginePacket::Ping),
        text.clone().prop_map(EnginePacket::Pong),
        text.prop_map(EnginePacket::Message),
        Just(EnginePacket::Upgrade),
        Just(EnginePacket::Noop),
    ]
}

/// Text that looks like a Socket.IO frame body: a namespace, digits, JSON
/// punctuation. Reaches the decoders' branches far more often than noise.
fn frame_like_tail() -> impl Strategy<Value = String> {
    "(/[a-zé,]{0,6})?[0-9]{0,24}[\\[\\]{}\",:0-9a-zé✓ \\\\-]{0,24}"
}

// ---- round trips ------------------------------------------------------------

proptest! {
    #[test]
    fn socketio_packets_round_trip(packet in sio_packet()) {
        prop_assert_eq!(Packet::decode(&packet.encode()), Ok(packet));
    }

    #[test]
    fn socketio_packets_round_trip_inside_engine_messages(packet in sio_packet()) {
        let frame = EnginePacket::Message(packet.encode()).encode();
        let Ok(EnginePacket::Message(inner)) = EnginePacket::decode(&frame) else {
            return Err(TestCaseError::fail("not a message"));
        };
        prop_assert_eq!(Packet::decode(&inner), Ok(packet));
    }

    #[test]
    fn engine_packets_round_trip(packet in engine_packet_with(any::<String>())) {
        prop_assert_eq!(EnginePacket::decode(&packet.encode()), Ok(packet));
    }

    #[test]
    fn polling_payloads_round_trip(
        packets in prop::collection::vec(engine_packet_with("[^\u{1e}]*"), 1..5)
    ) {
        let body = encode_payload(&packets);
        let decoded: Vec<_> = decode_payload(&body).into_iter().map(Result::ok).collect();
        let expected: Vec<_> = packets.into_iter().map(Some).collect();
        prop_assert_eq!(decoded, expected);
    }
}

// ---- never panic ----------------------------------------------------------

/// Runs every decoder on `input`; a panic fails the property.
fn decode_everything(input: &str) {
    let _ = Packet::decode(input);
    if let Ok(EnginePacket::Message(inner)) = EnginePacket::decode(input) {
        let _ = Packet::decode(&inner);
    }
    for packet in decode_payload(input).into_iter().flatten() {
        if let EnginePacket::Message(inner) = packet {
            let _ = Packet::decode(&inner);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        decode_everything(&input);
    }

    #[test]
    fn strings_after_each_type_digit_never_panic(
        digit in 0u8..=6,
        tail in prop_oneof![any::<String>(), frame_like_tail()],
    ) {
        decode_everything(&format!("{digit}{tail}"));
    }

    #[test]
    fn strings_after_each_socketio_type_never_panic(
        digit in 0u8..=6,
        tail in prop_oneof![any::<String>(), frame_like_tail()],
    ) {
        decode_everything(&format!("4{digit}{tail}"));
    }

    #[test]
    fn polling_bodies_of_frame_like_parts_never_panic(
        parts in prop::collection::vec(("[0-6b]4?[0-6]?", frame_like_tail()), 0..5)
    ) {
        let body: Vec<String> = parts.into_iter().map(|(head, tail)| head + &tail).collect();
        decode_everything(&body.join(&RECORD_SEPARATOR.to_string()));
    }

    #[test]
    fn oversized_ack_ids_are_errors(extra in "[0-9]{1,40}") {
        // 20 digits starting with 2 always exceed u64::MAX (1.8e19).
        let frame = format!("3/iss,2{:0>19}{extra}[]", "");
        prop_assert_eq!(Packet::decode(&frame), Err(SioError::BadAckId));
    }
}

// ---- depth bombs --------------------------------------------------------

const DEPTH: usize = 100_000;

fn open_bomb() -> String {
    "[".repeat(DEPTH)
}

fn closed_bomb() -> String {
    format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH))
}

fn object_bomb() -> String {
    format!("{}1{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH))
}

#[test]
fn socketio_depth_bombs_are_errors() {
    for bomb in [open_bomb(), closed_bomb(), object_bomb()] {
        for prefix in ["0", "2", "2/iss,7", "3/iss,7", "4"] {
            let result = Packet::decode(&format!("{prefix}{bomb}"));
            assert!(
                matches!(result, Err(SioError::BadJson(_))),
                "{prefix}: {result:?}"
            );
        }
        let nested_arg = format!(r#"2["x",{bomb}]"#);
        assert!(matches!(
            Packet::decode(&nested_arg),
            Err(SioError::BadJson(_))
        ));
    }
}

#[test]
fn engine_open_depth_bombs_are_errors() {
    for bomb in [open_bomb(), closed_bomb(), object_bomb()] {
        let as_sid = format!(r#"0{{"sid":{bomb}}}"#);
        for frame in [format!("0{bomb}"), as_sid] {
            assert!(matches!(
                EnginePacket::decode(&frame),
                Err(EngineError::BadOpen(_))
            ));
        }
    }
}

// ---- Engine.IO v3 polling bodies ---------------------------------------------

/// The binary framing python-engineio 3 sends, written here for the tests.
fn binary_body(packets: &[EnginePacket]) -> Vec<u8> {
    let mut body = Vec::new();
    for packet in packets {
        let text = packet.encode();
        body.push(0);
        body.extend(text.len().to_string().bytes().map(|d| d - b'0'));
        body.push(0xFF);
        body.extend_from_slice(text.as_bytes());
    }
    body
}

proptest! {
    #[test]
    fn eio3_text_bodies_round_trip(
        packets in prop::collection::vec(engine_packet_with(any::<String>()), 1..5)
    ) {
        let body = eio3::encode_text_payload(&packets);
        prop_assert_eq!(eio3::decode_payload(body.as_bytes()), Ok(packets));
    }

    #[test]
    fn eio3_binary_bodies_round_trip(
        packets in prop::collection::vec(engine_packet_with(any::<String>()), 1..5)
    ) {
        prop_assert_eq!(eio3::decode_payload(&binary_body(&packets)), Ok(packets));
    }

    #[test]
    fn eio3_arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = eio3::decode_payload(&body);
        if let Ok(text) = std::str::from_utf8(&body) {
            let _ = eio3::decode_text_payload(text);
        }
    }

    #[test]
    fn eio3_frame_like_bodies_never_panic(
        parts in prop::collection::vec(("[0-9]{1,3}:", frame_like_tail()), 1..5)
    ) {
        let body: String = parts.into_iter().map(|(head, tail)| head + &tail).collect();
        let _ = eio3::decode_text_payload(&body);
    }
}
