//! Inputs found by the fuzz targets in fuzz/ (`cargo xtask fuzz`), minimised
//! and kept as ordinary tests, each saying what the codec does with them.

use sio_proto::socketio::Packet;
use sio_proto::RawJson;

/// Found by the socketio target in its first 60 s run: `37[2e-88]`.
///
/// When the codec parsed payloads with serde_json, a float came back to
/// within an ulp only (`2e-88` re-encoded as `2.0000000000000001e-88`). The
/// codec now hands arguments over as checked text, so every number, float
/// or integer, round-trips byte for byte.
#[test]
fn float_arguments_round_trip_exactly() {
    let frame = "37[2e-88]";
    let packet = Packet::decode(frame);
    let expected = Packet::Ack {
        nsp: "/".into(),
        id: 7,
        args: vec![RawJson::new("2e-88").expect("a JSON number")],
    };
    assert_eq!(packet.as_ref(), Ok(&expected));
    assert_eq!(expected.encode(), frame);
}

/// The same trip is exact for integers, including the extremes of `u64` and
/// `i64` (beyond what a JavaScript number holds), and for the ack id.
#[test]
fn integer_arguments_round_trip_exactly() {
    let frame = "318446744073709551615[18446744073709551615,-9223372036854775808,0]";
    let packet = Packet::decode(frame);
    let arg = |text: &str| RawJson::new(text).expect("a JSON number");
    let expected = Packet::Ack {
        nsp: "/".into(),
        id: u64::MAX,
        args: vec![
            arg("18446744073709551615"),
            arg("-9223372036854775808"),
            arg("0"),
        ],
    };
    assert_eq!(packet.as_ref(), Ok(&expected));
    assert_eq!(expected.encode(), frame);
}
