//! What the server writes to its log at the default level while a client
//! connects, identifies and leaves: nothing about that client.
//!
//! Per-event lines at the default level cost throughput and let any client
//! write the operator's disk; the engine sid of a polling client is a bearer
//! credential (whoever reads it can poll that session). Bad input #56.
//!
//! One test in this file: it installs the process-wide log subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{eventually, get, http, start_server};
use tracing_subscriber::EnvFilter;

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// `POST` an Engine.IO polling payload to session `sid`.
async fn post(addr: std::net::SocketAddr, sid: &str, payload: &str) {
    let head = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    let (status, response) = http(addr, &head).await;
    assert_eq!(status, 200, "{response}");
}

#[tokio::test]
async fn the_default_level_logs_nothing_per_client_and_never_the_engine_sid() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(server::Config::defaults().log))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let server = start_server().await;
    let addr = server.addr;
    // A polling session, by hand: its sid is what must never be logged.
    let (status, open) = get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200, "{open}");
    let sid = open
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an open packet with a sid")
        .to_owned();
    post(addr, &sid, "40/iss,").await;
    post(addr, &sid, r#"42/iss,["identify","Zelda"]"#).await;
    eventually("the name is stored", || {
        server
            .state
            .registry
            .online()
            .iter()
            .any(|u| u.name == "Zelda")
    })
    .await;
    post(addr, &sid, "41/iss,").await;
    eventually("the session left", || {
        server.state.registry.connected() == 0
    })
    .await;

    let text = log.text();
    assert!(!text.contains(&sid), "the engine sid was logged:\n{text}");
    for word in ["Zelda", "identify", "connected", "disconnected"] {
        assert!(
            !text.contains(word),
            "a per-client line at the default level ({word}):\n{text}"
        );
    }
    server.shutdown().await.unwrap();
}
