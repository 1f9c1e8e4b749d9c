//! Connection and session slots: Engine.IO sessions of every transport count
//! against `--max-connections`, and one source cannot take every slot
//! (`--max-per-source`, with `X-Forwarded-For` believed only from a trusted
//! proxy).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{start_with, until_status, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const HANDSHAKE: &str = "/socket.io/?EIO=4&transport=polling";

/// A TCP connection to `addr` from the loopback address `source`
/// (Linux routes all of 127/8 to the loopback interface).
async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    within("tcp connect", socket.connect(addr)).await.unwrap()
}

/// One request with `Connection: close` from `source`: (status, full response).
async fn request_from(source: &str, addr: SocketAddr, head: &str) -> (u16, String) {
    let mut tcp = connect_from(source, addr).await;
    within("an HTTP response", async {
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let _ = tcp.read_to_end(&mut response).await;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    })
    .await
}

async fn get_from(source: &str, addr: SocketAddr, path: &str, extra: &str) -> (u16, String) {
    request_from(
        source,
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

/// Opens a polling session; returns its sid, or the refusal.
async fn open_session(source: &str, addr: SocketAddr, extra: &str) -> Result<String, String> {
    let (status, response) = get_from(source, addr, HANDSHAKE, extra).await;
    if status != 200 {
        return Err(response);
    }
    let sid = response
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no sid in {response}"));
    Ok(sid.to_owned())
}

/// Posts one Engine.IO packet to a polling session.
async fn post(source: &str, addr: SocketAddr, sid: &str, packet: &str) {
    let (status, response) = request_from(
        source,
        addr,
        &format!(
            "POST {HANDSHAKE}&sid={sid} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{packet}",
            packet.len()
        ),
    )
    .await;
    assert_eq!(status, 200, "{response}");
}

/// Retries a handshake (bounded) until the server has let go of a session.
async fn open_session_eventually(source: &str, addr: SocketAddr) -> String {
    for _ in 0..100 {
        if let Ok(sid) = open_session(source, addr, "").await {
            return sid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no session slot came free");
}

/// Polling sessions outlive their requests: with the limit at 3, a single
/// client opening sessions one request at a time (never more than one TCP
/// connection) gets 3 and then 503; closing one (joined to `/iss`) frees
/// its slot at once. Page requests still have their connection slots.
#[tokio::test]
async fn polling_sessions_count_against_the_connection_limit() {
    let server = start_with(|c| {
        c.max_connections = 3;
        c.max_per_source = 0;
    })
    .await;
    let addr = server.addr;
    let mut sids = Vec::new();
    for _ in 0..3 {
        sids.push(open_session("127.0.0.1", addr, "").await.unwrap());
    }
    let refused = open_session("127.0.0.1", addr, "").await.unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("session limit"), "{refused}");
    let (status, _) = get_from("127.0.0.1", addr, "/healthz", "").await;
    assert_eq!(status, 200, "sessions do not take connection slots");

    post("127.0.0.1", addr, &sids[0], "40/iss,").await;
    post("127.0.0.1", addr, &sids[0], "1").await;
    open_session_eventually("127.0.0.1", addr).await;
    assert_eq!(server.state.stats.view(0, 0).sessions_refused, 1);
    server.shutdown().await.unwrap();
}

/// A websocket session holds a slot too. One that never joins a namespace
/// is closed by the connect timeout (the handshake timeout, not
/// socketioxide's 45 s), and its slot comes back.
#[tokio::test]
async fn a_session_that_never_joins_frees_its_slot_at_the_handshake_timeout() {
    let server = start_with(|c| {
        c.max_connections = 2;
        c.max_per_source = 0;
        c.handshake_timeout_secs = 1;
    })
    .await;
    let addr = server.addr;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let held = open_session("127.0.0.1", addr, "").await.unwrap();
    let refused = open_session("127.0.0.1", addr, "").await.unwrap_err();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    drop(ws);
    open_session_eventually("127.0.0.1", addr).await;
    drop(held);
    server.shutdown().await.unwrap();
}

/// One source holding its maximum of connections and of sessions does not
/// stop a second source from connecting.
#[tokio::test]
async fn one_source_at_its_maximum_does_not_stop_another() {
    let server = start_with(|c| c.max_per_source = 2).await;
    let addr = server.addr;

    // Connections: two idle ones from .2, then a third is refused.
    let held = [
        connect_from("127.0.0.2", addr).await,
        connect_from("127.0.0.2", addr).await,
    ];
    let (status, response) =
        until_status(503, || get_from("127.0.0.2", addr, "/healthz", "")).await;
    assert_eq!(status, 503, "{response}");
    let (status, _) = get_from("127.0.0.3", addr, "/healthz", "").await;
    assert_eq!(status, 200, "another source is served");

    // Sessions: two from .4 (one request at a time), then a third is refused.
    open_session("127.0.0.4", addr, "").await.unwrap();
    open_session("127.0.0.4", addr, "").await.unwrap();
    let refused = open_session("127.0.0.4", addr, "").await.unwrap_err();
    assert!(refused.contains("Too many sessions"), "{refused}");
    open_session("127.0.0.5", addr, "").await.unwrap();
    drop(held);
    server.shutdown().await.unwrap();
}

/// Behind a trusted proxy each client it names is its own source; from
/// anyone else the header is ignored (it would let a client pick a fresh
/// source per request).
#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let proxied = start_with(|c| {
        c.max_per_source = 1;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let addr = proxied.addr;
    let client = |ip: &str| format!("X-Forwarded-For: 203.0.113.77, {ip}\r\n");
    open_session("127.0.0.1", addr, &client("198.51.100.1"))
        .await
        .unwrap();
    assert!(open_session("127.0.0.1", addr, &client("198.51.100.1"))
        .await
        .is_err());
    open_session("127.0.0.1", addr, &client("198.51.100.2"))
        .await
        .expect("a second client behind the proxy");
    proxied.shutdown().await.unwrap();

    let direct = start_with(|c| c.max_per_source = 1).await;
    let addr = direct.addr;
    open_session("127.0.0.6", addr, &client("198.51.100.1"))
        .await
        .unwrap();
    assert!(
        open_session("127.0.0.6", addr, &client("198.51.100.2"))
            .await
            .is_err(),
        "a forged header does not make a new source"
    );
    direct.shutdown().await.unwrap();
}
