//! The seed's protocol generation against our server: Engine.IO v3 /
//! Socket.IO revision 4, over long-polling (driven by hand, byte for byte as
//! socket.io-client 1.4.4 in a browser sends it) and over websocket.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{eventually, start_server, start_with, within, SioClient};
use futures_util::{SinkExt, StreamExt};
use shared::events::{ClientEventKind, ServerEventKind, SessionId};
use sio_proto::eio3::decode_payload;
use sio_proto::engineio::EnginePacket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// One HTTP exchange's answer.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// One HTTP/1.1 request on its own connection, `Connection: close`.
async fn exchange(addr: SocketAddr, method: &str, path: &str, extra: &str, body: &[u8]) -> Answer {
    within("an HTTP answer", async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.expect("write head");
        tcp.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.expect("read answer");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        Answer {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        }
    })
    .await
}

/// A hand-driven socket.io-client 1.4.4 over long-polling.
struct SeedPoller {
    addr: SocketAddr,
    sid: String,
    polls: u32,
}

impl SeedPoller {
    /// The handshake: a GET without sid, answered in binary framing.
    async fn open(addr: SocketAddr) -> SeedPoller {
        let answer = exchange(
            addr,
            "GET",
            "/socket.io/?EIO=3&transport=polling&t=a",
            "",
            b"",
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.head);
        assert_eq!(
            answer.header("content-type"),
            Some("application/octet-stream")
        );
        let packets = decode_payload(&answer.body).expect("a v3 payload");
        let Some(EnginePacket::Open(open)) = packets.first() else {
            panic!("open packet expected, got {packets:?}");
        };
        SeedPoller {
            addr,
            sid: open.sid.clone(),
            polls: 0,
        }
    }

    fn path(&mut self) -> String {
        self.polls += 1;
        format!(
            "/socket.io/?EIO=3&transport=polling&t=p{}&sid={}",
            self.polls, self.sid
        )
    }

    /// POSTs packets as 1.4.4 does: each packet UTF-8-encoded into one
    /// character per byte and framed with that length; the body (XHR)
    /// UTF-8-encodes the result once more.
    async fn post(&mut self, packets: &[&str]) {
        let mut body = String::new();
        for packet in packets {
            let bytes_as_chars: String = packet.bytes().map(char::from).collect();
            body.push_str(&format!(
                "{}:{bytes_as_chars}",
                bytes_as_chars.chars().count()
            ));
        }
        let path = self.path();
        let extra = "Content-Type: text/plain;charset=UTF-8\r\n";
        let answer = exchange(self.addr, "POST", &path, extra, body.as_bytes()).await;
        assert_eq!(answer.status, 200, "POST {packets:?}: {}", answer.head);
    }

    /// One GET: the packets the server had (or the next ones), as 1.4.4
    /// reads them (binary framing: lengths in bytes).
    async fn poll(&mut self) -> Vec<EnginePacket> {
        let path = self.path();
        let answer = exchange(self.addr, "GET", &path, "", b"").await;
        assert_eq!(answer.status, 200, "{}", answer.head);
        decode_payload(&answer.body)
            .unwrap_or_else(|err| panic!("{err}: {:?}", String::from_utf8_lossy(&answer.body)))
    }

    /// Polls until a packet matches; returns it and what came before.
    async fn poll_until(
        &mut self,
        what: &str,
        hit: impl Fn(&EnginePacket) -> bool,
    ) -> Vec<EnginePacket> {
        let mut seen = Vec::new();
        within(what, async {
            loop {
                for packet in self.poll().await {
                    let found = hit(&packet);
                    seen.push(packet);
                    if found {
                        return;
                    }
                }
            }
        })
        .await;
        seen
    }
}

/// The session id in a `connected` event's frame.
fn session_of(connected: &str) -> SessionId {
    let args = connected
        .split_once(',')
        .map(|(_, args)| args)
        .expect("an event frame");
    let value: serde_json::Value = serde_json::from_str(args).expect("JSON args");
    assert_eq!(value[0], ServerEventKind::Connected.name());
    assert!(
        value[1].get("resume").is_none(),
        "no resume token for revision 4"
    );
    SessionId(value[1]["uuid"].as_str().expect("a uuid").to_owned())
}

fn is_message(packet: &EnginePacket, prefix: &str) -> bool {
    matches!(packet, EnginePacket::Message(m) if m.starts_with(prefix))
}

