//! The sans-IO client session against frames recorded from the three peers
//! (docs/PROTOCOL.md): node socket.io 4.8, Flask-SocketIO 5.7 and
//! socketioxide 0.18, including every quirk in its table of where they differ.

use app_client::{
    self as client, AckError, AckId, BackoffConfig, ClientConfig, ConnectionState, Driven,
    EmitError, Identify, Output, Session,
};
use shared::events::{
    ClientEvent, Connected, IdentifyAck, IdentifyOk, ResumeToken, ServerEvent, SessionId,
};
use sio_client::AckError as Lost;

const NODE_OPEN: &str = r#"0{"sid":"nBFVb3tPZrUU1UP6AAAB","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const FLASK_OPEN: &str = r#"0{"sid":"Xq0ClmM6pYvNQ3a8AAAA","upgrades":[],"pingTimeout":20000,"pingInterval":25000,"maxPayload":1000000}"#;
const OXIDE_OPEN: &str = r#"0{"sid":"aR0dWJ2fKx1bVmAq","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}"#;
const UUID: &str = "0190f1c2-7b3a-7c4d-9e8f-0a1b2c3d4e5f";

/// Drives a session and records what it asks for.
struct Harness {
    session: Session,
    now: u64,
}

impl Harness {
    fn new(config: ClientConfig) -> Self {
        Harness {
            session: Session::new(config, 0),
            now: 0,
        }
    }

    fn default() -> Self {
        Self::new(client::config())
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.session.poll_output()).collect()
    }

    fn sent(&mut self) -> Vec<String> {
        self.drain()
            .into_iter()
            .filter_map(|o| match o {
                Output::Send(frame) => Some(frame),
                _ => None,
            })
            .collect()
    }

    fn recv(&mut self, frame: &str) -> Vec<Output> {
        self.session.handle_text(self.now, frame);
        self.drain()
    }

    fn advance_to(&mut self, at: u64) -> Vec<Output> {
        self.now = at;
        self.session.handle_timeout(at);
        self.drain()
    }

    /// Runs timers until `next_timeout` is `None` or beyond `until`.
    fn run_timers_until(&mut self, until: u64) -> Vec<Output> {
        let mut all = Vec::new();
        while let Some(at) = self.session.next_timeout() {
            if at > until {
                break;
            }
            all.extend(self.advance_to(at.max(self.now)));
        }
        all
    }

    /// Open packet + CONNECT ack: joined.
    fn join(&mut self, open: &str) {
        self.drain();
        let out = self.recv(open);
        assert!(out.contains(&Output::Send("40/iss,".into())), "{out:?}");
        let out = self.recv(r#"40/iss,{"sid":"Pvy7ZJ0v6Ob7yU7HAAAC"}"#);
        assert!(
            out.contains(&Output::State(ConnectionState::Connected)),
            "{out:?}"
        );
    }
}

fn identify(name: &str) -> ClientEvent {
    ClientEvent::Identify { name: name.into() }
}

fn events(outputs: &[Output]) -> Vec<ServerEvent> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn states(outputs: &[Output]) -> Vec<ConnectionState> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::State(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Every ack in `outputs`, decoded as the reply to an identify.
fn acks(outputs: &[Output]) -> Vec<(AckId, Result<IdentifyAck, AckError>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Ack { id, result } => Some((*id, client::decode_reply(result))),
            _ => None,
        })
        .collect()
}

fn connected_event() -> ServerEvent {
    ServerEvent::Connected(Some(Connected {
        uuid: SessionId(UUID.into()),
        resume: None,
    }))
}

