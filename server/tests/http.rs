//! Plain HTTP: health, the static frontend with its cache rules and
//! precompressed twins, and the page shown when nothing was built.

mod common;

use std::path::PathBuf;

use common::{get, http, start_server, start_with, until_status};

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn body(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

/// A throwaway dist folder like trunk's output, unique per test.
fn fake_dist(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iss-dist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>iss</title>").unwrap();
    std::fs::write(
        dir.join("frontend-0123456789abcdef_bg.wasm"),
        b"\0asm-plain",
    )
    .unwrap();
    std::fs::write(
        dir.join("frontend-0123456789abcdef_bg.wasm.br"),
        b"brotli-bytes",
    )
    .unwrap();
    std::fs::write(
        dir.join("frontend-0123456789abcdef_bg.wasm.gz"),
        b"gzip-bytes",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = start_server().await;
    let (status, response) = get(server.addr, "/healthz", "").await;
    assert_eq!(status, 200);
    assert_eq!(body(&response), "ok\n");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn stats_count_sessions_and_identifies() {
    let server = start_server().await;
    let client = common::SioClient::connect(server.addr).await;
    client.identify_ack(vec![serde_json::json!("Ada")]).await;
    client.identify_ack(vec![serde_json::json!("")]).await;
    let (status, response) = get(server.addr, "/api/stats", "").await;
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(body(&response)).unwrap();
    assert_eq!(
        stats,
        serde_json::json!({"connected": 1, "identified": 1, "identify_events": 2, "identify_refused": 1,
            "resumed": 0, "origin_refused": 0, "flooders_disconnected": 0, "sessions_refused": 0})
    );
    client.disconnect().await;
    server.shutdown().await.unwrap();
}

/// Refusals are counted (and summed up by the periodic report) rather than
/// logged one by one.
#[tokio::test]
async fn stats_count_foreign_origin_refusals() {
    let server = start_server().await;
    let polling = "/socket.io/?EIO=4&transport=polling";
    for _ in 0..3 {
        let (status, _) = get(server.addr, polling, "Origin: http://evil.example\r\n").await;
        assert_eq!(status, 403);
    }
    let (_, response) = get(server.addr, "/api/stats", "").await;
    let stats: serde_json::Value = serde_json::from_str(body(&response)).unwrap();
    assert_eq!(stats["origin_refused"], 3, "{stats}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_build_the_root_explains_how_to_make_one() {
    let server = start_server().await;
    let (status, response) = get(server.addr, "/", "").await;
    assert_eq!(status, 200);
    assert!(body(&response).contains("cargo xtask serve"), "{response}");
    assert_eq!(header(&response, "cache-control"), Some("no-cache"));
    let (status, _) = get(server.addr, "/nope.js", "").await;
    assert_eq!(status, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn dist_is_served_with_cache_rules_and_precompressed_twins() {
    let dist = fake_dist("serve");
    let server = start_with(|c| c.dist = dist.clone()).await;
    let addr = server.addr;

    let (status, response) = get(addr, "/", "").await;
    assert_eq!(status, 200);
    assert_eq!(body(&response), "<!doctype html><title>iss</title>");
    assert_eq!(header(&response, "cache-control"), Some("no-cache"));

    let wasm = "/frontend-0123456789abcdef_bg.wasm";
    let (status, response) = get(addr, wasm, "").await;
    assert_eq!(status, 200);
    assert_eq!(body(&response), "\0asm-plain");
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let (_, response) = get(addr, wasm, "Accept-Encoding: br, gzip\r\n").await;
    assert_eq!(header(&response, "content-encoding"), Some("br"));
    assert_eq!(body(&response), "brotli-bytes");
    let (_, response) = get(addr, wasm, "Accept-Encoding: gzip\r\n").await;
    assert_eq!(header(&response, "content-encoding"), Some("gzip"));
    assert_eq!(body(&response), "gzip-bytes");

    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dist);
}

/// DNS rebinding: a request for a host name this server is not known by
/// gets 403, on every route; loopback names, the bind address and
/// `--allowed-host` names pass (bad input #58).
#[tokio::test]
async fn requests_for_a_foreign_host_are_refused() {
    let server = start_with(|c| c.allowed_hosts = vec!["chat.example.com".into()]).await;
    let addr = server.addr;
    let port = addr.port();
    let request = |host: String, path: &'static str| async move {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        http(addr, &head).await
    };
    for path in [
        "/healthz",
        "/api/stats",
        "/",
        "/socket.io/?EIO=4&transport=polling",
    ] {
        let (status, response) = request(format!("evil.test:{port}"), path).await;
        assert_eq!(status, 403, "{path}: {response}");
        assert!(response.contains("--allowed-host"), "{response}");
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "chat.example.com".to_owned(),
    ] {
        let (status, response) = request(host.clone(), "/healthz").await;
        assert_eq!(status, 200, "{host}: {response}");
    }
    server.shutdown().await.unwrap();
}

/// The ways around a first-request-only deadline (bad input #60): a head
/// that starts with an empty line and never ends, an idle keep-alive
/// connection after one complete request, and a second head trickled on
/// it; and a connection that sends nothing, or (part of) the HTTP/2 preface
/// (#72). Each is closed after the header-read timeout (1 s here).
#[tokio::test]
async fn every_request_head_and_idle_keep_alive_has_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_with(|c| c.handshake_timeout_secs = 1).await;
    let addr = server.addr;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    // What the server sends until it closes, and how long that took.
    async fn until_closed(tcp: &mut tokio::net::TcpStream) -> (String, std::time::Duration) {
        let started = std::time::Instant::now();
        let mut seen = Vec::new();
        let _ = common::within("the server to close", tcp.read_to_end(&mut seen)).await;
        (
            String::from_utf8_lossy(&seen).into_owned(),
            started.elapsed(),
        )
    }
    // The HTTP/2 preface, whole or in part (hyper-util's `auto` builder
    // waited for 24 bytes with no timer, then served HTTP/2 with none).
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let cases: [(&str, Vec<Vec<u8>>); 7] = [
        ("nothing sent at all", vec![]),
        (
            "one byte of the HTTP/2 preface",
            vec![preface[..1].to_vec()],
        ),
        (
            "16 bytes of the HTTP/2 preface",
            vec![preface[..16].to_vec()],
        ),
        ("the HTTP/2 preface, then idle", vec![preface.clone()]),
        (
            "empty line first, head never ends",
            vec![b"\r\n\r\nGET / HTTP/1.1\r\n".to_vec()],
        ),
        ("idle after one request", vec![head.clone().into_bytes()]),
        (
            "second head trickled after one request",
            vec![
                head.clone().into_bytes(),
                b"GET /healthz HTTP/1.1\r\nHo".to_vec(),
            ],
        ),
    ];
    for (case, writes) in cases {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        for bytes in writes {
            tcp.write_all(&bytes).await.unwrap();
        }
        let (seen, took) = until_closed(&mut tcp).await;
        assert!(
            took < std::time::Duration::from_secs(4),
            "{case}: open for {took:?}"
        );
        let answers = seen.matches("HTTP/1.1 200").count();
        let complete_requests = usize::from(case.contains("request"));
        assert_eq!(answers, complete_requests, "{case}: {seen:?}");
    }
    server.shutdown().await.unwrap();
}

/// A request head larger than 16 KiB gets `431` and is not kept (bad input
/// #61: socketioxide keeps each socket's request head for its lifetime).
#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_server().await;
    let addr = server.addr;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = tcp.into_split();
    let head = format!(
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(300_000)
    );
    // The server may stop reading (and reset) before all of it is written.
    let writer = tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        write
    });
    let mut seen = Vec::new();
    let _ = common::within("the server to refuse", read.read_to_end(&mut seen)).await;
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        seen.is_empty() || seen.starts_with("HTTP/1.1 431"),
        "refused (431, or a reset before it was read): {seen:?}"
    );
    assert!(!seen.contains("\"sid\""), "no session for it: {seen:?}");
    drop(writer.await);
    let (status, _) = get(
        addr,
        "/socket.io/?EIO=4&transport=polling",
        "X-Small: 1\r\n",
    )
    .await;
    assert_eq!(status, 200, "an ordinary head still passes");
    server.shutdown().await.unwrap();
}

