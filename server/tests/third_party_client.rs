//! The server against a real third-party Socket.IO client (rust_socketio),
//! so nothing here depends on our own codec.

mod common;

use common::{start_server, start_with, within, SioClient};
use rust_socketio::TransportType;
use serde_json::{json, Value};
use shared::events::ProtocolCode;
use shared::events::{ErrorCode, IdentifyAck, Refusal, SessionId};
use shared::names::NameCode;

fn ack_of(args: &[Value]) -> IdentifyAck {
    IdentifyAck::from_args(args).unwrap_or_else(|e| panic!("bad ack {args:?}: {e}"))
}

#[tokio::test]
async fn connect_gets_connected_with_a_v7_uuid() {
    let server = start_server().await;
    let client = SioClient::connect(server.addr).await;
    let uuid = uuid::Uuid::parse_str(&client.session.0).expect("session id is a uuid");
    assert_eq!(uuid.get_version_num(), 7, "uuid v7: time-ordered, no MAC");
    assert_eq!(server.state.registry.connected(), 1);
    client.disconnect().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn identify_with_ack_stores_and_replies() {
    let server = start_server().await;
    let client = SioClient::connect(server.addr).await;
    let reply = client.identify_ack(vec![json!("  Ada ")]).await;
    assert_eq!(
        reply,
        vec![json!({"ok": true, "uuid": client.session.0, "username": "Ada"})]
    );
    assert_eq!(
        server.state.registry.username(&client.session).as_deref(),
        Some("Ada")
    );
    client.disconnect().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn identify_without_ack_is_stored_and_seen_by_another_client() {
    let server = start_server().await;
    let ada = SioClient::connect(server.addr).await;
    let mut watcher = SioClient::connect(server.addr).await;
    ada.identify_no_ack(vec![json!("Ada")]).await;
    let id = ada.session.clone();
    watcher
        .presence_until("Ada in presence", |online| {
            online.get(&id).map(String::as_str) == Some("Ada")
        })
        .await;
    assert_eq!(
        server.state.registry.username(&ada.session).as_deref(),
        Some("Ada")
    );
    // A client connecting later gets her in its snapshot.
    let mut late = SioClient::connect(server.addr).await;
    let seen = late
        .presence_until("the snapshot", |online| online.contains_key(&id))
        .await;
    assert!(matches!(seen[0], shared::events::Presence::Snapshot { .. }));
    for c in [ada, watcher, late] {
        c.disconnect().await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_bad_name_and_payload_gets_its_error_and_stores_nothing() {
    let server = start_server().await;
    let client = SioClient::connect(server.addr).await;
    let cases: Vec<(Vec<Value>, ErrorCode, &str)> = vec![
        (
            vec![json!(42)],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "got a number",
        ),
        (
            vec![json!({"name": "Ada"})],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "got an object",
        ),
        (
            vec![json!(["Ada"])],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "got an array",
        ),
        (
            vec![Value::Null],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "got null",
        ),
        (
            vec![json!(true)],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "got a boolean",
        ),
        (
            vec![],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "got nothing",
        ),
        (
            vec![json!("Ada"), json!("Grace")],
            ErrorCode::Protocol(ProtocolCode::BadPayload),
            "exactly one argument",
        ),
        (
            vec![json!("")],
            ErrorCode::Name(NameCode::Empty),
            "Please enter a name",
        ),
        (
            vec![json!("    ")],
            ErrorCode::Name(NameCode::Empty),
            "Please enter a name",
        ),
        (
            vec![json!("x".repeat(33))],
            ErrorCode::Name(NameCode::TooLong),
            "at most 32",
        ),
        (
            vec![json!("Ada\u{0}")],
            ErrorCode::Name(NameCode::ControlCharacter),
            "U+0000",
        ),
        (
            vec![json!("A\nda")],
            ErrorCode::Name(NameCode::ControlCharacter),
            "U+000A",
        ),
        (
            vec![json!("\u{202E}adA")],
            ErrorCode::Name(NameCode::BidiOverride),
            "U+202E",
        ),
        (
            vec![json!("Ada\u{2066}")],
            ErrorCode::Name(NameCode::BidiOverride),
            "U+2066",
        ),
    ];
    for (args, code, needle) in cases {
        let reply = client.identify_ack(args.clone()).await;
        match ack_of(&reply) {
            IdentifyAck::Err(Refusal { code: got, message }) => {
                assert_eq!(got, code, "{args:?}: {message}");
                assert!(
                    message.contains(needle),
                    "{args:?}: {message:?} lacks {needle:?}"
                );
            }
            ok => panic!("{args:?} was accepted: {ok:?}"),
        }
        assert_eq!(
            server.state.registry.username(&client.session),
            None,
            "{args:?}"
        );
    }
    // 32 characters and HTML are fine, and the connection still works.
    let html = "<img src=x onerror=alert(1)>";
    assert!(matches!(
        ack_of(&client.identify_ack(vec![json!(html)]).await),
        IdentifyAck::Ok(_)
    ));
    let max = "é".repeat(32);
    assert!(matches!(
        ack_of(&client.identify_ack(vec![json!(max)]).await),
        IdentifyAck::Ok(_)
    ));
    client.disconnect().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rename_and_disconnect_reach_the_other_client() {
    let server = start_server().await;
    let ada = SioClient::connect(server.addr).await;
    let mut watcher = SioClient::connect(server.addr).await;
    let id: SessionId = ada.session.clone();

    ada.identify_ack(vec![json!("Ada")]).await;
    watcher
        .presence_until("Ada joins", |o| {
            o.get(&id).map(String::as_str) == Some("Ada")
        })
        .await;
    ada.identify_ack(vec![json!("Grace")]).await;
    watcher
        .presence_until("the rename", |o| {
            o.get(&id).map(String::as_str) == Some("Grace")
        })
        .await;
    assert_eq!(
        server.state.registry.username(&id).as_deref(),
        Some("Grace")
    );

    ada.disconnect().await;
    watcher
        .presence_until("Grace leaves", |o| !o.contains_key(&id))
        .await;
    common::eventually("the registry to forget her", || {
        server.state.registry.username(&id).is_none()
    })
    .await;
    assert_eq!(
        server.state.registry.connected(),
        1,
        "only the watcher is left"
    );
    watcher.disconnect().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_burst_of_identifies_is_coalesced_into_few_presence_messages() {
    let server = start_server().await;
    let mut watcher = SioClient::connect(server.addr).await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(SioClient::connect(server.addr).await);
    }
    let started = std::time::Instant::now();
    for (i, c) in clients.iter().enumerate() {
        c.identify_no_ack(vec![json!(format!("user{i}"))]).await;
    }
    let messages = watcher
        .presence_until("all 20 users", |o| o.len() == 20)
        .await;
    // One message per 100 ms window at most (+1 for the snapshot, +1 for a window edge).
    let windows = started.elapsed().as_millis() / 100 + 1;
    assert!(
        messages.len() as u128 <= windows + 1,
        "{} presence messages for {} windows",
        messages.len(),
        windows
    );
    assert!(messages.len() < 20, "not one message per join");
    for c in clients {
        c.disconnect().await;
    }
    watcher.disconnect().await;
    server.shutdown().await.unwrap();
}

/// A change after a quiet window reaches everyone at once (it does not wait
/// for a tick), and the next change waits for the window to end. A 3 s
/// window makes both visible: a ticker would hold the first one until its
/// tick 3 s after the start, and no pacing would let the second through at
/// once.
#[tokio::test]
async fn a_change_after_a_quiet_window_goes_at_once_and_the_next_waits() {
    let window = std::time::Duration::from_millis(3000);
    let server = start_with(|c| c.presence_window_ms = 3000).await;
    let mut watcher = SioClient::connect(server.addr).await;
    let client = SioClient::connect(server.addr).await;
    let id = client.session.clone();

    let start = std::time::Instant::now();
    client.identify_no_ack(vec![json!("Ada")]).await;
    watcher
        .presence_until("Ada", |o| o.get(&id).is_some_and(|n| n == "Ada"))
        .await;
    let first = start.elapsed();
    assert!(
        first < std::time::Duration::from_millis(1000),
        "the first change took {first:?}"
    );

    client.identify_no_ack(vec![json!("Grace")]).await;
    watcher
        .presence_until("Grace", |o| o.get(&id).is_some_and(|n| n == "Grace"))
        .await;
    // The first flush came after `start`; the second is a window after it.
    let second = start.elapsed();
    assert!(second >= window, "the second change came after {second:?}");

    client.disconnect().await;
    watcher.disconnect().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn polling_transport_works_for_stock_clients() {
    let server = start_server().await;
    let client = SioClient::connect_with(server.addr, TransportType::Polling).await;
    let reply = client.identify_ack(vec![json!("Polly")]).await;
    assert!(matches!(ack_of(&reply), IdentifyAck::Ok(_)));
    within("disconnect", client.disconnect()).await;
    server.shutdown().await.unwrap();
}

/// socketioxide runs each handler as its own task; back-to-back renames must
/// still end with the last name sent, not whichever task finished last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_renames_end_with_the_last_name() {
    // Arrival order, not the rename limit, is under test: 50 renames each.
    let server = start_with(|c| c.renames_per_minute = 0).await;
    let mut watcher = SioClient::connect(server.addr).await;
    for round in 0..5 {
        let client = SioClient::connect(server.addr).await;
        let id = client.session.clone();
        for i in 0..50 {
            client
                .identify_no_ack(vec![json!(format!("n{round}-{i}"))])
                .await;
        }
        let last = format!("n{round}-49");
        common::eventually("the last name to be stored", || {
            server.state.registry.username(&id).as_deref() == Some(last.as_str())
        })
        .await;
        watcher
            .presence_until("the last name in presence", |o| o.get(&id) == Some(&last))
            .await;
        // A late, older identify would show up as a rename within a few windows.
        let late = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            watcher.presence_until("an older name", |o| o.get(&id) != Some(&last)),
        )
        .await;
        assert!(late.is_err(), "an older name overwrote {last}");
        assert_eq!(server.state.registry.username(&id), Some(last));
        client.disconnect().await;
    }
    watcher.disconnect().await;
    server.shutdown().await.unwrap();
}
