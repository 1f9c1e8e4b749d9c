//! Golden frames: what Flask-SocketIO 5.7, node socket.io 4.8 and
//! socketioxide 0.18.9 really put on the wire (see docs/PROTOCOL.md), with
//! the sids and uuids the captures abbreviated filled in with realistic values.
//!
//! Each test checks the decoded value and that encoding gives the frame back,
//! or an equivalent one where a peer orders JSON keys or shapes a payload
//! differently from us (then the re-encoded frame must decode to the same
//! packet).

use sio_proto::engineio::{
    decode_payload, encode_payload, EngineError, EnginePacket, OpenPacket, DEFAULT_MAX_PAYLOAD,
};
use sio_proto::socketio::{Packet, SioError};
use sio_proto::RawJson;

/// Checked JSON text, failing the test on invalid JSON.
fn raw(text: &str) -> RawJson {
    RawJson::new(text).unwrap_or_else(|e| panic!("{text:?} is JSON: {e}"))
}

const ENGINE_SID: &str = "nBFVlJ6s3kQm0Aa1AAAB";
const NAMESPACE_SID: &str = "Pvy7Lr0cU9mXq2bTAAAD";
const UUID: &str = "b7fd3c2e-8a41-4f0e-9d62-5c1a7e9b0f34";

/// Decodes an Engine.IO frame, failing the test with the frame on error.
fn engine(frame: &str) -> EnginePacket {
    match EnginePacket::decode(frame) {
        Ok(packet) => packet,
        Err(e) => panic!("{frame:?} should decode: {e}"),
    }
}

/// Decodes a Socket.IO packet carried by an Engine.IO message frame (`4...`),
/// the way a client reads it off the websocket.
fn socketio(frame: &str) -> Packet {
    let EnginePacket::Message(inner) = engine(frame) else {
        panic!("{frame:?} is not an Engine.IO message");
    };
    match Packet::decode(&inner) {
        Ok(packet) => packet,
        Err(e) => panic!("{frame:?} should decode: {e}"),
    }
}

/// Wraps a Socket.IO packet in an Engine.IO message frame.
fn wrap(packet: &Packet) -> String {
    EnginePacket::Message(packet.encode()).encode()
}

/// For frames whose JSON may be ordered differently by us: the re-encoded
/// frame must decode to the same packet.
fn assert_equivalent_reencoding(frame: &str) {
    let packet = socketio(frame);
    assert_eq!(socketio(&wrap(&packet)), packet, "re-encoding {frame:?}");
}

fn open_packet(frame: &str) -> OpenPacket {
    match engine(frame) {
        EnginePacket::Open(open) => open,
        other => panic!("{frame:?} decoded to {other:?}, not an open packet"),
    }
}

// ---- Engine.IO handshake --------------------------------------------------

#[test]
fn node_open_packet() {
    let frame = format!(
        r#"0{{"sid":"{ENGINE_SID}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
    );
    let expected = OpenPacket {
        sid: ENGINE_SID.into(),
        upgrades: vec![],
        ping_interval: 25_000,
        ping_timeout: 20_000,
        max_payload: 1_000_000,
    };
    assert_eq!(open_packet(&frame), expected);
    assert_eq!(EnginePacket::Open(expected).encode(), frame);
}

#[test]
fn socketioxide_open_packet_has_smaller_max_payload() {
    let frame = r#"0{"sid":"Zx3kQm0Aa1nBFVlJ6s3k","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}"#;
    let open = open_packet(frame);
    assert_eq!(open.max_payload, 100_000);
    assert_eq!(open.sid, "Zx3kQm0Aa1nBFVlJ6s3k");
    assert_eq!(EnginePacket::Open(open).encode(), frame);
}

#[test]
fn open_packet_in_python_key_order() {
    // python-engineio writes pingTimeout before pingInterval.
    let frame = r#"0{"sid":"q2bT8xNkLr0cU9mX","upgrades":["websocket"],"pingTimeout":20000,"pingInterval":25000,"maxPayload":1000000}"#;
    let open = open_packet(frame);
    assert_eq!(open.upgrades, vec!["websocket".to_string()]);
    assert_eq!((open.ping_interval, open.ping_timeout), (25_000, 20_000));
    let reencoded = EnginePacket::Open(open.clone()).encode();
    assert_eq!(open_packet(&reencoded), open);
}