/// A careless `--dist .` must not publish a repository: dot-files and
/// dot-folders are 404, spelled out or percent-encoded (bad input #52).
#[tokio::test]
async fn dot_files_are_never_served() {
    let dist = fake_dist("dotfiles");
    std::fs::write(dist.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir_all(dist.join(".git")).unwrap();
    std::fs::write(dist.join(".git/config"), "[core]").unwrap();
    let server = start_with(|c| c.dist = dist.clone()).await;
    for path in ["/.env", "/.git/config", "/%2eenv", "/%2Egit/config"] {
        let (status, response) = get(server.addr, path, "").await;
        assert_eq!(status, 404, "{path}: {response}");
        assert!(!response.contains("SECRET") && !response.contains("[core]"));
    }
    let (status, _) = get(server.addr, "/", "").await;
    assert_eq!(status, 200, "ordinary files are still served");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dist);
}

/// One connection over `--max-connections` gets a 503 and is closed; the
/// connections already open are untouched, and a freed slot admits again.
#[tokio::test]
async fn the_connection_limit_refuses_with_503_and_frees_slots() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_with(|c| c.max_connections = 2).await;
    let addr = server.addr;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // The server admits the two when it accepts them.
    let (status, response) = until_status(503, || get(addr, "/healthz", "")).await;
    assert_eq!(status, 503, "{response}");
    assert!(body(&response).contains("connection limit"), "{response}");

    // The held connections still work.
    let mut first = held.remove(0);
    first
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut reply = String::new();
    first.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    drop(first);

    // Its slot is free again (bounded retry: the close is asynchronous).
    let mut status = 0;
    for _ in 0..50 {
        status = get(addr, "/healthz", "").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    server.shutdown().await.unwrap();
}

