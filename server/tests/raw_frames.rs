//! Hostile and malformed frames over a raw websocket (tokio-tungstenite),
//! below any Socket.IO client library. After each one, the server must still
//! answer `/healthz` and a healthy bystander client must still identify.

mod common;

use std::net::SocketAddr;

use common::{eventually, get, start_server, start_with, within, SioClient};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::events::ErrorCode;
use shared::events::ProtocolCode;
use shared::events::{ClientEvent, IdentifyAck, ServerEvent, NAMESPACE};
use sio_proto::engineio::EnginePacket;
use sio_proto::socketio::Packet;
use sio_proto::RawJson;

/// A value as the JSON text a frame carries.
fn to_raw(value: &Value) -> RawJson {
    RawJson::from_serialize(value).expect("a JSON value")
}

/// Raw arguments parsed into values for the typed decoders.
fn values(args: &[RawJson]) -> Vec<Value> {
    args.iter()
        .map(|arg| arg.deserialize().expect("frames carry JSON"))
        .collect()
}
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A hand-driven Engine.IO/Socket.IO connection using the shared codec.
struct Raw {
    ws: Ws,
}

/// What became of a connection after a frame was sent.
#[derive(Debug, PartialEq)]
enum Outcome {
    Closed,
    StillWorks,
}

fn ws_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
}

impl Raw {
    /// Opens the websocket and reads the Engine.IO open packet.
    async fn open(addr: SocketAddr) -> Raw {
        let (ws, _) = within("ws connect", connect_async(ws_url(addr)))
            .await
            .expect("websocket handshake");
        let mut raw = Raw { ws };
        match raw.next().await {
            Some(EnginePacket::Open(open)) => assert!(open.max_payload > 0),
            other => panic!("expected the open packet, got {other:?}"),
        }
        raw
    }

    /// Opens and joins `/iss`, waiting for the CONNECT ack and `connected`.
    async fn join(addr: SocketAddr) -> Raw {
        let mut raw = Raw::open(addr).await;
        raw.send_sio(Packet::Connect {
            nsp: NAMESPACE.into(),
            data: None,
        })
        .await;
        let mut acked = false;
        let mut welcomed = false;
        while !(acked && welcomed) {
            match raw.next_sio().await {
                Some(Packet::Connect { .. }) => acked = true,
                Some(Packet::Event { name, args, .. }) => {
                    if let Ok(ServerEvent::Connected(Some(_))) =
                        ServerEvent::from_parts(&name, &values(&args))
                    {
                        welcomed = true;
                    }
                }
                other => panic!("unexpected {other:?} while joining"),
            }
        }
        raw
    }

    async fn send_text(&mut self, text: impl Into<String>) -> Result<(), WsError> {
        self.ws.send(Message::text(text.into())).await
    }

    async fn send_sio(&mut self, packet: Packet) {
        let frame = EnginePacket::Message(packet.encode()).encode();
        self.send_text(frame).await.expect("send");
    }

