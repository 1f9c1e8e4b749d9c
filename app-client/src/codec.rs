//! The client's codec for the app's events: raw JSON text in and out, no serde.
//!
//! Why it exists: the page decodes only what the server sends (`connected`,
//! `presence`, `waved`, the acks) and encodes only what it sends and its
//! resume auth. Reading those through serde_json pulled its whole parser into
//! the browser build, and serde's buffering `ContentDeserializer` with it (the
//! internally tagged `presence` payload needs one): about 11 KB of the
//! page's gzip weight.
//!
//! Nothing here is written per event: `#[derive(Event)]` writes
//! `ServerEvent::read_args` and `ClientEvent::write_args`, and
//! `#[derive(FromJson, ToJson)]` each payload's reading and writing
//! (`sio_proto::read`), from the definitions in `shared::events`. The serde
//! derives there stay the contract (the server writes with them); the
//! property tests below check that this codec reads back everything serde
//! writes, and refuses what serde refuses, for every event.

use sio_client::raw::JsonObject;
use sio_client::read::{FromJson, FromObject, Object, ReadError, ToJson};
use sio_client::RawJson;

use shared::events::{
    Ack, ClientEvent, ErrorCode, EventError, PayloadError, Refusal, ResumeAuth, ResumeToken,
    ServerEvent, ServerEventKind,
};

/// Decodes a server event from its name and raw arguments.
///
/// # Errors
/// [`EventError::UnknownEvent`] for a name this build does not know,
/// [`EventError::BadPayload`] for arguments of the wrong shape.
pub fn server_event(name: &str, args: &[RawJson]) -> Result<ServerEvent, EventError> {
    let kind = ServerEventKind::from_name(name)
        .ok_or_else(|| EventError::UnknownEvent(name.to_owned()))?;
    ServerEvent::read_args(kind, args)
}

/// Decodes a request's ACK (`[{"ok":..}]`) in the shape every request
/// shares: `{"ok":true, …T's fields}` or `{"ok":false,"code":…,"error":…}`.
///
/// # Errors
/// What is wrong with them.
pub fn ack<T: FromObject>(args: &[RawJson]) -> Result<Ack<T>, PayloadError> {
    match args {
        [] => Err(PayloadError::Missing {
            expected: "one argument",
        }),
        [arg] => read_ack(arg.as_str()).map_err(|err| PayloadError::Invalid(err.0)),
        more => Err(PayloadError::TooMany { got: more.len() }),
    }
}

fn read_ack<T: FromObject>(text: &str) -> Result<Ack<T>, ReadError> {
    let object = Object::parse(text)?;
    if object.field::<bool>("ok")? {
        return T::from_object(&object).map(Ack::Ok);
    }
    let code: Option<String> = object.field("code")?;
    let message: Option<String> = object.field("error")?;
    Ok(Ack::Err(Refusal {
        code: code.map_or(ErrorCode::Other, |code| ErrorCode::from_wire(&code)),
        message: message.unwrap_or_else(|| "refused".to_owned()),
    }))
}

/// The arguments that follow the event's name, as JSON text.
pub fn client_args(event: &ClientEvent) -> Vec<RawJson> {
    event.write_args()
}

/// The CONNECT auth that asks for a session back: `{"resume":"<token>"}`.
/// (Always `Some`: the writer writes an object.)
pub fn resume_auth(token: &ResumeToken) -> Option<JsonObject> {
    let auth = ResumeAuth {
        resume: Some(token.clone()),
    };
    JsonObject::try_from(auth.to_raw_json()).ok()
}