#[test]
fn older_open_packet_without_max_payload() {
    let frame = r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"extra":true}"#;
    assert_eq!(open_packet(frame).max_payload, DEFAULT_MAX_PAYLOAD);
}

// ---- Engine.IO control packets --------------------------------------------

#[test]
fn heartbeat_ping_and_pong() {
    assert_eq!(engine("2"), EnginePacket::Ping(String::new()));
    assert_eq!(engine("3"), EnginePacket::Pong(String::new()));
    assert_eq!(EnginePacket::Ping(String::new()).encode(), "2");
    assert_eq!(EnginePacket::Pong(String::new()).encode(), "3");
}

#[test]
fn upgrade_probe_ping_and_pong() {
    assert_eq!(engine("2probe"), EnginePacket::Ping("probe".into()));
    assert_eq!(engine("3probe"), EnginePacket::Pong("probe".into()));
    assert_eq!(EnginePacket::Ping("probe".into()).encode(), "2probe");
    assert_eq!(EnginePacket::Pong("probe".into()).encode(), "3probe");
    assert_eq!(engine("5"), EnginePacket::Upgrade);
    assert_eq!(engine("6"), EnginePacket::Noop);
}

#[test]
fn engine_close() {
    assert_eq!(engine("1"), EnginePacket::Close);
    assert_eq!(EnginePacket::Close.encode(), "1");
}

// ---- Socket.IO session (node socket.io) ----------------------------------

#[test]
fn client_connects_to_namespace() {
    let expected = Packet::Connect {
        nsp: "/iss".into(),
        data: None,
    };
    assert_eq!(socketio("40/iss,"), expected);
    assert_eq!(wrap(&expected), "40/iss,");
}

