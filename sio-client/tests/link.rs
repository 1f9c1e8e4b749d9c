//! The transports under a session ([`Link`]), sans IO, against the frames
//! of real servers (docs/PROTOCOL.md sections 3 and 6): websocket first,
//! the fallback to long-polling, the upgrade, and the generation found.

use sio_client::link::{Link, LinkIo, Method, RequestId, Transports};
use sio_client::{ClientConfig, ConnectionState, Output, Protocol, Session};

const WS_V4: &str = "/socket.io/?EIO=4&transport=websocket";
/// socketioxide 0.18.9's polling handshake answer (v4).
const OPEN_V4: &str = r#"0{"sid":"Ab-1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}"#;
/// python-engineio 3.14.2 in threading mode (the seed backend): no upgrade.
const OPEN_V3: &str = r#"0{"sid":"c9536a9a9eea4b9888a1a124287360f1","upgrades":[],"pingTimeout":60000,"pingInterval":25000}"#;

fn link(transports: Transports) -> Link<Session> {
    Link::new(Session::new(ClientConfig::new("/iss"), 0), transports)
}

fn io(link: &mut Link<Session>) -> Vec<LinkIo> {
    std::iter::from_fn(|| link.poll_io()).collect()
}

fn outputs(link: &mut Link<Session>) -> Vec<Output> {
    std::iter::from_fn(|| link.poll_output()).collect()
}