/// Slowloris: a request head that never completes is closed after the
/// handshake timeout, while a head that arrives in pieces in time is served.
#[tokio::test]
async fn an_unfinished_request_is_closed_after_the_handshake_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_with(|c| c.handshake_timeout_secs = 1).await;
    let addr = server.addr;

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = common::within(
        "the server to close the slow client",
        slow.read_to_end(&mut rest),
    )
    .await;
    assert!(closed.is_ok() || closed.is_err(), "EOF or reset");
    assert!(
        rest.is_empty(),
        "no answer: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "not before the timeout"
    );

    // A websocket whose head completed in time (and which joined a
    // namespace, or the connect timeout closes it) stays open past the
    // timeout: it can leave and join again.
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut joined = false;
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            ws.send(Message::text("41/iss,")).await.unwrap();
        }
        ws.send(Message::text("40/iss,")).await.unwrap();
        joined = common::within("the namespace CONNECT ack", async {
            while let Some(Ok(message)) = ws.next().await {
                if message.to_text().is_ok_and(|t| t.starts_with("40/iss,")) {
                    return true;
                }
            }
            false
        })
        .await;
    }
    assert!(
        joined,
        "the websocket still works after the handshake timeout"
    );

    let (status, _) = get(addr, "/healthz", "").await;
    assert_eq!(status, 200);
    server.shutdown().await.unwrap();
}

/// Request bodies have a deadline (bad input #73): a POST that declares
/// 1,000 bytes and trickles them one every 100 ms is answered and closed
/// after the handshake timeout (1 s here), whether socketioxide reads it
/// (an EIO=4 session), our v3 layer does (a made-up sid is enough there),
/// or nobody does (a route without POST). Before: open for as long as the
/// client kept trickling.
#[tokio::test]
async fn a_trickled_request_body_is_cut_at_the_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_with(|c| c.handshake_timeout_secs = 1).await;
    let addr = server.addr;
    let (status, open) = common::get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200, "{open}");
    let sid = open
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a sid in the open packet");
    let cases = [
        (
            "EIO=4, a real session",
            format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
        ),
        (
            "EIO=3, a made-up sid",
            "/socket.io/?EIO=3&transport=polling&sid=madeup".to_owned(),
        ),
        ("a route without POST", "/healthz".to_owned()),
    ];
    for (case, path) in cases {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut read, mut write) = tcp.into_split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
             Content-Length: 1000\r\n\r\n"
        );
        write.write_all(head.as_bytes()).await.unwrap();
        // At most 100 bytes, 10 s: the loop ends by itself.
        let trickle = tokio::spawn(async move {
            for _ in 0..100 {
                if write.write_all(b"1").await.is_err() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        let started = std::time::Instant::now();
        let mut seen = Vec::new();
        let _ = common::within("the server to close", read.read_to_end(&mut seen)).await;
        let took = started.elapsed();
        trickle.abort();
        let seen = String::from_utf8_lossy(&seen);
        assert!(
            took < std::time::Duration::from_secs(4),
            "{case}: open for {took:?}: {seen:?}"
        );
        assert!(seen.starts_with("HTTP/1.1 4"), "{case}: {seen:?}");
    }
    server.shutdown().await.unwrap();
}
