//! `wave`: an event for one user, delivered to that user's sockets only, on
//! whichever node they are (socketioxide's Redis adapter), with an ack that
//! says what became of it.

use std::time::Duration;

use shared::events::{
    Ack, ErrorCode, ProtocolCode, Refusal, SessionId, WaveAck, WaveOk, PRESENCE_WINDOW,
};

use crate::harness::{Client, Node, Redis, SERIAL};

/// The refusal's code, or a failure naming what came instead.
fn refused(ack: &WaveAck) -> ProtocolCode {
    match ack {
        Ack::Err(Refusal {
            code: ErrorCode::Protocol(code),
            ..
        }) => *code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn reached(ack: &WaveAck, to: &SessionId) {
    assert_eq!(ack, &Ack::Ok(WaveOk { to: to.clone() }));
}

/// Waits until `client` has seen `n` waves, all from `from`.
async fn waves_from(client: &Client, from: &SessionId, n: usize) {
    client
        .until(&format!("{n} wave(s)"), |seen| seen.waves.len() >= n)
        .await;
    let seen = client.seen.lock().unwrap();
    assert_eq!(seen.waves.len(), n, "{:?}", seen.waves);
    assert!(
        seen.waves.iter().all(|w| w.from == *from),
        "{:?}",
        seen.waves
    );
}

/// Gives every client time to receive a stray wave, then checks none came.
async fn no_waves(clients: &[&Client]) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    for client in clients {
        let seen = client.seen.lock().unwrap();
        assert!(seen.waves.is_empty(), "a bystander got {:?}", seen.waves);
    }
}

/// One process: the wave reaches its target's sockets (both tabs) and no
/// one else's; every refusal has its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_reaches_only_its_target() {
    let _one = SERIAL.lock().await;
    let node = Node::start_alone().await;
    let mut ada = Client::join(&node).await;
    let mut grace = Client::join(&node).await;
    let bob = Client::join(&node).await;

    // Not yet named: refused, and nothing is sent.
    assert_eq!(
        refused(&ada.wave(&grace.session()).await),
        ProtocolCode::NotNamed
    );
    assert!(matches!(ada.identify("Ada").await, Ack::Ok(_)));
    assert!(matches!(grace.identify("Grace").await, Ack::Ok(_)));

    reached(&ada.wave(&grace.session()).await, &grace.session());
    waves_from(&grace, &ada.session(), 1).await;
    assert_eq!(grace.seen.lock().unwrap().waves[0].name, "Ada");
    no_waves(&[&ada, &bob]).await;

    // Grace reloads: her resumed session's socket joins the same room.
    let (session, token) = (grace.session(), grace.token());
    bob.until("Grace to show", |seen| {
        seen.view
            .first(PRESENCE_WINDOW)
            .iter()
            .any(|u| u.id == session)
    })
    .await;
    grace.leave();
    // A token brings back a session that has left: wait until it has.
    bob.until("Grace to leave", |seen| {
        seen.view
            .first(PRESENCE_WINDOW)
            .iter()
            .all(|u| u.id != session)
    })
    .await;
    let grace = Client::resume(&node, &token).await;
    assert_eq!(grace.session(), session);
    reached(&ada.wave(&session).await, &session);
    waves_from(&grace, &ada.session(), 1).await;
    no_waves(&[&ada, &bob]).await;

    assert_eq!(
        refused(&ada.wave(&ada.session()).await),
        ProtocolCode::WaveSelf
    );
    let nobody = SessionId("0190c0de-0000-7000-8000-000000000000".into());
    assert_eq!(
        refused(&ada.wave(&nobody).await),
        ProtocolCode::TargetOffline
    );
    let gone = grace.session();
    grace.leave();
    let started = std::time::Instant::now();
    loop {
        let ack = ada.wave(&gone).await;
        if refused(&ack) == ProtocolCode::TargetOffline {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{ack:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The per-socket limit: a burst, then `rate_limited`, nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_are_rate_limited() {
    let _one = SERIAL.lock().await;
    let node = Node::start_alone().await;
    let mut ada = Client::join(&node).await;
    let mut grace = Client::join(&node).await;
    assert!(matches!(ada.identify("Ada").await, Ack::Ok(_)));
    assert!(matches!(grace.identify("Grace").await, Ack::Ok(_)));
    // The default burst is 5 (`--wave-burst`).
    for _ in 0..5 {
        reached(&ada.wave(&grace.session()).await, &grace.session());
    }
    assert_eq!(
        refused(&ada.wave(&grace.session()).await),
        ProtocolCode::RateLimited
    );
    waves_from(&grace, &ada.session(), 5).await;
}

/// Shared mode: a wave from node 1 reaches a page on node 3 and no one on
/// node 2. When the target's node dies the sender is told at once
/// (`target_offline`); when it hangs, within the adapter's 2 s request
/// timeout (`target_unreachable`): never left waiting, never a false `ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_crosses_nodes_and_a_dead_node_is_reported() {
    let _one = SERIAL.lock().await;
    let redis = Redis::start().await;
    let nodes = [
        Node::start(&redis).await,
        Node::start(&redis).await,
        Node::start(&redis).await,
    ];
    let mut ada = Client::join(&nodes[0]).await;
    let bob = Client::join(&nodes[1]).await;
    let mut grace = Client::join(&nodes[2]).await;
    assert!(matches!(ada.identify("Ada").await, Ack::Ok(_)));
    assert!(matches!(grace.identify("Grace").await, Ack::Ok(_)));

    reached(&ada.wave(&grace.session()).await, &grace.session());
    waves_from(&grace, &ada.session(), 1).await;
    no_waves(&[&ada, &bob]).await;

    // Grace waves back, node 3 to node 1.
    reached(&grace.wave(&ada.session()).await, &ada.session());
    waves_from(&ada, &grace.session(), 1).await;

    // Node 3 hangs: the others wait for its answer no longer than the
    // adapter's request timeout, then say so.
    nodes[2].pause();
    let started = std::time::Instant::now();
    let ack = ada.wave(&grace.session()).await;
    nodes[2].resume();
    assert_eq!(refused(&ack), ProtocolCode::TargetUnreachable, "{ack:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Node 3 dies: its subscriptions go with its connection to Redis.
    let mut nodes = nodes;
    nodes[2].kill9();
    let started = std::time::Instant::now();
    loop {
        let ack = ada.wave(&grace.session()).await;
        if refused(&ack) == ProtocolCode::TargetOffline {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{ack:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