#[test]
fn node_session_end_to_end() {
    let mut h = Harness::default();
    assert_eq!(
        h.drain(),
        vec![
            Output::State(ConnectionState::Connecting { attempt: 0 }),
            Output::OpenTransport
        ]
    );
    h.join(NODE_OPEN);
    let out = h.recv(&format!(r#"42/iss,["connected",{{"uuid":"{UUID}"}}]"#));
    assert_eq!(events(&out), vec![connected_event()]);

    h.session.emit(identify("Ada")).unwrap();
    assert_eq!(h.sent(), vec![r#"42/iss,["identify","Ada"]"#]);

    let id = h
        .session
        .request(h.now, Identify { name: "Ada".into() }, 5_000)
        .unwrap()
        .id();
    assert_eq!(
        h.sent(),
        vec![format!(r#"42/iss,{}["identify","Ada"]"#, id.0)]
    );
    let out = h.recv(&format!(
        r#"43/iss,{}[{{"ok":true,"uuid":"{UUID}","username":"Ada"}}]"#,
        id.0
    ));
    assert_eq!(
        acks(&out),
        vec![(
            id,
            Ok(IdentifyAck::Ok(IdentifyOk {
                uuid: SessionId(UUID.into()),
                username: "Ada".into()
            }))
        )]
    );

    // Heartbeat: the server pings, we pong.
    h.now = 25_000;
    assert_eq!(h.recv("2"), vec![Output::Send("3".into())]);

    h.session.close();
    assert_eq!(
        h.drain(),
        vec![
            Output::Send("41/iss,".into()),
            Output::Send("1".into()),
            Output::CloseTransport,
            Output::State(ConnectionState::Offline {
                reason: "closed by the client".into()
            }),
        ]
    );
    assert_eq!(h.session.emit(identify("x")), Err(EmitError::Closed));
    assert_eq!(h.session.next_timeout(), None);
}

#[test]
fn flask_sends_connected_before_the_connect_ack() {
    let mut h = Harness::default();
    h.drain();
    assert_eq!(h.sent().len(), 0);
    let out = h.recv(FLASK_OPEN);
    assert!(out.contains(&Output::Send("40/iss,".into())));
    // Flask's default order: the event first...
    let out = h.recv(&format!(r#"42/iss,["connected",{{"uuid":"{UUID}"}}]"#));
    assert_eq!(
        events(&out),
        vec![connected_event()],
        "delivered, not dropped"
    );
    // ...an identify emitted in reaction waits for the ack...
    let id = h
        .session
        .request(h.now, Identify { name: "Ada".into() }, 5_000)
        .unwrap()
        .id();
    assert_eq!(h.sent(), Vec::<String>::new());
    // ...and goes out right after it.
    let out = h.recv(r#"40/iss,{"sid":"q2BvXkB0Y3mJ5gE2AAAB"}"#);
    assert!(out.contains(&Output::State(ConnectionState::Connected)));
    assert!(out.contains(&Output::Send(format!(
        r#"42/iss,{}["identify","Ada"]"#,
        id.0
    ))));
    // The original 2016 app emitted `connected` with no payload at all.
    assert_eq!(
        events(&h.recv(r#"42/iss,["connected"]"#)),
        vec![ServerEvent::Connected(None)]
    );
}

#[test]
fn connect_error_as_bare_string_or_object_stops_with_the_reason() {
    for frame in [
        r#"44/iss,"Unable to connect""#,
        r#"44/iss,{"message":"Unable to connect"}"#,
    ] {
        let mut h = Harness::default();
        h.drain();
        h.recv(FLASK_OPEN);
        let pending = h
            .session
            .request(h.now, Identify { name: "Ada".into() }, 5_000)
            .unwrap()
            .id();
        let out = h.recv(frame);
        assert_eq!(
            states(&out),
            vec![ConnectionState::Offline {
                reason: "the server refused the connection: Unable to connect".into()
            }],
            "{frame}"
        );
        assert!(out.contains(&Output::CloseTransport));
        assert_eq!(
            acks(&out),
            vec![(pending, Err(AckError::Session(Lost::Closed)))]
        );
    }
}

#[test]
fn socketioxide_pings_right_after_open_and_has_a_smaller_max_payload() {
    let mut h = Harness::default();
    h.drain();
    let out = h.recv(OXIDE_OPEN);
    assert_eq!(out, vec![Output::Send("40/iss,".into())]);
    h.now = 1;
    assert_eq!(
        h.recv("2"),
        vec![Output::Send("3".into())],
        "ping before the CONNECT ack"
    );
    h.recv(r#"40/iss,{"sid":"aR0dWJ2fKx1bVmAq"}"#);
    let big = "x".repeat(100_000);
    assert!(matches!(
        h.session.emit(identify(&big)),
        Err(EmitError::TooLarge { max: 100_000, .. })
    ));
    let id = h
        .session
        .request(h.now, Identify { name: "Ada".into() }, 5_000)
        .unwrap()
        .id();
    h.drain();
    // socketioxide sorts keys: parsed, not compared as text.
    let out = h.recv(&format!(
        r#"43/iss,{}[{{"ok":true,"username":"Ada","uuid":"{UUID}"}}]"#,
        id.0
    ));
    assert!(matches!(&acks(&out)[..], [(got, Ok(_))] if *got == id));
}

#[test]
fn auth_payload_goes_in_the_connect_packet() {
    let mut h = Harness::default();
    h.session.set_resume(Some(ResumeToken("t0k".into())));
    h.drain();
    let out = h.recv(NODE_OPEN);
    assert_eq!(out, vec![Output::Send(r#"40/iss,{"resume":"t0k"}"#.into())]);
}

#[test]
fn heartbeat_loss_reconnects_with_backoff() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    assert_eq!(
        h.session.next_timeout(),
        Some(45_000),
        "pingInterval + pingTimeout"
    );
    let out = h.advance_to(45_000);
    assert!(out.contains(&Output::CloseTransport));
    let [ConnectionState::Reconnecting {
        attempt: 1,
        delay_ms,
        retry_at_ms,
    }] = states(&out)[..]
    else {
        panic!("{out:?}")
    };
    assert!((500..=1500).contains(&delay_ms), "{delay_ms}");
    assert_eq!(retry_at_ms, 45_000 + delay_ms);
    let out = h.advance_to(retry_at_ms);
    assert_eq!(
        out,
        vec![
            Output::State(ConnectionState::Connecting { attempt: 1 }),
            Output::OpenTransport
        ]
    );
    // A successful join resets the attempt counter.
    h.join(NODE_OPEN);
    h.advance_to(h.now + 45_000);
    assert!(matches!(
        h.session.state(),
        ConnectionState::Reconnecting { attempt: 1, .. }
    ));
}

#[test]
fn pings_keep_the_connection_alive() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    for i in 1..=10u64 {
        h.now = i * 25_000;
        h.recv("2");
        assert!(h.run_timers_until(h.now).is_empty());
    }
    assert_eq!(h.session.state(), &ConnectionState::Connected);
}

/// Every transport the session opens is closed exactly once, including the
/// last one when the attempts run out (it used to be closed twice).
#[test]
fn running_out_of_attempts_closes_the_last_transport_once() {
    let mut h = Harness::new(ClientConfig {
        backoff: BackoffConfig {
            max_attempts: Some(2),
            ..BackoffConfig::default()
        },
        ..client::config()
    });
    let mut out = h.drain();
    out.extend(h.run_timers_until(120_000));
    let opens = out.iter().filter(|o| **o == Output::OpenTransport).count();
    let closes = out.iter().filter(|o| **o == Output::CloseTransport).count();
    assert!(
        matches!(h.session.state(), ConnectionState::Offline { .. }),
        "{:?}",
        h.session.state()
    );
    assert_eq!(opens, 3, "the first attempt and two retries");
    assert_eq!(closes, opens, "{out:?}");
}

#[test]
fn attempts_can_be_limited() {
    let mut h = Harness::new(ClientConfig {
        backoff: BackoffConfig {
            max_attempts: Some(2),
            ..BackoffConfig::default()
        },
        ..client::config()
    });
    for _ in 0..3 {
        h.session.handle_transport_closed(h.now);
        let retry = h.session.next_timeout();
        if let Some(at) = retry {
            h.advance_to(at);
        }
    }
    assert!(
        matches!(h.session.state(), ConnectionState::Offline { reason } if reason.starts_with("gave up after 2 attempts"))
    );
}

#[test]
fn emits_while_disconnected_are_buffered_bounded_and_flushed_in_order() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    h.session.handle_transport_closed(h.now);
    h.drain();
    for i in 0..100 {
        h.session.emit(identify(&format!("n{i}"))).unwrap();
    }
    assert_eq!(
        h.session.emit(identify("one too many")),
        Err(EmitError::BufferFull { limit: 100 })
    );
    let retry = h.session.next_timeout().unwrap();
    h.advance_to(retry);
    h.recv(NODE_OPEN);
    let out = h.recv(r#"40/iss,{"sid":"x"}"#);
    let sent: Vec<String> = out
        .into_iter()
        .filter_map(|o| match o {
            Output::Send(frame) => Some(frame),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..100)
        .map(|i| format!(r#"42/iss,["identify","n{i}"]"#))
        .collect();
    assert_eq!(sent, expected);
    h.session.emit(identify("after")).unwrap();
    assert_eq!(h.sent(), vec![r#"42/iss,["identify","after"]"#]);
}

#[test]
fn buffered_frames_come_out_right_after_the_connect_ack() {
    let mut h = Harness::default();
    h.drain();
    h.session.emit(identify("a")).unwrap();
    h.session.emit(identify("b")).unwrap();
    h.recv(NODE_OPEN);
    let out = h.recv(r#"40/iss,{"sid":"x"}"#);
    let sent: Vec<&Output> = out
        .iter()
        .filter(|o| matches!(o, Output::Send(_)))
        .collect();
    assert_eq!(
        sent,
        vec![
            &Output::Send(r#"42/iss,["identify","a"]"#.into()),
            &Output::Send(r#"42/iss,["identify","b"]"#.into())
        ]
    );
}

#[test]
fn ack_timeout_fires_even_while_buffered_and_the_emit_is_then_dropped() {
    let mut h = Harness::default();
    h.drain();
    let id = h
        .session
        .request(0, Identify { name: "Ada".into() }, 1_000)
        .unwrap()
        .id();
    assert_eq!(h.session.next_timeout(), Some(1_000));
    let out = h.advance_to(1_000);
    assert_eq!(
        acks(&out),
        vec![(id, Err(AckError::Session(Lost::Timeout)))]
    );
    h.recv(NODE_OPEN);
    let out = h.recv(r#"40/iss,{"sid":"x"}"#);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Send(f) if f.contains("identify"))));
}

#[test]
fn a_sent_ack_fails_when_the_connection_is_lost() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    let id = h
        .session
        .request(h.now, Identify { name: "Ada".into() }, 5_000)
        .unwrap()
        .id();
    h.drain();
    h.session.handle_transport_closed(h.now);
    assert_eq!(
        acks(&h.drain()),
        vec![(id, Err(AckError::Session(Lost::ConnectionLost)))]
    );
    // A reply for it can never be matched afterwards.
    let out = h.recv(&format!(
        r#"43/iss,{}[{{"ok":true,"uuid":"u","username":"Ada"}}]"#,
        id.0
    ));
    assert!(acks(&out).is_empty());
}

#[test]
fn server_disconnect_and_engine_close_reconnect() {
    for frame in ["41/iss,", "1"] {
        let mut h = Harness::default();
        h.join(NODE_OPEN);
        let out = h.recv(frame);
        assert!(out.contains(&Output::CloseTransport), "{frame}");
        assert!(matches!(
            h.session.state(),
            ConnectionState::Reconnecting { attempt: 1, .. }
        ));
    }
}

#[test]
fn garbage_frames_reconnect_and_garbage_packets_are_ignored() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    let out = h.recv("4x");
    assert!(matches!(&out[..], [Output::Warning(_)]), "{out:?}");
    let out = h.recv(r#"42/iss,["presence",{"kind":"nonsense"}]"#);
    assert!(matches!(&out[..], [Output::Warning(_)]), "{out:?}");
    let out = h.recv(r#"42/iss,["surprise",1]"#);
    assert!(matches!(&out[..], [Output::Warning(_)]), "{out:?}");
    let out = h.recv(r#"42/other,["connected",{"uuid":"u"}]"#);
    assert!(matches!(&out[..], [Output::Warning(_)]), "{out:?}");
    h.session.handle_binary();
    assert!(matches!(&h.drain()[..], [Output::Warning(_)]));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    let out = h.recv("9");
    assert!(
        out.contains(&Output::CloseTransport),
        "engine-level garbage: {out:?}"
    );
}

#[test]
fn a_server_event_asking_for_an_ack_gets_an_empty_one() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    let out = h.recv(&format!(r#"42/iss,5["connected",{{"uuid":"{UUID}"}}]"#));
    assert_eq!(events(&out), vec![connected_event()]);
    assert!(out.contains(&Output::Send("43/iss,5[]".into())));
}

#[test]
fn presence_events_decode() {
    let mut h = Harness::default();
    h.join(OXIDE_OPEN);
    let out = h.recv(
        r#"42/iss,["presence",{"kind":"snapshot","seq":0,"total":1,"users":[{"id":"a","name":"Ada"}]}]"#,
    );
    assert!(matches!(&events(&out)[..], [ServerEvent::Presence(_)]));
}

#[test]
fn unreadable_ack_reply_is_a_bad_reply_error() {
    let mut h = Harness::default();
    h.join(NODE_OPEN);
    let id = h
        .session
        .request(h.now, Identify { name: "Ada".into() }, 5_000)
        .unwrap()
        .id();
    h.drain();
    let out = h.recv(&format!("43/iss,{}[42]", id.0));
    assert!(matches!(&acks(&out)[..], [(got, Err(AckError::BadReply(_)))] if *got == id));
}

/// A server that accepts the websocket but never sends the Engine.IO open
/// packet: each attempt times out after `join_timeout_ms`, then the client
/// backs off (growing delays, capped at 5 s) and tries again, forever.
#[test]
fn a_server_that_never_sends_open_is_retried_with_backoff() {
    let mut h = Harness::default();
    let first = h.drain();
    assert!(first.contains(&Output::OpenTransport), "{first:?}");
    // The transport "opens" each time, but not a byte arrives: two minutes.
    let out = h.run_timers_until(120_000);
    let opens = out.iter().filter(|o| **o == Output::OpenTransport).count();
    let closes = out.iter().filter(|o| **o == Output::CloseTransport).count();
    // (lost at, delay) of every failed attempt.
    let losses: Vec<(u64, u64)> = states(&out)
        .into_iter()
        .filter_map(|s| match s {
            ConnectionState::Reconnecting {
                delay_ms,
                retry_at_ms,
                ..
            } => Some((retry_at_ms - delay_ms, delay_ms)),
            _ => None,
        })
        .collect();
    let join = client::config().join_timeout_ms;
    assert!(losses.len() >= 6, "{losses:?}");
    assert_eq!(closes, losses.len(), "each attempt is closed once");
    assert!(opens >= losses.len() - 1, "and retried: {opens} opens");
    assert_eq!(
        losses[0].0, join,
        "the first attempt gives up at the join timeout"
    );
    for pair in losses.windows(2) {
        let ((lost, delay), (next_lost, _)) = (pair[0], pair[1]);
        assert_eq!(
            next_lost,
            lost + delay + join,
            "wait, retry, time out: {losses:?}"
        );
    }
    let delays: Vec<u64> = losses.iter().map(|l| l.1).collect();
    // socket.io defaults: 1 s doubling, ±50 %, capped at 5 s.
    assert!((500..=1500).contains(&delays[0]), "{delays:?}");
    assert!((1000..=3000).contains(&delays[1]), "{delays:?}");
    assert!(delays.iter().all(|d| *d <= 5_000), "capped: {delays:?}");
    assert!(delays[4..].iter().all(|d| *d >= 2_500), "{delays:?}");
    assert!(delays[0] < delays[2], "growing: {delays:?}");
    // And when a server finally answers, it joins.
    h.join(NODE_OPEN);
}
