//! The generic session with no application on top: raw events on any
//! namespace, acks handed back raw, server acks answered by the caller.
//! (The app's typed session in `shared` runs the recorded-frame scenarios.)

use sio_client::raw::JsonObject;
use sio_client::{
    AckError, ClientConfig, ConnectionState, EmitError, Event, Output, Protocol, RawJson, ReplyId,
    Session,
};

const OPEN: &str = r#"0{"sid":"nBFVb3tPZrUU1UP6AAAB","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

fn raw(text: &str) -> RawJson {
    RawJson::new(text).expect("valid JSON")
}

fn drain(session: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

fn sent(outputs: &[Output]) -> Vec<&str> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send(frame) => Some(frame.as_str()),
            _ => None,
        })
        .collect()
}

/// A session on `namespace` that has received the open packet and `ack`.
fn joined(namespace: &str, ack: &str) -> Session {
    let mut session = Session::new(ClientConfig::new(namespace), 0);
    session.handle_text(0, OPEN);
    session.handle_text(0, ack);
    assert_eq!(session.state(), &ConnectionState::Connected);
    drain(&mut session);
    session
}

#[test]
fn the_main_namespace_is_joined_without_writing_it() {
    let mut session = Session::new(ClientConfig::new("/"), 0);
    drain(&mut session);
    session.handle_text(0, OPEN);
    assert_eq!(sent(&drain(&mut session)), ["40"]);
    session.handle_text(0, r#"40{"sid":"x"}"#);
    assert_eq!(session.state(), &ConnectionState::Connected);
}

#[test]
fn auth_is_any_object_the_caller_gives() {
    let mut config = ClientConfig::new("/chat");
    let auth = JsonObject::try_from(raw(r#"{"token":"t0k","n":[1,2]}"#)).expect("an object");
    config.auth = Some(auth);
    let mut session = Session::new(config, 0);
    session.handle_text(0, OPEN);
    assert_eq!(
        sent(&drain(&mut session)),
        [r#"40/chat,{"token":"t0k","n":[1,2]}"#]
    );
    assert!(JsonObject::try_from(raw("[1]")).is_err());
}

#[test]
fn events_go_out_and_come_in_raw() {
    let mut session = joined("/chat", "40/chat,");
    session
        .emit("say", vec![raw(r#""hi""#), raw(r#"{"to":2.50}"#)])
        .expect("joined");
    assert_eq!(
        sent(&drain(&mut session)),
        [r#"42/chat,["say","hi",{"to":2.50}]"#]
    );
    session.handle_text(1, r#"42/chat,["said", {"by": "Zoë"} ,3]"#);
    let event = Event {
        name: "said".into(),
        args: vec![raw(r#"{"by": "Zoë"}"#), raw("3")],
        reply: None,
    };
    assert_eq!(drain(&mut session), [Output::Event(event)]);
}

#[test]
fn acks_come_back_raw_by_id() {
    let mut session = joined("/chat", "40/chat,");
    let first = session
        .emit_with_ack(0, "q", vec![], 1_000)
        .expect("joined");
    let second = session
        .emit_with_ack(0, "q", vec![], 1_000)
        .expect("joined");
    assert_eq!(
        sent(&drain(&mut session)),
        [r#"42/chat,0["q"]"#, r#"42/chat,1["q"]"#]
    );
    session.handle_text(1, r#"43/chat,1[{"b":1},null]"#);
    session.handle_text(1, r#"43/chat,0[]"#);
    assert_eq!(
        drain(&mut session),
        [
            Output::Ack {
                id: second,
                result: Ok(vec![raw(r#"{"b":1}"#), raw("null")])
            },
            Output::Ack {
                id: first,
                result: Ok(vec![])
            },
        ]
    );
    session.handle_timeout(5_000);
    assert!(drain(&mut session).is_empty(), "both acks are done");
}

/// The one output after an event that asks for a reply: its `ReplyId`.
fn asked(session: &mut Session) -> ReplyId {
    match &drain(session)[..] {
        [Output::Event(Event {
            reply: Some(reply), ..
        })] => *reply,
        other => panic!("an event asking for a reply, got {other:?}"),
    }
}

#[test]
fn the_application_answers_server_acks() {
    let mut session = joined("/chat", "40/chat,");
    session.handle_text(1, r#"42/chat,9["ask",1]"#);
    let reply = asked(&mut session);
    assert!(sent(&drain(&mut session)).is_empty(), "no automatic answer");
    session
        .reply(reply, vec![raw(r#""yes""#)])
        .expect("same transport");
    assert_eq!(sent(&drain(&mut session)), [r#"43/chat,9["yes"]"#]);
}

#[test]
fn a_reply_after_the_transport_changed_is_refused() {
    let mut session = joined("/", "40");
    session.handle_text(1, r#"427["ask"]"#);
    let reply = asked(&mut session);
    session.handle_transport_closed(2);
    session.handle_timeout(60_000);
    session.handle_text(60_000, OPEN);
    session.handle_text(60_000, "40");
    drain(&mut session);
    assert_eq!(session.reply(reply, vec![]), Err(EmitError::ReplyGone));
    session.close();
    assert_eq!(session.reply(reply, vec![]), Err(EmitError::Closed));
}

#[test]
fn reserved_names_are_refused_at_emit() {
    let mut session = joined("/", "40");
    assert_eq!(
        session.emit("disconnect", vec![]),
        Err(EmitError::ReservedName("disconnect".into()))
    );
    assert!(session.emit_with_ack(0, "connect", vec![], 10).is_err());
    assert!(drain(&mut session).is_empty());
}

#[test]
fn a_closed_session_fails_what_is_pending() {
    let mut session = joined("/", "40");
    let id = session
        .emit_with_ack(0, "q", vec![], 1_000)
        .expect("joined");
    drain(&mut session);
    session.close();
    let outputs = drain(&mut session);
    assert!(outputs.contains(&Output::Ack {
        id,
        result: Err(AckError::Closed)
    }));
}

/// The seed backend (python-engineio 3 with eventlet) over a websocket, as
/// recorded (docs/PROTOCOL.md section 6): open without maxPayload, `40` for
/// the main namespace unasked, `connected` before the `40/iss` ack, and the
/// CLIENT pings every pingInterval while the server only pongs.
#[test]
fn engine_io_v3_the_client_pings_and_the_server_joins_main_unasked() {
    const OPEN_V3: &str = r#"0{"sid":"a8bd86f7b8774812a09f8a7784cd18ee","upgrades":[],"pingTimeout":60000,"pingInterval":25000}"#;
    let mut config = ClientConfig::new("/iss");
    config.protocol = Protocol::V3;
    config.auth = Some(JsonObject::try_from(raw(r#"{"resume":"t"}"#)).expect("an object"));
    let mut session = Session::new(config, 0);
    drain(&mut session);
    session.handle_text(4, OPEN_V3);
    // Revision 4: no auth. (1.4.4 writes `40/iss`; with the trailing comma
    // it is the same packet to every parser, python-socketio 4's included.)
    assert_eq!(sent(&drain(&mut session)), ["40/iss,"], "no auth");
    session.handle_text(4, "40");
    assert!(
        drain(&mut session).is_empty(),
        "the main namespace join is silent"
    );
    session.handle_text(6, r#"42/iss,["connected"]"#);
    session.handle_text(6, "40/iss");
    let out = drain(&mut session);
    assert!(
        out.contains(&Output::State(ConnectionState::Connected)),
        "{out:?}"
    );
    assert!(matches!(&out[0], Output::Event(Event { name, .. }) if name == "connected"));
    assert_eq!(
        session.next_timeout(),
        Some(25_004),
        "the first ping is ours"
    );
    session.handle_timeout(25_004);
    assert_eq!(sent(&drain(&mut session)), ["2"]);
    assert_eq!(
        session.next_timeout(),
        Some(85_004),
        "the pong is due within pingTimeout"
    );
    session.handle_text(25_010, "3");
    assert_eq!(
        session.next_timeout(),
        Some(50_010),
        "the next ping, an interval after the pong"
    );
    session.handle_timeout(50_010);
    assert_eq!(sent(&drain(&mut session)), ["2"]);
    session.handle_timeout(110_010);
    let out = drain(&mut session);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Warning(w) if w.contains("no pong"))),
        "{out:?}"
    );
    assert!(matches!(
        session.state(),
        ConnectionState::Reconnecting { .. }
    ));
}

/// A v4 session whose websocket reaches a revision-4 server that does not
/// check the version (frames of the seed backend; python-engineio 3.14 itself
/// refuses `EIO=4`, which the link handles): the unasked `40` shows revision
/// 4, so the session switches to v3 for good (it pings, and its next CONNECT
/// has no auth); with detection off it does not.
#[test]
fn a_v4_session_detects_a_revision_4_server_by_its_unasked_join() {
    const OPEN_V3: &str = r#"0{"sid":"a8bd86f7b8774812a09f8a7784cd18ee","upgrades":[],"pingTimeout":60000,"pingInterval":25000}"#;
    let mut config = ClientConfig::new("/iss");
    config.auth = Some(JsonObject::try_from(raw(r#"{"resume":"t"}"#)).expect("an object"));
    let mut session = Session::new(config.clone(), 0);
    drain(&mut session);
    session.handle_text(4, OPEN_V3);
    assert_eq!(sent(&drain(&mut session)), [r#"40/iss,{"resume":"t"}"#]);
    session.handle_text(5, "40");
    assert!(drain(&mut session).is_empty(), "silent");
    assert_eq!(session.protocol(), Protocol::V3);
    session.handle_text(6, r#"42/iss,["connected"]"#);
    session.handle_text(6, "40/iss");
    drain(&mut session);
    assert_eq!(session.next_timeout(), Some(25_005), "it pings now");
    session.handle_timeout(25_005);
    assert_eq!(sent(&drain(&mut session)), ["2"]);
    // Lost and back: the next attempt speaks v3 from the start.
    session.handle_transport_closed(30_000);
    drain(&mut session);
    let retry = session.next_timeout().expect("a retry");
    session.handle_timeout(retry);
    drain(&mut session);
    session.handle_text(retry + 1, OPEN_V3);
    assert_eq!(
        sent(&drain(&mut session)),
        ["40/iss,"],
        "no auth in revision 4"
    );

    config.detect_protocol = false;
    let mut forced = Session::new(config, 0);
    drain(&mut forced);
    forced.handle_text(4, OPEN_V3);
    drain(&mut forced);
    forced.handle_text(5, "40");
    assert_eq!(forced.protocol(), Protocol::V4, "forced");
    assert!(matches!(&drain(&mut forced)[..], [Output::Warning(_)]));
}

/// Engine.IO v4 never pings from the client (the server does).
#[test]
fn engine_io_v4_clients_never_ping() {
    let mut session = joined("/", "40");
    for now in [25_000, 40_000] {
        session.handle_text(now, "2");
        assert_eq!(sent(&drain(&mut session)), ["3"]);
        session.handle_timeout(now + 1);
        assert!(drain(&mut session).is_empty());
    }
}

/// `id()` is the socket id the CONNECT ack gives (v5), only while joined;
/// a revision 4 server gives none.
#[test]
fn the_socket_id_comes_from_the_connect_ack() {
    // A CONNECT ack as recorded in docs/PROTOCOL.md, section 2.
    let mut session = joined("/iss", r#"40/iss,{"sid":"Pvy7Lr0cU9mXq2bTAAAD"}"#);
    assert_eq!(session.id(), Some("Pvy7Lr0cU9mXq2bTAAAD"));
    session.close();
    assert_eq!(session.id(), None);
    assert_eq!(joined("/iss", "40/iss,").id(), None);
    assert_eq!(joined("/", r#"40{"sid":7}"#).id(), None, "not a string");
    let fresh = Session::new(ClientConfig::new("/"), 0);
    assert_eq!(fresh.id(), None);
}