#[test]
fn server_acknowledges_connect_with_sid() {
    let frame = format!(r#"40/iss,{{"sid":"{NAMESPACE_SID}"}}"#);
    let expected = Packet::Connect {
        nsp: "/iss".into(),
        data: Some(raw(&format!(r#"{{"sid":"{NAMESPACE_SID}"}}"#))),
    };
    assert_eq!(socketio(&frame), expected);
    assert_eq!(wrap(&expected), frame);
}

#[test]
fn server_emits_connected_with_uuid() {
    let frame = format!(r#"42/iss,["connected",{{"uuid":"{UUID}"}}]"#);
    let expected = Packet::Event {
        nsp: "/iss".into(),
        id: None,
        name: "connected".into(),
        args: vec![raw(&format!(r#"{{"uuid":"{UUID}"}}"#))],
    };
    assert_eq!(socketio(&frame), expected);
    assert_eq!(wrap(&expected), frame);
}

#[test]
fn client_identifies_without_ack() {
    let frame = r#"42/iss,["identify","Ada"]"#;
    let expected = Packet::Event {
        nsp: "/iss".into(),
        id: None,
        name: "identify".into(),
        args: vec![raw(r#""Ada""#)],
    };
    assert_eq!(socketio(frame), expected);
    assert_eq!(wrap(&expected), frame);
}

#[test]
fn client_identifies_with_ack_id() {
    let frame = r#"42/iss,7["identify","Ada"]"#;
    let expected = Packet::Event {
        nsp: "/iss".into(),
        id: Some(7),
        name: "identify".into(),
        args: vec![raw(r#""Ada""#)],
    };
    assert_eq!(socketio(frame), expected);
    assert_eq!(wrap(&expected), frame);
}

/// The identify ack, its one argument given as the peer wrote it: the
/// text is handed over as is, key order included.
fn identify_ack(answer: &str) -> Packet {
    Packet::Ack {
        nsp: "/iss".into(),
        id: 7,
        args: vec![raw(answer)],
    }
}

#[test]
fn node_ack_in_insertion_order() {
    let answer = format!(r#"{{"ok":true,"uuid":"{UUID}","username":"Ada"}}"#);
    let frame = format!("43/iss,7[{answer}]");
    assert_eq!(socketio(&frame), identify_ack(&answer));
    assert_eq!(wrap(&identify_ack(&answer)), frame);
}

#[test]
fn socketioxide_ack_in_sorted_order() {
    let answer = format!(r#"{{"ok":true,"username":"Ada","uuid":"{UUID}"}}"#);
    let frame = format!("43/iss,7[{answer}]");
    assert_eq!(socketio(&frame), identify_ack(&answer));
    assert_eq!(wrap(&identify_ack(&answer)), frame);
}

#[test]
fn client_leaves_namespace() {
    let expected = Packet::Disconnect { nsp: "/iss".into() };
    assert_eq!(socketio("41/iss,"), expected);
    assert_eq!(wrap(&expected), "41/iss,");
}

// ---- CONNECT_ERROR, one shape per peer -----------------------------------

#[test]
fn flask_connect_error_is_a_bare_string() {
    let frame = r#"44/random,"Unable to connect""#;
    let expected = Packet::ConnectError {
        nsp: "/random".into(),
        message: "Unable to connect".into(),
        data: None,
    };
    assert_eq!(socketio(frame), expected);
    // We always write the object form, which every peer accepts.
    assert_eq!(
        wrap(&expected),
        r#"44/random,{"message":"Unable to connect"}"#
    );
    assert_equivalent_reencoding(frame);
}

#[test]
fn node_connect_error_is_an_object() {
    let frame = r#"44/random,{"message":"Invalid namespace"}"#;
    let expected = Packet::ConnectError {
        nsp: "/random".into(),
        message: "Invalid namespace".into(),
        data: None,
    };
    assert_eq!(socketio(frame), expected);
    assert_eq!(wrap(&expected), frame);
}

#[test]
fn socketioxide_connect_error_on_main_namespace() {
    let frame = r#"44{"message":"Invalid namespace"}"#;
    let expected = Packet::ConnectError {
        nsp: "/".into(),
        message: "Invalid namespace".into(),
        data: None,
    };
    assert_eq!(socketio(frame), expected);
    assert_eq!(wrap(&expected), frame);
}

// ---- HTTP long-polling -----------------------------------------------------

#[test]
fn polling_payload_with_several_packets() {
    let body = format!(
        "40/iss,{{\"sid\":\"{NAMESPACE_SID}\"}}\u{1e}42/iss,[\"connected\",{{\"uuid\":\"{UUID}\"}}]\u{1e}2\u{1e}6"
    );
    let packets: Vec<EnginePacket> = decode_payload(&body)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("payload should decode: {e}"));
    assert_eq!(packets.len(), 4);
    assert_eq!(packets[2], EnginePacket::Ping(String::new()));
    assert_eq!(packets[3], EnginePacket::Noop);
    let EnginePacket::Message(event) = &packets[1] else {
        panic!("second packet should be a message");
    };
    let event = Packet::decode(event).map(|p| p.nsp().to_owned());
    assert_eq!(event, Ok("/iss".to_owned()));
    assert_eq!(encode_payload(&packets), body);
}

#[test]
fn polling_payload_reports_each_bad_packet() {
    let results = decode_payload("2\u{1e}9\u{1e}\u{1e}3");
    assert_eq!(
        results,
        vec![
            Ok(EnginePacket::Ping(String::new())),
            Err(EngineError::UnknownType('9')),
            Err(EngineError::Empty),
            Ok(EnginePacket::Pong(String::new())),
        ]
    );
}

// ---- Binary is refused, not misread ----------------------------------------

#[test]
fn binary_event_and_ack_are_unsupported() {
    let binary_event = r#"51-/iss,["upload",{"_placeholder":true,"num":0}]"#;
    let binary_ack = r#"61-/iss,7[{"_placeholder":true,"num":0}]"#;
    assert_eq!(
        Packet::decode(binary_event),
        Err(SioError::BinaryUnsupported)
    );
    assert_eq!(Packet::decode(binary_ack), Err(SioError::BinaryUnsupported));
}

#[test]
fn binary_engine_frames_are_unsupported() {
    assert_eq!(
        EnginePacket::decode("bAQIDBA=="),
        Err(EngineError::BinaryUnsupported)
    );
}

#[test]
fn errors_read_well_in_logs() {
    assert_eq!(
        SioError::BinaryUnsupported.to_string(),
        "binary packets are not supported"
    );
    assert_eq!(
        EngineError::UnknownType('9').to_string(),
        "unknown Engine.IO packet type \"9\""
    );
    // Untrusted input is quoted and escaped, so a log line stays one line.
    assert_eq!(
        EngineError::UnknownType('\u{1b}').to_string(),
        "unknown Engine.IO packet type \"\\u001b\""
    );
}
