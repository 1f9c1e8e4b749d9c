//! The tokio shell against a scripted websocket server on loopback: it
//! joins, delivers events, answers pings, and reconnects by itself when the
//! server drops the connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sio_client::native::{Connector, Shell};
use sio_client::{ClientConfig, ConnectionState, Output, Session};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const OPEN: &str =
    r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

/// Reads the next text frame the client sends.
async fn read_text(ws: &mut WebSocketStream<TcpStream>) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(_)) => {}
            other => panic!("the client went away: {other:?}"),
        }
    }
}

/// One server-side connection: handshake, join, then `script`.
async fn serve_one(listener: &TcpListener, round: u32) -> WebSocketStream<TcpStream> {
    let (tcp, _) = listener.accept().await.expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
    ws.send(Message::text(OPEN)).await.expect("send open");
    assert_eq!(read_text(&mut ws).await, "40/chat,");
    ws.send(Message::text("40/chat,")).await.expect("ack");
    ws.send(Message::text("2")).await.expect("ping");
    assert_eq!(read_text(&mut ws).await, "3", "the ping is answered");
    let event = format!(r#"42/chat,["round",{round}]"#);
    ws.send(Message::text(event)).await.expect("event");
    ws
}

#[tokio::test]
async fn joins_delivers_and_reconnects_by_itself() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let first = serve_one(&listener, 1).await;
        drop(first); // the server goes away without a word
        let mut second = serve_one(&listener, 2).await;
        // Keep the second connection until the client leaves.
        while second.next().await.is_some() {}
    });
    let connect: Connector<MaybeTlsStream<TcpStream>> = Box::new(move || {
        Box::pin(async move {
            let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
            let (ws, _) = tokio_tungstenite::connect_async(url)
                .await
                .map_err(|e| e.to_string())?;
            Ok(ws)
        })
    });
    let mut config = ClientConfig::new("/chat");
    config.backoff.initial_ms = 10;
    config.backoff.max_ms = 20;
    let mut shell = Shell::new(Session::new(config, 0), connect);
    let mut rounds = Vec::new();
    let mut reconnecting = 0;
    let run = async {
        while rounds.len() < 2 {
            match shell.next().await.expect("never stops") {
                Output::Event(event) => rounds.push(event.args[0].as_str().to_owned()),
                Output::State(ConnectionState::Reconnecting { .. }) => reconnecting += 1,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("two rounds within 10 s");
    assert_eq!(rounds, ["1", "2"]);
    assert_eq!(reconnecting, 1);
    assert_eq!(shell.pings, 2);
    shell.session.close();
    let _ = tokio::time::timeout(Duration::from_secs(1), shell.next()).await;
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server sees the client leave")
        .expect("server task");
}