/// Reads any payload type on its own (tests, tools).
///
/// # Errors
/// What is wrong with it.
pub fn read<T: FromJson>(text: &str) -> Result<T, PayloadError> {
    T::from_json(text).map_err(|err| PayloadError::Invalid(err.0))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use shared::events::{
        Connected, IdentifyAck, IdentifyOk, ProtocolCode, SessionId, WaveAck, WaveOk,
    };
    use shared::names::NameCode;

    fn raw(value: &Value) -> RawJson {
        RawJson::new(&value.to_string()).expect("serde writes JSON")
    }

    /// serde's reading of an event array, the reference.
    fn by_serde(array: &Value) -> Result<ServerEvent, EventError> {
        ServerEvent::from_array(array)
    }

    /// This codec's reading of the same array.
    fn by_codec(array: &Value) -> Result<ServerEvent, EventError> {
        let items = array.as_array().expect("an event array");
        let name = items[0].as_str().expect("a name");
        let args: Vec<RawJson> = items[1..].iter().map(raw).collect();
        server_event(name, &args)
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, controls, non-BMP: what escaping must survive.
        prop::string::string_regex("(\"|\\\\|\n|\u{1}|é|😀|[a-z ]){0,12}").expect("regex")
    }

    fn id() -> impl Strategy<Value = SessionId> {
        text().prop_map(SessionId)
    }

    /// Every server event, derived from the events themselves
    /// (`shared`'s `arbitrary` feature): a new event is covered by the
    /// property tests below without a line of test code.
    fn server_events() -> impl Strategy<Value = ServerEvent> {
        any::<ServerEvent>()
    }

    /// Every JSON pointer into `value` (the root excluded).
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        let children: Vec<(String, &Value)> = match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            _ => Vec::new(),
        };
        for (key, child) in children {
            let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
            out.push(path.clone());
            pointers(child, path, out);
        }
    }

    /// What a broken or foreign peer might put in a field's place.
    fn replacement(choice: u8) -> Option<Value> {
        match choice % 12 {
            0 => None, // remove the member
            1 => Some(Value::Null),
            2 => Some(json!(true)),
            3 => Some(json!(-1)),
            4 => Some(json!(1.5)),
            5 => Some(json!(1u64 << 40)),
            6 => Some(json!(u64::MAX)),
            7 => Some(json!("x")),
            8 => Some(json!([])),
            9 => Some(json!({})),
            10 => Some(json!("left")),
            _ => Some(json!(7)),
        }
    }

    /// Replaces or removes the member or element at `pointer`.
    fn mutate(value: &mut Value, pointer: &str, with: Option<Value>) {
        if let Some(new) = with {
            *value.pointer_mut(pointer).expect("a path of the value") = new;
            return;
        }
        let (parent, key) = pointer.rsplit_once('/').expect("not the root");
        let key = key.replace("~1", "/").replace("~0", "~");
        match value.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&key);
            }
            Some(Value::Array(items)) => {
                items.remove(key.parse::<usize>().expect("an index"));
            }
            _ => unreachable!("a parent is a container"),
        }
    }

    /// The property tests below cover every server event: a new event
    /// whose strategy was forgotten fails here, by name, instead of going
    /// untested.
    #[test]
    fn the_strategy_yields_every_server_event() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = server_events();
        let mut seen = Vec::new();
        for _ in 0..512 {
            let kind = strategy.new_tree(&mut runner).unwrap().current().kind();
            if !seen.contains(&kind) {
                seen.push(kind);
            }
        }
        for kind in ServerEventKind::ALL {
            assert!(
                seen.contains(kind),
                "server_events() never yields `{}`: add it to the strategy",
                kind.name()
            );
        }
    }

    proptest! {
        // One mutation per case among dozens of fields and twelve kinds of
        // damage: many cases, so that every pair is tried (a few seconds).
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The codec reads back every event the server's serde writes.
        #[test]
        fn reads_everything_serde_writes(event in server_events()) {
            prop_assert_eq!(by_codec(&event.to_array()), Ok(event));
        }

        /// One field removed or replaced anywhere: the codec and serde
        /// agree on whether it is an event, and on which.
        #[test]
        fn refuses_what_serde_refuses(
            event in server_events(),
            at in any::<prop::sample::Index>(),
            choice in any::<u8>(),
        ) {
            let mut array = event.to_array();
            let mut paths = Vec::new();
            pointers(&array, String::new(), &mut paths);
            // Keep the name (`/0`): both sides dispatch on it.
            paths.retain(|path| path != "/0");
            if paths.is_empty() {
                return Ok(()); // `connected` without a payload: nothing to damage
            }
            let pointer = paths[at.index(paths.len())].clone();
            mutate(&mut array, &pointer, replacement(choice));
            let (serde, codec) = (by_serde(&array), by_codec(&array));
            prop_assert_eq!(serde.is_ok(), codec.is_ok(), "{} serde {:?} codec {:?}", array, serde, codec);
            if let (Ok(serde), Ok(codec)) = (serde, codec) {
                prop_assert_eq!(serde, codec);
            }
        }

        /// Acks: the codec reads what the server writes, as serde does.
        #[test]
        fn acks_read_back(ok in any::<bool>(), uuid in id(), name in text(), code in 0usize..12) {
            let codes: Vec<ErrorCode> = NameCode::ALL
                .into_iter()
                .map(ErrorCode::Name)
                .chain(ProtocolCode::ALL.map(ErrorCode::Protocol))
                .collect();
            // Every request's ack, on the same draw.
            let ack = if ok {
                IdentifyAck::Ok(IdentifyOk { uuid, username: name })
            } else {
                IdentifyAck::Err(Refusal {
                    code: codes[code % codes.len()],
                    message: name,
                })
            };
            let args: Vec<RawJson> = ack.to_args().iter().map(raw).collect();
            prop_assert_eq!(super::ack::<IdentifyOk>(&args), Ok(ack.clone()));
            let wave = match ack {
                Ack::Ok(IdentifyOk { uuid, .. }) => WaveAck::Ok(WaveOk { to: uuid }),
                Ack::Err(refusal) => WaveAck::Err(refusal),
            };
            let args: Vec<RawJson> = wave.to_args().iter().map(raw).collect();
            prop_assert_eq!(super::ack::<WaveOk>(&args), Ok(wave));
        }
    }

    #[test]
    fn ack_refusals_and_foreign_shapes() {
        let read = |value: Value| ack::<IdentifyOk>(&[raw(&value)]);
        assert!(read(json!({"ok": true})).is_err());
        assert!(read(json!({"ok": "yes"})).is_err());
        assert!(read(json!({"uuid": "u", "username": "Ada"})).is_err());
        assert!(read(json!(["ok"])).is_err());
        assert_eq!(
            read(json!({"ok": false, "code": "teapot", "error": null})),
            Ok(IdentifyAck::Err(Refusal {
                code: ErrorCode::Other,
                message: "refused".into()
            }))
        );
        // Key order does not matter (socketioxide sorts keys).
        assert_eq!(
            read(json!({"username": "Ada", "ok": true, "uuid": "u"})),
            Ok(IdentifyAck::Ok(IdentifyOk {
                uuid: SessionId("u".into()),
                username: "Ada".into()
            }))
        );
        assert_eq!(
            ack::<IdentifyOk>(&[]).unwrap_err().to_string(),
            "expected one argument, got nothing"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_as_serde_does() {
        let text = r#"{"uuid":"a","uuid":"b"}"#;
        let args = [RawJson::new(text).unwrap()];
        let err = server_event(ServerEventKind::Connected.name(), &args).unwrap_err();
        assert!(err.to_string().contains("duplicate field `uuid`"), "{err}");
        assert!(serde_json::from_str::<Connected>(text).is_err());
    }

    #[test]
    fn errors_name_the_field() {
        let array = json!(["presence", {"kind": "snapshot", "seq": 1, "total": 1,
            "users": [{"id": "a", "name": "Ada", "look": -3}]}]);
        let err = by_codec(&array).unwrap_err().to_string();
        assert_eq!(
            err,
            "bad arguments for `presence`: in `users`: in `look`: expected a non-negative integer"
        );
        let err = by_codec(&json!(["presence", {"kind": "dance", "seq": 1, "total": 1}]));
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("unknown `kind` \"dance\""));
        assert_eq!(
            by_codec(&json!(["jump"])),
            Err(EventError::UnknownEvent("jump".into()))
        );
    }

    #[test]
    fn what_the_client_sends() {
        let event = ClientEvent::Identify {
            name: "Zoë \"Z\"".into(),
        };
        let args = client_args(&event);
        let values: Vec<Value> = args
            .iter()
            .map(|arg| serde_json::from_str(arg.as_str()).unwrap())
            .collect();
        assert_eq!(values, event.args());
        let auth = resume_auth(&ResumeToken("s3\"cr3t".into())).expect("an object");
        let read: Value = serde_json::from_str(auth.as_str()).unwrap();
        assert_eq!(read, json!({"resume": "s3\"cr3t"}));
    }
}