    /// The next Engine.IO packet, answering pings; `None` once closed.
    async fn next(&mut self) -> Option<EnginePacket> {
        loop {
            let message = within("a frame", self.ws.next()).await?;
            match message {
                Ok(Message::Text(text)) => {
                    let packet = EnginePacket::decode(&text).expect("server frames decode");
                    if let EnginePacket::Ping(data) = &packet {
                        let pong = EnginePacket::Pong(data.clone()).encode();
                        if self.send_text(pong).await.is_err() {
                            return None;
                        }
                        continue;
                    }
                    return Some(packet);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next Socket.IO packet; `None` once closed.
    async fn next_sio(&mut self) -> Option<Packet> {
        loop {
            match self.next().await? {
                EnginePacket::Message(text) => {
                    return Some(Packet::decode(&text).expect("server packets decode"))
                }
                EnginePacket::Close => return None,
                _ => continue,
            }
        }
    }

    /// Sends identify with ack id `id` and waits for that ack.
    async fn identify(&mut self, id: u64, name: &str) -> Option<IdentifyAck> {
        let event = ClientEvent::Identify { name: name.into() };
        let packet = Packet::Event {
            nsp: NAMESPACE.into(),
            id: Some(id),
            name: event.name().into(),
            args: event.args().iter().map(to_raw).collect(),
        };
        let frame = EnginePacket::Message(packet.encode()).encode();
        self.send_text(frame).await.ok()?;
        loop {
            match self.next_sio().await? {
                Packet::Ack { id: got, args, .. } if got == id => {
                    return Some(IdentifyAck::from_args(&values(&args)).expect("ack decodes"))
                }
                _ => continue,
            }
        }
    }

    /// After a bad frame: did the server close us, or do we still work?
    async fn outcome(mut self) -> Outcome {
        match self.identify(777, "Probe").await {
            None => Outcome::Closed,
            Some(IdentifyAck::Ok(_)) => Outcome::StillWorks,
            Some(other) => panic!("probe identify refused: {other:?}"),
        }
    }
}

/// The server is alive and a bystander who connected before the attack still works.
async fn assert_unharmed(addr: SocketAddr, bystander: &SioClient, case: &str) {
    let (status, _) = get(addr, "/healthz", "").await;
    assert_eq!(status, 200, "healthz after {case}");
    let reply = bystander.identify_ack(vec![json!("Bystander")]).await;
    assert!(
        matches!(IdentifyAck::from_args(&reply), Ok(IdentifyAck::Ok(_))),
        "bystander after {case}: {reply:?}"
    );
}

/// Malformed Engine.IO and Socket.IO frames: each is either ignored (the
/// connection keeps working) or closes only the sender's connection.
#[tokio::test]
async fn malformed_frames_harm_no_one() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    let bomb = format!("42/iss,[\"identify\",{}", "[".repeat(100_000));
    use Outcome::{Closed, StillWorks};
    // What socketioxide 0.18 does with each; a change here is a behaviour change to review.
    let cases: Vec<(&str, String, Outcome)> = vec![
        ("empty frame", String::new(), Closed),
        ("unknown engine type", "9".into(), Closed),
        ("letter as engine type", "x".into(), Closed),
        ("client sends open", "0{\"sid\":\"x\"}".into(), Closed),
        ("client sends upgrade", "5".into(), Closed),
        ("empty message", "4".into(), Closed),
        ("unknown socket.io type", "49".into(), Closed),
        ("letter as socket.io type", "4x".into(), Closed),
        ("event without payload", "42/iss,".into(), Closed),
        ("truncated JSON", "42/iss,[\"identify\",".into(), Closed),
        (
            "event payload is an object",
            "42/iss,{\"identify\":\"x\"}".into(),
            Closed,
        ),
        ("event name is a number", "42/iss,[1,\"x\"]".into(), Closed),
        ("empty event array", "42/iss,[]".into(), Closed),
        ("ack with garbage", "43/iss,x[]".into(), Closed),
        // Read as an event with no usable ack id; the name "x" is stored, harmlessly.
        (
            "ack id overflow",
            "42/iss,99999999999999999999999[\"identify\",\"x\"]".into(),
            StillWorks,
        ),
        (
            "binary event announced, never sent",
            "451-/iss,[\"identify\",{\"_placeholder\":true,\"num\":0}]".into(),
            Closed,
        ),
        ("JSON depth bomb", bomb, Closed),
        // No leading slash: read as the main namespace, which exists (for
        // Socket.IO revision 4 clients) but this client never joined;
        // socketioxide closes a connection that sends to a namespace it is
        // not in.
        (
            "invalid namespace syntax",
            "42iss,[\"identify\",\"y\"]".into(),
            Closed,
        ),
    ];
    let mut report = Vec::new();
    for (case, frame, expected) in cases {
        let mut attacker = Raw::join(server.addr).await;
        attacker.send_text(frame).await.expect("send bad frame");
        let outcome = attacker.outcome().await;
        report.push(format!("{case}: {outcome:?}"));
        assert_eq!(outcome, expected, "{case}");
        assert_unharmed(server.addr, &bystander, case).await;
    }
    println!("malformed frame outcomes:\n  {}", report.join("\n  "));
    assert!(server.state.registry.online().iter().all(|u| u.name != "y"));
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// A binary event that announces an attachment closes its connection at
/// once: before, socketioxide kept waiting for attachments and buffered up
/// to 10 MB of binary frames per socket, for ever (bad input #53).
#[tokio::test]
async fn a_binary_event_closes_at_once_and_buffers_nothing() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    let mut attacker = Raw::join(server.addr).await;
    attacker
        .send_text("459999-/iss,[\"identify\",{\"_placeholder\":true,\"num\":0}]")
        .await
        .expect("send the announcement");
    // Attachments as an attacker would trickle them: none may be kept.
    for _ in 0..8 {
        if attacker
            .ws
            .send(Message::binary(vec![7u8; 16_000]))
            .await
            .is_err()
        {
            break;
        }
    }
    // Nothing more from us (a text frame would close it for another reason):
    // the server must close on its own.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        while attacker.next().await.is_some() {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "the connection stayed open waiting for attachments"
    );
    assert_unharmed(server.addr, &bystander, "binary attachments").await;
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// A valid frame with invalid JSON inside (a lone surrogate, a number out of
/// range, nesting past 128 levels) gets a `bad_payload` ack, not silence
/// until the client's ack timeout; the connection keeps working (bad input #57).
#[tokio::test]
async fn unreadable_json_in_a_valid_frame_gets_bad_payload() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for (case, args) in [
        ("lone surrogate", r#""\ud800""#.to_owned()),
        ("number out of range", "1e400".to_owned()),
        ("nesting deeper than 128", deep),
    ] {
        let mut raw = Raw::join(server.addr).await;
        raw.send_text(format!("42/iss,5[\"identify\",{args}]"))
            .await
            .expect("send");
        let reply = loop {
            match raw.next_sio().await {
                Some(Packet::Ack { id: 5, args, .. }) => {
                    break IdentifyAck::from_args(&values(&args))
                }
                Some(_) => continue,
                None => panic!("{case}: closed without an answer"),
            }
        };
        match reply {
            Ok(IdentifyAck::Err(err)) => {
                assert_eq!(
                    err.code,
                    ErrorCode::Protocol(ProtocolCode::BadPayload),
                    "{case}"
                )
            }
            other => panic!("{case}: expected bad_payload, got {other:?}"),
        }
        assert_eq!(raw.outcome().await, Outcome::StillWorks, "{case}");
        assert_unharmed(server.addr, &bystander, case).await;
    }
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// Binary websocket frames (including invalid UTF-8) are not part of our protocol.
#[tokio::test]
async fn binary_garbage_harms_no_one() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    for bytes in [
        vec![0xff, 0xfe, 0x00],
        vec![0x34, 0x32, 0xc3, 0x28],
        vec![0u8; 4096],
    ] {
        let mut attacker = Raw::join(server.addr).await;
        attacker
            .ws
            .send(Message::binary(bytes))
            .await
            .expect("send binary");
        let _ = attacker.outcome().await;
        assert_unharmed(server.addr, &bystander, "binary frame").await;
    }
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// A frame above max payload closes that connection only.
#[tokio::test]
async fn oversized_frame_closes_only_the_sender() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    let mut attacker = Raw::join(server.addr).await;
    let huge = EnginePacket::Message(
        Packet::Event {
            nsp: NAMESPACE.into(),
            id: Some(1),
            name: ClientEvent::Identify {
                name: String::new(),
            }
            .name()
            .into(),
            args: vec![to_raw(&json!("a".repeat(64 * 1024)))],
        }
        .encode(),
    )
    .encode();
    attacker.send_text(huge).await.expect("send");
    assert_eq!(attacker.outcome().await, Outcome::Closed);
    assert_unharmed(server.addr, &bystander, "oversized frame").await;
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// An event for a namespace the client never joined is ignored, not executed.
#[tokio::test]
async fn event_for_an_unjoined_namespace_is_ignored() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    let mut attacker = Raw::open(server.addr).await;
    attacker
        .send_text("42/iss,[\"identify\",\"Mallory\"]")
        .await
        .expect("send");
    attacker
        .send_text("42/other,[\"identify\",\"Mallory\"]")
        .await
        .expect("send");
    assert_unharmed(server.addr, &bystander, "unjoined namespace").await;
    assert!(server
        .state
        .registry
        .online()
        .iter()
        .all(|u| u.name != "Mallory"));
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// CONNECT to a namespace we do not serve gets a CONNECT_ERROR, and the
/// connection can still join `/iss` afterwards.
#[tokio::test]
async fn unknown_namespaces_are_refused_with_connect_error() {
    let server = start_server().await;
    let mut raw = Raw::open(server.addr).await;
    for nsp in ["/random", "/"] {
        raw.send_sio(Packet::Connect {
            nsp: nsp.into(),
            data: None,
        })
        .await;
        match raw.next_sio().await {
            Some(Packet::ConnectError {
                nsp: got, message, ..
            }) => {
                assert_eq!(got, nsp);
                assert!(!message.is_empty());
            }
            other => panic!("expected CONNECT_ERROR for {nsp}, got {other:?}"),
        }
    }
    raw.send_sio(Packet::Connect {
        nsp: NAMESPACE.into(),
        data: None,
    })
    .await;
    assert!(matches!(raw.next_sio().await, Some(Packet::Connect { .. })));
    server.shutdown().await.unwrap();
}

/// Cross-site websocket hijacking: a foreign Origin gets 403 on both
/// transports; same-origin and explicitly allowed origins pass.
#[tokio::test]
async fn foreign_origin_is_refused_with_403() {
    let server = start_with(|c| c.allowed_origins = vec!["http://app.example".into()]).await;
    let addr = server.addr;
    let handshake = |origin: &'static str| async move {
        let mut request = ws_url(addr).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_static(origin));
        within("ws handshake", connect_async(request)).await
    };
    match handshake("http://evil.example").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("foreign origin was not refused: {:?}", other.map(|_| ())),
    }
    assert!(
        handshake("http://app.example").await.is_ok(),
        "allowed origin"
    );
    let same = Box::leak(format!("http://{addr}").into_boxed_str());
    assert!(handshake(same).await.is_ok(), "same origin");

    let polling = "/socket.io/?EIO=4&transport=polling";
    let (status, _) = get(addr, polling, "Origin: http://evil.example\r\n").await;
    assert_eq!(status, 403);
    let (status, _) = get(addr, polling, "Origin: null\r\n").await;
    assert_eq!(status, 403);
    let (status, body) = get(addr, polling, "").await;
    assert_eq!(status, 200, "no Origin (non-browser client) passes: {body}");
    server.shutdown().await.unwrap();
}

/// A client that never answers pings is dropped and removed from presence.
#[tokio::test]
async fn silent_client_is_dropped_after_the_heartbeat_timeout() {
    let server = start_with(|c| {
        c.ping_interval_ms = 100;
        c.ping_timeout_ms = 100;
    })
    .await;
    let (mut ws, _) = connect_async(ws_url(server.addr)).await.expect("connect");
    ws.send(Message::text("40/iss,")).await.expect("join");
    common::eventually("the session to register", || {
        server.state.registry.connected() == 1
    })
    .await;
    // Read without ever answering a ping.
    within("the server to close a silent client", async {
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
    common::eventually("the session to be removed", || {
        server.state.registry.connected() == 0
    })
    .await;
    server.shutdown().await.unwrap();
}

/// Graceful shutdown tells connected clients (a Socket.IO disconnect or a close).
#[tokio::test]
async fn shutdown_tells_clients() {
    let server = start_server().await;
    let mut raw = Raw::join(server.addr).await;
    let stopping = tokio::spawn(server.shutdown());
    // Told: a Socket.IO DISCONNECT or an Engine.IO close. A connection that
    // merely drops (`None`) was not told.
    let told = within("the server to tell us", async {
        loop {
            match raw.next().await {
                Some(EnginePacket::Close) => break true,
                Some(EnginePacket::Message(text)) => {
                    if matches!(Packet::decode(&text), Ok(Packet::Disconnect { .. })) {
                        break true;
                    }
                }
                Some(_) => continue,
                None => break false,
            }
        }
    })
    .await;
    assert!(told, "the connection dropped without a DISCONNECT or close");
    within("shutdown", stopping).await.unwrap().unwrap();
}

/// Name changes that show in presence are limited per socket (5 at once,
/// then 6 a minute): one socket renaming as fast as the identify limit
/// allows cannot make the server send every listener a delta per rename.
/// Re-sending the current name is not a change (bad input #59).
#[tokio::test]
async fn renames_that_show_in_presence_are_limited() {
    let server = start_server().await;
    let mut watcher = SioClient::connect(server.addr).await;
    let mut renamer = Raw::join(server.addr).await;
    let mut accepted = Vec::new();
    let mut limited = 0;
    for i in 0..20u64 {
        let name = format!("Name{i}");
        match renamer.identify(i, &name).await {
            Some(IdentifyAck::Ok(_)) => accepted.push(name),
            Some(IdentifyAck::Err(e))
                if e.code == ErrorCode::Protocol(ProtocolCode::RateLimited) =>
            {
                assert!(e.message.contains("name changes"), "{}", e.message);
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted.len(), 5, "the burst: {accepted:?}");
    assert_eq!(limited, 15);
    let last = accepted.last().unwrap().clone();
    assert!(
        matches!(renamer.identify(99, &last).await, Some(IdentifyAck::Ok(_))),
        "the current name again is not a change"
    );
    let online = server.state.registry.online();
    assert!(online.iter().any(|u| u.name == last), "{online:?}");
    watcher
        .presence_until("the last accepted name", |o| o.values().any(|n| *n == last))
        .await;
    watcher.disconnect().await;
    server.shutdown().await.unwrap();
}

/// One socket flooding `identify`: the burst passes, the rest get a
/// `rate_limited` error ack, and a socket that keeps flooding is disconnected.
#[tokio::test]
async fn an_identify_flood_is_rate_limited_then_disconnected() {
    // Every name here is new: without this the rename limit (tested below)
    // would answer all but the first five.
    let server = start_with(|c| c.renames_per_minute = 0).await;
    let bystander = SioClient::connect(server.addr).await;
    let mut flooder = Raw::join(server.addr).await;
    let frames: Vec<String> = (0..2_000u64)
        .map(|id| {
            let packet = Packet::Event {
                nsp: NAMESPACE.into(),
                id: Some(id),
                name: ClientEvent::Identify { name: "x".into() }.name().into(),
                args: vec![to_raw(&json!(format!("flood{id}")))],
            };
            EnginePacket::Message(packet.encode()).encode()
        })
        .collect();
    // Sent as fast as the socket takes them (the server may close it midway).
    for frame in frames {
        if flooder.send_text(frame).await.is_err() {
            break;
        }
    }
    let (mut ok, mut limited) = (0, 0);
    while let Some(packet) = flooder.next_sio().await {
        match packet {
            Packet::Ack { args, .. } => match IdentifyAck::from_args(&values(&args)) {
                Ok(IdentifyAck::Ok(_)) => ok += 1,
                Ok(IdentifyAck::Err(e))
                    if e.code == ErrorCode::Protocol(ProtocolCode::RateLimited) =>
                {
                    assert!(e.message.contains("at most 10 a second"), "{}", e.message);
                    limited += 1
                }
                other => panic!("unexpected ack {other:?}"),
            },
            Packet::Disconnect { .. } => break,
            _ => continue,
        }
    }
    println!("flood: {ok} accepted, {limited} rate-limited, then disconnected");
    assert!(
        (50..=60).contains(&ok),
        "the burst (50) and a little refill: {ok}"
    );
    // Acks still in flight when the socket is cut are dropped, so the client
    // sees fewer refusals than the server counted.
    assert!(limited > 0, "some rate_limited acks arrived");
    assert!(ok + limited < 2_000, "the flooder was cut off");
    assert_unharmed(server.addr, &bystander, "identify flood").await;
    let stats = server.state.stats.view(0, 0);
    assert!(
        stats.identify_refused >= 500,
        "the server refused its patience (10 × the burst) before disconnecting: {}",
        stats.identify_refused
    );
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// Engine.IO handshakes we do not speak: no `EIO`, `EIO=3` (Socket.IO 2.x
/// clients), an unknown transport. Each gets an HTTP error; nobody else notices.
#[tokio::test]
async fn handshakes_of_unknown_versions_are_refused() {
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    for (case, path) in [
        ("no EIO", "/socket.io/?transport=polling"),
        ("EIO=2", "/socket.io/?EIO=2&transport=polling"),
        ("EIO=5", "/socket.io/?EIO=5&transport=polling"),
        (
            "unknown transport",
            "/socket.io/?EIO=4&transport=carrier-pigeon",
        ),
        (
            "websocket without upgrade",
            "/socket.io/?EIO=4&transport=websocket",
        ),
    ] {
        let (status, response) = get(server.addr, path, "").await;
        println!("{case}: {status}");
        assert!((400..500).contains(&status), "{case}: {response}");
        assert_unharmed(server.addr, &bystander, case).await;
    }
    assert_eq!(server.state.registry.connected(), 1, "only the bystander");
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// An event this server does not know, with an ack: a clear error, the
/// connection stays.
#[tokio::test]
async fn unknown_events_get_an_error_ack() {
    let server = start_server().await;
    let mut raw = Raw::join(server.addr).await;
    raw.send_sio(Packet::Event {
        nsp: NAMESPACE.into(),
        id: Some(5),
        name: "launch_missiles".into(),
        args: vec![to_raw(&json!(1))],
    })
    .await;
    let reply = loop {
        match raw.next_sio().await.expect("an ack") {
            Packet::Ack { id: 5, args, .. } => break IdentifyAck::from_args(&values(&args)),
            _ => continue,
        }
    };
    match reply {
        Ok(IdentifyAck::Err(e)) => {
            assert_eq!(e.code, ErrorCode::Protocol(ProtocolCode::UnknownEvent));
            assert!(e.message.contains("launch_missiles"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(raw.outcome().await, Outcome::StillWorks);
    server.shutdown().await.unwrap();
}

/// A client that stops reading while presence keeps changing: what the
/// server queues for it is bounded (socketioxide's 128-packet buffer per
/// socket; emits beyond it fail and are logged), and since it cannot answer
/// pings it is dropped by the heartbeat. Everyone else keeps working.
#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    let server = start_with(|c| {
        c.ping_interval_ms = 300;
        c.ping_timeout_ms = 300;
    })
    .await;
    let bystander = SioClient::connect(server.addr).await;
    let mut stalled = Raw::join(server.addr).await;
    assert!(matches!(
        stalled.identify(1, "Stalled").await,
        Some(IdentifyAck::Ok(_))
    ));
    // From here on `stalled` is never read again (but kept open).
    let mut churners = Vec::new();
    for _ in 0..10 {
        churners.push(SioClient::connect(server.addr).await);
    }
    let everyone_but_stalled = 1 + churners.len();
    let state = server.state.clone();
    within("the stalled client to be dropped", async {
        let mut round = 0;
        while state.registry.connected() > everyone_but_stalled {
            for c in &churners {
                c.identify_no_ack(vec![json!(format!("churn{round}"))])
                    .await;
            }
            round += 1;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        !state.registry.online().iter().any(|u| u.name == "Stalled"),
        "gone from the registry and presence"
    );
    assert_unharmed(server.addr, &bystander, "a client that stops reading").await;
    drop(stalled);
    server.shutdown().await.unwrap();
}

/// A client that answers pings blindly (a pong every 100 ms, whatever
/// arrives) but never reads: its TCP window closes, its outgoing queue fills
/// with presence, and it is disconnected all the same; the pongs do not keep
/// it alive. Everyone else keeps working. (A small `--socket-send-buffer`
/// so the kernel does not first absorb megabytes of it.)
#[tokio::test]
async fn a_client_that_pongs_blindly_but_never_reads_is_dropped() {
    let server = start_with(|c| {
        c.socket_send_buffer = 8192;
        c.presence_bytes_per_sec = 0;
        c.ping_interval_ms = 500;
        c.ping_timeout_ms = 500;
        c.presence_window_ms = 10;
        c.renames_per_minute = 0;
        c.identify_rate = 0;
    })
    .await;
    let bystander = SioClient::connect(server.addr).await;

    // A small receive buffer, so the window closes after a few KiB.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = within("tcp connect", socket.connect(server.addr))
        .await
        .unwrap();
    let (ws, _) = tokio_tungstenite::client_async(ws_url(server.addr), tcp)
        .await
        .expect("websocket handshake");
    let (mut sink, stream) = ws.split();
    let join = EnginePacket::Message(
        Packet::Connect {
            nsp: NAMESPACE.into(),
            data: None,
        }
        .encode(),
    )
    .encode();
    sink.send(Message::text(join)).await.unwrap();
    let pong = EnginePacket::Pong(String::new()).encode();
    let blind = tokio::spawn(async move {
        // Bounded: the test's deadline ends it at the latest.
        for _ in 0..200 {
            if sink.send(Message::text(pong.clone())).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let state = server.state.clone();
    eventually("the blind client to join", || {
        state.registry.connected() == 2
    })
    .await;

    let mut churners = Vec::new();
    for _ in 0..20 {
        churners.push(SioClient::connect(server.addr).await);
    }
    let everyone_but_blind = 1 + churners.len();
    within("the blind client to be dropped", async {
        let mut round = 0u64;
        while state.registry.connected() > everyone_but_blind {
            for (i, c) in churners.iter().enumerate() {
                // Long names: every rename is ≈ 150 bytes of presence to everyone.
                c.identify_no_ack(vec![json!(format!("{:🦀<31}{}", i, round % 10))])
                    .await;
            }
            round += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_unharmed(server.addr, &bystander, "a client that pongs blindly").await;
    blind.abort();
    drop(stream);
    server.shutdown().await.unwrap();
}

/// Twenty sockets in the presence window renaming every 20 ms (limits off)
/// would send every listener ≈ 150 KB/s of presence. With
/// `--presence-bytes-per-sec 4000` a listener gets at most that sustained
/// (plus one second's worth and one message), and still ends up with
/// exactly the server's view: changes wait and coalesce, none is lost.
#[tokio::test]
async fn presence_bytes_per_listener_are_capped_and_nothing_is_lost() {
    const BUDGET: usize = 4000;
    let server = start_with(|c| {
        c.presence_window_ms = 10;
        c.presence_bytes_per_sec = BUDGET as u32;
        c.renames_per_minute = 0;
        c.identify_rate = 0;
    })
    .await;
    let mut listener = Raw::join(server.addr).await;
    let mut churners = Vec::new();
    for _ in 0..20 {
        churners.push(SioClient::connect(server.addr).await);
    }
    let churn = async {
        for round in 0..100u64 {
            for (i, c) in churners.iter().enumerate() {
                c.identify_no_ack(vec![json!(format!("{:🦀<31}{}", i, round % 10))])
                    .await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let mut online = std::collections::BTreeMap::new();
    let mut bytes = 0;
    let started = std::time::Instant::now();
    let listen = async {
        loop {
            let Some(EnginePacket::Message(text)) = listener.next().await else {
                continue;
            };
            if let Ok(Packet::Event { name, args, .. }) = Packet::decode(&text) {
                if let Ok(ServerEvent::Presence(presence)) =
                    ServerEvent::from_parts(&name, &values(&args))
                {
                    bytes += text.len();
                    common::apply(&mut online, &presence);
                }
            }
        }
    };
    tokio::select! {
        () = churn => {},
        () = listen => unreachable!(),
    }
    let seconds = started.elapsed().as_secs_f64();
    let bound = BUDGET as f64 * (seconds + 1.0) + 20_000.0;
    assert!(
        (bytes as f64) <= bound,
        "{bytes} B of presence in {seconds:.1} s (bound {bound:.0})"
    );
    // Once the churn stops, the listener converges on the server's view.
    let state = server.state.clone();
    let expected: std::collections::BTreeMap<_, _> = state
        .registry
        .online()
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    within("the listener to converge", async {
        while online != expected {
            if let Some(EnginePacket::Message(text)) = listener.next().await {
                if let Ok(Packet::Event { name, args, .. }) = Packet::decode(&text) {
                    if let Ok(ServerEvent::Presence(p)) =
                        ServerEvent::from_parts(&name, &values(&args))
                    {
                        common::apply(&mut online, &p);
                    }
                }
            }
        }
    })
    .await;
    server.shutdown().await.unwrap();
}