/// The requests among `io`: (id, method, path, body as text).
fn requests(io: &[LinkIo]) -> Vec<(RequestId, Method, String, Vec<u8>)> {
    io.iter()
        .filter_map(|io| match io {
            LinkIo::Request {
                id,
                method,
                path,
                body,
                ..
            } => Some((*id, *method, path.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

fn only_request(io: &[LinkIo], method: Method) -> (RequestId, String, Vec<u8>) {
    let found: Vec<_> = requests(io).into_iter().filter(|r| r.1 == method).collect();
    let [(id, _, path, body)] = &found[..] else {
        panic!("one {method:?} expected in {io:?}");
    };
    (*id, path.clone(), body.clone())
}

fn binary(frames: &[&str]) -> Vec<u8> {
    sio_client::eio3::encode_binary_frames(frames.iter().copied())
}

#[test]
fn a_websocket_first_carries_the_session() {
    let mut link = link(Transports::Any);
    assert_eq!(
        io(&mut link),
        [LinkIo::OpenSocket {
            path: WS_V4.to_owned()
        }]
    );
    link.handle_socket_text(1, OPEN_V4);
    assert_eq!(io(&mut link), [LinkIo::SendSocket("40/iss,".to_owned())]);
    link.handle_socket_text(2, r#"40/iss,{"sid":"x"}"#);
    assert!(outputs(&mut link).contains(&Output::State(ConnectionState::Connected)));
}

/// A proxy refuses the websocket: polling at once, the CONNECT POSTed, a GET
/// out, and (offered) a websocket probe; `3probe`, the parked GET released
/// with `6`, then `5` moves the session onto the websocket.
#[test]
fn a_refused_websocket_falls_back_to_polling_then_upgrades() {
    let mut link = link(Transports::Any);
    io(&mut link);
    outputs(&mut link);
    link.handle_socket_closed(1);
    let out = io(&mut link);
    let (handshake, path, _) = only_request(&out, Method::Get);
    assert!(
        path.starts_with("/socket.io/?EIO=4&transport=polling&t="),
        "{path}"
    );
    assert!(!path.contains("sid="));
    assert!(
        outputs(&mut link).is_empty(),
        "the session never saw it fail"
    );

    link.handle_response(2, handshake, 200, OPEN_V4.as_bytes());
    let out = io(&mut link);
    let (post, path, body) = only_request(&out, Method::Post);
    assert!(path.contains("&sid=Ab-1"), "{path}");
    assert_eq!(body, b"40/iss,");
    let (get, path, _) = only_request(&out, Method::Get);
    assert!(path.contains("EIO=4&transport=polling") && path.contains("&sid=Ab-1"));
    assert!(out.contains(&LinkIo::OpenSocket {
        path: format!("{WS_V4}&sid=Ab-1")
    }));
    assert!(out.contains(&LinkIo::SendSocket("2probe".to_owned())));

    link.handle_response(3, post, 200, b"ok");
    link.handle_response(
        4,
        get,
        200,
        "40/iss,{\"sid\":\"x\"}\u{1e}42/iss,[\"hi\"]".as_bytes(),
    );
    let delivered = outputs(&mut link);
    assert!(delivered.contains(&Output::State(ConnectionState::Connected)));
    assert!(delivered
        .iter()
        .any(|o| matches!(o, Output::Event(e) if e.name == "hi")));
    let (parked, _, _) = only_request(&io(&mut link), Method::Get);

    // An emit while the GET is parked goes in a POST.
    link.session_mut()
        .emit("note", vec![sio_client::RawJson::new("1").unwrap()])
        .unwrap();
    link.after_session();
    let (post, _, body) = only_request(&io(&mut link), Method::Post);
    assert_eq!(body, br#"42/iss,["note",1]"#);
    link.handle_response(5, post, 200, b"ok");

    link.handle_socket_text(6, "3probe");
    assert!(io(&mut link).is_empty(), "waits for the parked GET");
    link.session_mut()
        .emit("note", vec![sio_client::RawJson::new("2").unwrap()])
        .unwrap();
    link.after_session();
    assert!(io(&mut link).is_empty(), "held while pausing");
    link.handle_response(7, parked, 200, b"6");
    assert_eq!(
        io(&mut link),
        [
            LinkIo::SendSocket("5".to_owned()),
            LinkIo::SendSocket(r#"42/iss,["note",2]"#.to_owned())
        ]
    );
    link.handle_socket_text(8, "2");
    assert_eq!(io(&mut link), [LinkIo::SendSocket("3".to_owned())]);
}

/// A v3 server that answers an `EIO=4` handshake anyway (one that does not
/// check the version; the seed backend does, see below), with the seed
/// backend's threading-mode answer: v3 binary framing, no upgrade. The
/// session switches to v3: its CONNECT has no auth, POSTs are
/// binary-framed, and it pings.
#[test]
fn the_seed_backend_over_polling_is_found_to_be_v3() {
    let mut link = link(Transports::PollingOnly);
    let (handshake, path, _) = only_request(&io(&mut link), Method::Get);
    assert!(path.contains("EIO=4"));
    link.handle_response(1, handshake, 200, &binary(&[OPEN_V3, "40"]));
    assert_eq!(link.session_mut().protocol(), Protocol::V3);
    let out = io(&mut link);
    assert!(!out.iter().any(|io| matches!(io, LinkIo::OpenSocket { .. })));
    let (post, path, body) = only_request(&out, Method::Post);
    assert!(path.contains("EIO=3") && path.contains("sid=c9536a9a9eea4b9888a1a124287360f1"));
    assert_eq!(body, binary(&["40/iss,"]));
    assert!(out.iter().any(|io| matches!(io, LinkIo::Request { content_type, method: Method::Post, .. } if *content_type == "application/octet-stream")));
    let (get, _, _) = only_request(&out, Method::Get);
    link.handle_response(2, post, 200, b"ok");
    // python-socketio 4: `connected` before the ack.
    link.handle_response(3, get, 200, &binary(&[r#"42/iss,["connected"]"#, "40/iss"]));
    let delivered = outputs(&mut link);
    assert!(delivered.contains(&Output::State(ConnectionState::Connected)));
    let (_, _, _) = only_request(&io(&mut link), Method::Get);
    // The client pings (v3), in a binary-framed POST.
    link.handle_timeout(25_001);
    let (_, _, body) = only_request(&io(&mut link), Method::Post);
    assert_eq!(body, binary(&["2"]));
}

/// A server of v3 only that refuses `EIO=4` (node's and socketioxide's
/// words): the handshake is tried again with `EIO=3`.
#[test]
fn a_refused_v4_handshake_is_tried_as_v3() {
    let mut link = link(Transports::PollingOnly);
    let (handshake, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_response(
        1,
        handshake,
        400,
        br#"{"code":5,"message":"Unsupported protocol version"}"#,
    );
    let (_, path, _) = only_request(&io(&mut link), Method::Get);
    assert!(
        path.starts_with("/socket.io/?EIO=3&transport=polling"),
        "{path}"
    );
    assert_eq!(link.session_mut().protocol(), Protocol::V3);
}

/// The seed backend itself refuses `EIO=4` (python-engineio 3.14 checks
/// it): the plain-text refusal counts too.
#[test]
fn the_seed_backends_refusal_is_understood() {
    let mut link = link(Transports::PollingOnly);
    let (handshake, _, _) = only_request(&io(&mut link), Method::Get);
    let refusal =
        r#""The client is using an unsupported version of the Socket.IO or Engine.IO protocols""#;
    link.handle_response(1, handshake, 400, refusal.as_bytes());
    let (_, path, _) = only_request(&io(&mut link), Method::Get);
    assert!(
        path.starts_with("/socket.io/?EIO=3&transport=polling"),
        "{path}"
    );
}

/// A handshake without a readable answer (a cross-origin page cannot read
/// python-engineio 3's refusal, which has no CORS headers) is tried once as
/// v3; when that fails too, the session goes back to v4 (no server at all).
#[test]
fn an_unanswered_handshake_is_tried_once_as_v3() {
    let mut link = link(Transports::PollingOnly);
    let (first, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_request_failed(1, first);
    let (guess, path, _) = only_request(&io(&mut link), Method::Get);
    assert!(path.starts_with("/socket.io/?EIO=3"), "{path}");
    link.handle_request_failed(2, guess);
    assert_eq!(
        link.session_mut().protocol(),
        Protocol::V4,
        "no server: back to v4"
    );
    assert!(io(&mut link).is_empty(), "waits for the next attempt");

    let retry = link.next_timeout().unwrap();
    link.handle_timeout(retry);
    let (first, path, _) = only_request(&io(&mut link), Method::Get);
    assert!(path.starts_with("/socket.io/?EIO=4"), "{path}");
    link.handle_request_failed(retry, first);
    let (guess, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_response(retry + 1, guess, 200, &binary(&[OPEN_V3, "40"]));
    assert_eq!(link.session_mut().protocol(), Protocol::V3, "found");
}

/// Once connected on v4, a handshake without an answer is an outage: no v3
/// guess (a server back in between would be met as v3 for good).
#[test]
fn a_session_connected_on_v4_never_guesses_v3() {
    let mut link = link(Transports::PollingOnly);
    let (handshake, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_response(1, handshake, 200, OPEN_V4.as_bytes());
    let out = io(&mut link);
    let (get, _, _) = only_request(&out, Method::Get);
    link.handle_response(2, get, 200, br#"40/iss,{"sid":"x"}"#);
    assert!(outputs(&mut link).contains(&Output::State(ConnectionState::Connected)));
    let (parked, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_request_failed(3, parked);
    outputs(&mut link);
    let retry = link.next_timeout().unwrap();
    link.handle_timeout(retry);
    outputs(&mut link);
    let (again, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_request_failed(retry, again);
    assert!(io(&mut link).is_empty(), "no v3 guess");
    assert_eq!(link.session_mut().protocol(), Protocol::V4);
}

/// A failed probe leaves polling running; an answer to a request of an
/// earlier transport is ignored.
#[test]
fn a_failed_probe_keeps_polling_and_stale_answers_are_ignored() {
    let mut link = link(Transports::Any);
    io(&mut link);
    link.handle_socket_closed(1);
    let (handshake, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_response(2, handshake, 200, OPEN_V4.as_bytes());
    let out = io(&mut link);
    let (get, _, _) = only_request(&out, Method::Get);
    let (post, _, _) = only_request(&out, Method::Post);
    link.handle_socket_closed(3);
    assert!(io(&mut link).is_empty(), "the GET is still out");
    link.handle_response(4, post, 200, b"ok");
    link.handle_response(5, get, 200, br#"40/iss,{"sid":"x"}"#);
    assert!(outputs(&mut link).contains(&Output::State(ConnectionState::Connected)));
    let (parked, _, _) = only_request(&io(&mut link), Method::Get);
    // The server goes away: the session reconnects, polling first now.
    link.handle_request_failed(6, parked);
    let lost = outputs(&mut link);
    assert!(
        lost.iter()
            .any(|o| matches!(o, Output::State(ConnectionState::Reconnecting { .. }))),
        "{lost:?}"
    );
    let retry = link.next_timeout().unwrap();
    link.handle_timeout(retry);
    let (fresh, path, _) = only_request(&io(&mut link), Method::Get);
    assert!(!path.contains("sid="));
    outputs(&mut link);
    link.handle_response(retry, get, 200, b"6");
    link.handle_response(retry, parked, 200, b"6");
    assert!(io(&mut link).is_empty() && outputs(&mut link).is_empty());
    link.handle_response(retry + 1, fresh, 200, OPEN_V4.as_bytes());
    assert!(!io(&mut link).is_empty());
}

/// Over polling, the v4 heartbeat and the auth work as over a websocket:
/// the CONNECT POST carries the auth (a resume token comes back this way),
/// and a server ping in a GET answer is ponged in the next POST.
#[test]
fn heartbeat_and_auth_work_over_polling() {
    let mut config = ClientConfig::new("/iss");
    config.auth = Some(
        sio_client::raw::JsonObject::try_from(
            sio_client::RawJson::new(r#"{"resume":"t"}"#).unwrap(),
        )
        .unwrap(),
    );
    let mut link = Link::new(Session::new(config, 0), Transports::PollingOnly);
    let (handshake, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_response(1, handshake, 200, OPEN_V4.as_bytes());
    let out = io(&mut link);
    let (post, _, body) = only_request(&out, Method::Post);
    assert_eq!(body, br#"40/iss,{"resume":"t"}"#);
    let (get, _, _) = only_request(&out, Method::Get);
    link.handle_response(2, post, 200, b"ok");
    link.handle_response(3, get, 200, "40/iss,{\"sid\":\"x\"}\u{1e}2".as_bytes());
    let out = io(&mut link);
    let (_, _, body) = only_request(&out, Method::Post);
    assert_eq!(body, b"3", "the pong");
    // No ping for pingInterval + pingTimeout: the connection is presumed dead.
    outputs(&mut link);
    link.handle_timeout(3 + 25_000 + 20_000);
    assert!(outputs(&mut link)
        .iter()
        .any(|o| matches!(o, Output::State(ConnectionState::Reconnecting { .. }))));
}

/// Polling only never opens a websocket, even when offered.
#[test]
fn polling_only_never_opens_a_websocket() {
    let mut link = link(Transports::PollingOnly);
    let (handshake, _, _) = only_request(&io(&mut link), Method::Get);
    link.handle_response(1, handshake, 200, OPEN_V4.as_bytes());
    assert!(!io(&mut link)
        .iter()
        .any(|io| matches!(io, LinkIo::OpenSocket { .. } | LinkIo::SendSocket(_))));
}