/// The seed's page over long-polling only: joined to `/` unasked, joins
/// `/iss`, gets `connected`; its double-encoded "Zoë" is stored as "Zoë",
/// shows in a v5 client's presence, and the revision-4 client itself is
/// sent no presence; the server answers its pings.
#[tokio::test]
async fn the_seed_client_over_polling_sets_a_non_ascii_name() {
    let server = start_server().await;
    let mut watcher = SioClient::connect(server.addr).await;
    let mut seed = SeedPoller::open(server.addr).await;
    seed.post(&["40/iss"]).await;
    let seen = seed
        .poll_until("connected", |p| {
            is_message(
                p,
                &format!("2/iss,[\"{}\"", ServerEventKind::Connected.name()),
            )
        })
        .await;
    assert!(is_message(&seen[0], "0") && seen.len() >= 3, "{seen:?}");
    assert!(seen.iter().any(|p| is_message(p, "0/iss")), "{seen:?}");
    let EnginePacket::Message(connected) = seen.last().unwrap() else {
        unreachable!()
    };
    let session = session_of(connected);

    let identify = format!("42/iss,[\"{}\",\"Zoë\"]", ClientEventKind::Identify.name());
    seed.post(&[&identify]).await;
    eventually("the name stored", || {
        server.state.registry.username(&session).as_deref() == Some("Zoë")
    })
    .await;
    watcher
        .presence_until("Zoë in presence", |online| {
            online.get(&session).map(String::as_str) == Some("Zoë")
        })
        .await;

    // The fan-out had time to send presence; the seed client got none.
    seed.post(&["2"]).await;
    let after = seed
        .poll_until("the pong", |p| matches!(p, EnginePacket::Pong(_)))
        .await;
    assert_eq!(after, [EnginePacket::Pong(String::new())]);

    seed.post(&["41/iss", "1"]).await;
    eventually("the seed client gone", || {
        server.state.registry.username(&session).is_none()
    })
    .await;
    watcher.disconnect().await;
    server.shutdown().await.unwrap();
}

/// A packet from server to client with "ë" over polling (an ack, which a
/// revision-4 client may ask for) arrives with its length in bytes, so
/// 1.4.4 reads it; a client that asked for base64 gets text framing.
#[tokio::test]
async fn answers_over_polling_carry_byte_lengths() {
    let server = start_server().await;
    let mut seed = SeedPoller::open(server.addr).await;
    seed.post(&["40/iss"]).await;
    seed.poll_until("connected", |p| is_message(p, "2/iss,"))
        .await;
    seed.post(&[&format!(
        "42/iss,7[\"{}\",\"Zoë\"]",
        ClientEventKind::Identify.name()
    )])
    .await;
    let seen = seed
        .poll_until("the ack", |p| is_message(p, "3/iss,7"))
        .await;
    let EnginePacket::Message(ack) = seen.last().unwrap() else {
        unreachable!()
    };
    assert!(ack.contains("\"Zoë\""), "{ack}");

    let answer = exchange(
        server.addr,
        "GET",
        "/socket.io/?EIO=3&transport=polling&t=b&b64=1",
        "",
        b"",
    )
    .await;
    assert!(answer
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(answer.body.first().unwrap().is_ascii_digit());
    server.shutdown().await.unwrap();
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame.
/// A v3 websocket as 1.4.4 opens it: the open packet, then `40` (joined to
/// `/` unasked).
async fn open_v3_websocket(addr: SocketAddr) -> Ws {
    let url = format!("ws://{addr}/socket.io/?EIO=3&transport=websocket");
    let (mut ws, _) = within("ws connect", connect_async(url))
        .await
        .expect("handshake");
    assert!(next_text(&mut ws).await.starts_with("0{"));
    assert_eq!(next_text(&mut ws).await, "40");
    ws
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        match within("a frame", ws.next()).await {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(_)) => {}
            other => panic!("websocket ended: {other:?}"),
        }
    }
}

/// A revision-4 client straight over websocket (the frames are plain UTF-8
/// there): joined to `/`, `40/iss,` ack, identify stored, ping answered.
#[tokio::test]
async fn the_seed_client_over_websocket() {
    let server = start_server().await;
    let mut ws = open_v3_websocket(server.addr).await;
    ws.send(Message::text("40/iss")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "40/iss,");
    let session = session_of(&next_text(&mut ws).await);
    ws.send(Message::text(format!(
        "42/iss,[\"{}\",\"Zoë\"]",
        ClientEventKind::Identify.name()
    )))
    .await
    .unwrap();
    ws.send(Message::text("2")).await.unwrap();
    loop {
        match within("the pong", ws.next()).await {
            Some(Ok(Message::Text(text))) if text.as_str() == "3" => break,
            Some(Ok(Message::Text(text))) => {
                assert!(
                    !text.contains("presence"),
                    "no presence for revision 4: {text}"
                )
            }
            Some(Ok(_)) => {}
            other => panic!("websocket ended: {other:?}"),
        }
    }
    eventually("the name stored", || {
        server.state.registry.username(&session).as_deref() == Some("Zoë")
    })
    .await;
    server.shutdown().await.unwrap();
}

