//! `stock`: the library we build on, with nothing of ours: a minimal axum +
//! socketioxide server with the original app's `/iss` behaviour, as the
//! benchmark's baseline. Comparing our server with it prices our application
//! layer (name rules, registry, presence, arrival order, resume tokens, rate
//! limits, origin guard, connection limits) on top of the library.
//!
//! Per connect it emits `connected` with a uuid; per `identify` it stores
//! `users[uuid] = name` in a map behind a mutex and acks
//! `{"ok": true, "uuid": …, "username": …}` when asked; on disconnect it
//! forgets the user. It logs nothing per event (no subscriber at all), and
//! uses socketioxide's defaults for everything except two socket options our
//! server also sets: the listen backlog (8,192), so both face a 1,000-client
//! connect burst with the same kernel queue, and TCP_NODELAY.
//!
//! ```text
//! stock --bind 127.0.0.1:4000
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::serve::ListenerExt;
use serde::Serialize;
use shared::events::{ClientEventKind, ServerEventKind, NAMESPACE};
use socketioxide::extract::{AckSender, Data, Extension, SocketRef, State};
use socketioxide::SocketIo;
use tokio::net::TcpSocket;

/// `users[uuid] = name`, shared by every socket.
#[derive(Clone, Default)]
struct Users(Arc<Mutex<HashMap<String, String>>>);

/// The session id a socket was given, kept in its extensions.
#[derive(Clone)]
struct Uuid(String);

/// `connected`'s payload.
#[derive(Serialize)]
struct Connected<'a> {
    uuid: &'a str,
}

/// `identify`'s ack.
#[derive(Serialize)]
struct Ack<'a> {
    ok: bool,
    uuid: &'a str,
    username: &'a str,
}

async fn on_connect(socket: SocketRef) {
    let uuid = uuid::Uuid::now_v7().to_string();
    socket.extensions.insert(Uuid(uuid.clone()));
    socket.on(ClientEventKind::Identify.name(), on_identify);
    socket.on_disconnect(on_disconnect);
    let _ = socket.emit(
        ServerEventKind::Connected.name(),
        &Connected { uuid: &uuid },
    );
}

async fn on_identify(
    Data(name): Data<String>,
    ack: AckSender,
    State(users): State<Users>,
    Extension(Uuid(uuid)): Extension<Uuid>,
) {
    users
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(uuid.clone(), name.clone());
    let _ = ack.send(&Ack {
        ok: true,
        uuid: &uuid,
        username: &name,
    });
}

async fn on_disconnect(State(users): State<Users>, Extension(Uuid(uuid)): Extension<Uuid>) {
    users
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&uuid);
}

#[tokio::main]
async fn main() {
    let bind: SocketAddr = std::env::args()
        .skip_while(|a| a != "--bind")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4000".to_owned())
        .parse()
        .expect("--bind takes an address such as 127.0.0.1:4000");
    let (layer, io) = SocketIo::builder()
        .with_state(Users::default())
        .build_layer();
    io.ns(NAMESPACE, on_connect);
    let app = axum::Router::new().layer(layer);
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind(bind).expect("bind");
    // As axum's documentation suggests for latency-sensitive servers (ours does the same).
    let listener = socket.listen(8192).expect("listen").tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("stock socketioxide listening on {bind}");
    axum::serve(listener, app).await.expect("serve");
}
