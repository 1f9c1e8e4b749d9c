//! Typed events: the JSON a Socket.IO EVENT or ACK carries.
//!
//! The input is JSON text. As an event array it goes through
//! `ServerEvent::from_array` and `ClientEvent::from_array`; as ACK arguments
//! through `IdentifyAck::from_args` (serde, the server's reading) and
//! `Reply::from_raw` (the page's codec, without serde), which must agree; as a CONNECT payload
//! through `ResumeAuth`. Invariants: nothing panics; whatever decodes
//! re-encodes to JSON that decodes to the same value; an identify name the
//! server accepts is accepted again unchanged (the rules are idempotent); and
//! the `Debug` of `connected` does not depend on its resume token.
#![no_main]

use app_client::Reply;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;
use shared::events::{
    Ack, ClientEvent, Connected, IdentifyOk, ResumeAuth, ResumeToken, ServerEvent, WaveOk,
};
use shared::names::{validate_name, validate_normalised};
use sio_proto::RawJson;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    server_event(&value);
    client_event(&value);
    resume_auth(&value);
    if let Value::Array(items) = &value {
        acks(items);
        if let [Value::String(_), args @ ..] = items.as_slice() {
            acks(args);
        }
    }
});

fn server_event(value: &Value) {
    // The page's derived lean reading agrees with serde's wherever both read.
    if let Some([Value::String(name), args @ ..]) = value.as_array().map(Vec::as_slice) {
        let raw: Vec<RawJson> = args
            .iter()
            .map(|arg| RawJson::new(&arg.to_string()).expect("serde_json writes JSON"))
            .collect();
        let lean = app_client::codec::server_event(name, &raw);
        if let (Ok(lean), Ok(serde)) = (&lean, &ServerEvent::from_array(value)) {
            assert_eq!(lean, serde, "{value}");
        }
    }
    let Ok(event) = ServerEvent::from_array(value) else {
        return;
    };
    assert_eq!(value.get(0).and_then(Value::as_str), Some(event.name()));
    let array = event.to_array();
    assert_eq!(
        ServerEvent::from_array(&array).as_ref(),
        Ok(&event),
        "{array}"
    );
    if let ServerEvent::Connected(Some(connected)) = &event {
        let other = Connected {
            resume: connected
                .resume
                .as_ref()
                .map(|_| ResumeToken("something else".to_owned())),
            ..connected.clone()
        };
        assert_eq!(format!("{connected:?}"), format!("{other:?}"));
    }
}

fn client_event(value: &Value) {
    let Ok(event) = ClientEvent::from_array(value) else {
        return;
    };
    let array = event.to_array();
    assert_eq!(
        ClientEvent::from_array(&array).as_ref(),
        Ok(&event),
        "{array}"
    );
    // The derived codec's text form agrees with its value form.
    let text = event.arg_text();
    assert_eq!(
        text.as_deref()
            .map(|t| serde_json::from_str::<Value>(t).ok()),
        event.args().first().map(|v| Some(v.clone())),
        "{array}"
    );
    let ClientEvent::Identify { name } = &event else {
        return;
    };
    if let Ok(stored) = validate_name(name) {
        assert_eq!(validate_name(&stored).as_ref(), Ok(&stored), "{name:?}");
        assert_eq!(
            validate_normalised(&stored).as_ref(),
            Ok(&stored),
            "{name:?}"
        );
    }
}

fn resume_auth(value: &Value) {
    let Ok(auth) = ResumeAuth::deserialize(value) else {
        return;
    };
    let json = auth.to_json();
    assert!(json.is_object(), "{json}");
    assert_eq!(ResumeAuth::deserialize(&json).ok().as_ref(), Some(&auth));
}

/// `args` as the arguments of an ACK to every request event.
fn acks(args: &[Value]) {
    ack_of::<IdentifyOk>(args);
    ack_of::<WaveOk>(args);
}

/// `args` as the ACK of a request answered with `Ack<T>`: the page's codec
/// and serde agree, and serde's reading writes back to itself.
fn ack_of<T>(args: &[Value])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    Ack<T>: Reply,
{
    let raw: Vec<RawJson> = args
        .iter()
        .map(|arg| RawJson::new(&arg.to_string()).expect("serde_json writes JSON"))
        .collect();
    let decoded = <Ack<T> as Reply>::from_raw(&raw);
    let server = Ack::<T>::from_args(args);
    // The page's codec may be more lenient than serde; where both read
    // an ack, they read the same one.
    if let (Ok(page), Ok(server)) = (&decoded, &server) {
        assert_eq!(page, server);
    }
    let Ok(ack) = server else {
        return;
    };
    let again = ack.to_args();
    assert_eq!(Ack::<T>::from_args(&again).as_ref(), Ok(&ack), "{again:?}");
    let ok = again
        .first()
        .and_then(|v| v.get("ok"))
        .and_then(Value::as_bool);
    assert_eq!(ok, Some(matches!(ack, Ack::Ok(_))));
}