/// Long-polling from an allowed foreign origin gets its CORS answer with
/// credentials (1.4.4 polls `withCredentials`), preflights included; a
/// same-origin request gets no CORS headers.
#[tokio::test]
async fn allowed_origins_get_a_cors_answer_with_credentials() {
    let server = start_with(|c| c.allowed_origins = vec!["http://app.example".into()]).await;
    let path = "/socket.io/?EIO=3&transport=polling&t=c";
    let origin = "Origin: http://app.example\r\n";
    let answer = exchange(server.addr, "GET", path, origin, b"").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );

    let preflight = exchange(server.addr, "OPTIONS", path, origin, b"").await;
    assert_eq!(preflight.status, 204, "{}", preflight.head);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    assert!(preflight
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));

    let same = format!("Origin: http://{}\r\n", server.addr);
    let answer = exchange(server.addr, "GET", path, &same, b"").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    server.shutdown().await.unwrap();
}

/// Bad input #74. Every EIO=3 POST body that is not a well-formed payload
/// of client packets gets `400` with the reason, and the server keeps
/// serving: `/healthz`, a connected v5 client, the v3 session itself. The
/// first body is the 7 bytes (`1:` + 🦀 + `x`) on which engineioxide-core
/// 0.2.3's decoder spun for ever without yielding, freezing every client;
/// `EIO=3=x` is v3 to engineioxide, so it must be to our layer too. A hang
/// ends the test process through the watchdog (the runtime is frozen then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_v3_bodies_are_refused_and_freeze_nothing() {
    let _watchdog = common::Watchdog::arm("the malformed-body test", Duration::from_secs(60));
    let server = start_server().await;
    let bystander = SioClient::connect(server.addr).await;
    let mut seed = SeedPoller::open(server.addr).await;
    let bodies: [&[u8]; 9] = [
        b"1:\xf0\x9f\xa6\x80x",
        b"1:\xf0\x9f\xa6\x80\xff",
        b"1:\xf0\x9f\xa6\x80",
        b"6:40/iss trailing",
        b"\xff\xfe",
        b"0:",
        b"1:0",
        b"5:b4AAA",
        b"99999999999999999999:4",
    ];
    for query in ["EIO=3", "EIO=3=x"] {
        for body in bodies {
            let path = format!("/socket.io/?{query}&transport=polling&sid={}", seed.sid);
            let extra = "Content-Type: text/plain;charset=UTF-8\r\n";
            let answer = exchange(server.addr, "POST", &path, extra, body).await;
            let text = String::from_utf8_lossy(&answer.body);
            assert_eq!(answer.status, 400, "{query} {body:?}: {}", answer.head);
            assert!(text.contains("bad Engine.IO v3 polling body"), "{text}");
            let (status, _) = common::get(server.addr, "/healthz", "").await;
            assert_eq!(status, 200, "healthz after {body:?}");
        }
    }
    // The bystander and the session itself are still served.
    let ack = bystander.identify_ack(vec![serde_json::json!("Ada")]).await;
    assert_eq!(ack[0]["ok"], true, "{ack:?}");
    seed.post(&["2"]).await;
    seed.poll_until("the pong", |p| matches!(p, EnginePacket::Pong(_)))
        .await;
    bystander.disconnect().await;
    server.shutdown().await.unwrap();
}

/// Bad input #81: a revision-4 CONNECT carrying a resume token (no 2016
/// client sends one) gets a fresh session, and the token stays good for
/// the revision-5 client it belongs to.
#[tokio::test]
async fn a_revision_4_connect_cannot_spend_a_resume_token() {
    let server = start_server().await;
    let ada = SioClient::connect(server.addr).await;
    ada.identify_ack(vec![serde_json::json!("Ada")]).await;
    let token = server.state.issue_token(&ada.session);
    let session = ada.session.clone();
    ada.disconnect().await;
    eventually("Ada gone", || {
        server.state.registry.username(&session).is_none()
    })
    .await;
    let mut ws = open_v3_websocket(server.addr).await;
    let auth = serde_json::json!({ "resume": token.0 });
    ws.send(Message::text(format!("40/iss,{auth}")))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, "40/iss,");
    let fresh = session_of(&next_text(&mut ws).await);
    assert_ne!(fresh, session, "a fresh session for revision 4");
    let back = server
        .state
        .resume(&token)
        .await
        .expect("the token unspent");
    assert_eq!(back.session, session);
    assert_eq!(back.name.as_deref(), Some("Ada"));
    server.shutdown().await.unwrap();
}

/// Bad input #82: a revision-4 session that never joins `/iss` (joined to
/// `/` unasked) is told to leave `/` at the handshake timeout (1 s here),
/// which makes a 2016 client close its engine session. Before: it stayed
/// parked on `/` for as long as it pinged.
#[tokio::test]
async fn a_revision_4_session_parked_on_the_main_namespace_is_told_to_leave() {
    let server = start_with(|c| c.handshake_timeout_secs = 1).await;
    let mut ws = open_v3_websocket(server.addr).await;
    // It pings (as a v3 client does) but never joins /iss.
    ws.send(Message::text("2")).await.unwrap();
    loop {
        match next_text(&mut ws).await.as_str() {
            "3" => continue,
            "41" => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    server.shutdown().await.unwrap();
}
