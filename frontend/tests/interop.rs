//! Interop: our browser client (`frontend::connection`) in headless Chromium
//! against each Socket.IO server of the matrix — the original app's stack on
//! Flask-SocketIO 5.7, node socket.io 4.8, our own server (over websocket and
//! over long-polling only), and the seed backend of 2016 (Flask-SocketIO
//! 4.3.2: Engine.IO 3, in threading mode and with eventlet).
//!
//! `cargo xtask interop` starts the servers on free loopback ports and
//! passes their URLs at compile time (the browser cannot read the runner's
//! environment) in `ISS_PEER_FLASK`, `ISS_PEER_FLASK_POLLING` (the same
//! without a websocket), `ISS_PEER_NODE`, `ISS_PEER_OURS`,
//! `ISS_PEER_SEED_THREADING` and `ISS_PEER_SEED_EVENTLET`. A test whose URL
//! is missing fails: an interop cell never passes unseen.
//!
//! Each test runs the cell's scenario, one step at a time, and a failure
//! names the step: connect to `/iss`; get `connected` with a session uuid;
//! `identify` without an ack, and see the server stored it; `identify` with
//! an ack and check the reply; close.
//!
//! "Stored" is checked the way each server allows: the peers serve
//! `GET /users` (with CORS for the test page's origin), our server shows the
//! name in a second client's `presence`. The seed backend's `connected`
//! carries no uuid (its name is looked up among all users) and its identify
//! acks with nothing, which our typed layer must report as an unreadable
//! reply, not a timeout.

use std::future::Future;
use std::time::Duration;

use app_client::Identify;
use app_client::{AckError, ConnectionState};
use futures::future::{select, Either};
use shared::events::{ClientEvent, IdentifyAck, IdentifyOk};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

use frontend::connection::{Connection, Options};
use leptos::prelude::*;
use sio_client::link::Transports;

wasm_bindgen_test_configure!(run_in_browser);

/// Every wait of a step ends after this long.
const STEP_TIMEOUT_MS: f64 = 10_000.0;

/// The name sent without an ack, then (plus " 2") with one.
const NAME: &str = "Browser Interop";

/// How the test checks that the server stored a name sent without an ack.
#[derive(Clone, Copy)]
enum Stored {
    /// `GET {server}/users` → `{"<uuid>": {"username": ..}}` (the peers).
    UsersEndpoint,
    /// A second connection's presence list shows the name (our server).
    Presence,
    /// `GET {server}/users` lists the name under some uuid (the seed backend).
    SeedUsers,
}

#[wasm_bindgen_test]
async fn our_client_against_flask() {
    let url = peer(
        "ISS_PEER_FLASK",
        option_env!("ISS_PEER_FLASK"),
        "Flask-SocketIO",
    );
    scenario(
        "Flask-SocketIO",
        url,
        Stored::UsersEndpoint,
        Transports::Any,
        "websocket",
    )
    .await;
}

/// Flask-SocketIO 5.7 as it runs without simple-websocket: no websocket at
/// all, none offered. The websocket first fails, polling carries on.
#[wasm_bindgen_test]
async fn our_client_against_flask_without_websocket() {
    let url = peer(
        "ISS_PEER_FLASK_POLLING",
        option_env!("ISS_PEER_FLASK_POLLING"),
        "Flask-SocketIO without a websocket",
    );
    scenario(
        "Flask-SocketIO",
        url,
        Stored::UsersEndpoint,
        Transports::Any,
        "polling",
    )
    .await;
}

#[wasm_bindgen_test]
async fn our_client_against_node() {
    let url = peer(
        "ISS_PEER_NODE",
        option_env!("ISS_PEER_NODE"),
        "node socket.io",
    );
    scenario(
        "node socket.io",
        url,
        Stored::UsersEndpoint,
        Transports::Any,
        "websocket",
    )
    .await;
}

#[wasm_bindgen_test]
async fn our_client_against_ours() {
    let url = peer("ISS_PEER_OURS", option_env!("ISS_PEER_OURS"), "our server");
    scenario(
        "our server",
        url,
        Stored::Presence,
        Transports::Any,
        "websocket",
    )
    .await;
}

#[wasm_bindgen_test]
async fn our_client_over_polling_against_ours() {
    let url = peer("ISS_PEER_OURS", option_env!("ISS_PEER_OURS"), "our server");
    scenario(
        "our server",
        url,
        Stored::Presence,
        Transports::PollingOnly,
        "polling",
    )
    .await;
}

#[wasm_bindgen_test]
async fn our_client_against_seed_threading() {
    let url = peer(
        "ISS_PEER_SEED_THREADING",
        option_env!("ISS_PEER_SEED_THREADING"),
        "seed backend",
    );
    // Threading mode has no websocket: polling, found to be Engine.IO 3.
    scenario(
        "the seed backend",
        url,
        Stored::SeedUsers,
        Transports::Any,
        "polling",
    )
    .await;
}

#[wasm_bindgen_test]
async fn our_client_against_seed_eventlet() {
    let url = peer(
        "ISS_PEER_SEED_EVENTLET",
        option_env!("ISS_PEER_SEED_EVENTLET"),
        "seed backend",
    );
    // A websocket from the start, found to be Engine.IO 3 by the unasked `/`.
    scenario(
        "the seed backend",
        url,
        Stored::SeedUsers,
        Transports::Any,
        "websocket",
    )
    .await;
}

/// The peer's URL, or a failure that says how to provide it.
fn peer(var: &str, value: Option<&'static str>, what: &str) -> &'static str {
    match value {
        Some(url) if !url.is_empty() => url,
        _ => panic!(
            "{var} is unset at compile time, so there is no {what} to test against: \
             run the interop tests with `cargo xtask interop`"
        ),
    }
}

/// One matrix cell: our client against the server at `base`.
async fn scenario(peer: &str, base: &str, stored: Stored, transports: Transports, transport: &str) {
    console_log!("our client → {peer} at {base} ({transports:?})");
    let name = match stored {
        // Non-ASCII over the seed's long-polling (which 1.4.4 garbles).
        Stored::SeedUsers => "Zoë Interop",
        _ => NAME,
    };
    let c = Connection::start(Options {
        transports,
        ..Options::to_server(base)
    });
    let signals = c.signals;
    let welcomed = std::rc::Rc::new(std::cell::Cell::new(false));
    let seen = welcomed.clone();
    c.on_event(move |event| {
        if matches!(event, shared::events::ServerEvent::Connected(_)) {
            seen.set(true);
        }
        // The state when the event arrives shows the server's order: Flask
        // (by default) emits `connected` before the namespace CONNECT ack.
        console_log!(
            "    event {event:?} (connection state then: {:?})",
            signals.state.get_untracked()
        );
    });

    let what = "connect to /iss";
    until(|| c.signals.state.get_untracked() == ConnectionState::Connected)
        .await
        .unwrap_or_else(|e| {
            fail(
                peer,
                what,
                &format!("{e}; state {:?}", c.signals.state.get_untracked()),
            )
        });
    passed(what, "");

    let what = "`connected` with a session id";
    let session = if let Stored::SeedUsers = stored {
        until(|| welcomed.get())
            .await
            .unwrap_or_else(|e| fail(peer, what, &e));
        passed(what, "the seed's `connected` has no payload");
        None
    } else {
        until(|| c.signals.session.get_untracked().is_some())
            .await
            .unwrap_or_else(|e| fail(peer, what, &e));
        let session = c.signals.session.get_untracked().unwrap();
        if !is_uuid(&session.0) {
            fail(peer, what, &format!("{:?} is not a uuid", session.0));
        }
        passed(what, &session.0);
        Some(session)
    };

    let what = "identify without ack";
    if let Err(err) = c.emit(ClientEvent::Identify { name: name.into() }) {
        fail(peer, what, &err.to_string());
    }
    passed(what, &format!("{name:?} sent"));

    let what = "server stored it";
    let watcher = match stored {
        Stored::SeedUsers => {
            let users = wait_users(peer, what, base, |users| {
                users
                    .as_object()
                    .is_some_and(|all| all.values().any(|u| u["username"] == name))
            })
            .await;
            passed(what, &format!("GET /users lists {name:?} ({users})"));
            None
        }
        Stored::UsersEndpoint => {
            let session = session.as_ref().expect("a session id");
            let users = wait_users(peer, what, base, |users| {
                users[&session.0]["username"] == NAME
            })
            .await;
            passed(what, &format!("GET /users shows {}", users[&session.0]));
            None
        }
        Stored::Presence => {
            let session = session.as_ref().expect("a session id");
            let watcher = Connection::start(Options::to_server(base));
            until(|| {
                watcher
                    .signals
                    .presence
                    .with_untracked(|p| p.name_of(session) == Some(NAME))
            })
            .await
            .unwrap_or_else(|e| fail(peer, what, &format!("a second client's presence: {e}")));
            passed(what, &format!("a second client's presence shows {NAME:?}"));
            Some(watcher)
        }
    };

    // The upgrade to a websocket runs beside the steps above (probe, pause
    // the polling, `5`), so a slow peer may still be on polling here: wait
    // for the expected transport, and fail if it never comes.
    let what = "the transport";
    let asked = now();
    match until(|| c.transport() == Some(transport)).await {
        Ok(()) => passed(
            what,
            &format!("{transport} (after {:.0} ms)", now() - asked),
        ),
        Err(e) => fail(
            peer,
            what,
            &format!("expected {transport}, still on {:?}: {e}", c.transport()),
        ),
    }

    let what = "identify with ack";
    let acked = format!("{name} 2");
    let reply = c
        .request(
            Identify {
                name: acked.clone(),
            },
            Duration::from_millis(STEP_TIMEOUT_MS as u64),
        )
        .await;
    match (reply, &session) {
        (Err(AckError::BadReply(why)), None) => {
            passed(what, &format!("the seed acks with nothing: {why}"));
        }
        (Ok(IdentifyAck::Ok(IdentifyOk { uuid, username })), Some(session)) => {
            if uuid != *session || username != acked {
                fail(
                    peer,
                    what,
                    &format!(
                        "expected uuid {session} and username {acked:?}, \
                         got uuid {uuid} and username {username:?}"
                    ),
                );
            }
            passed(what, &format!("ok, uuid {uuid}, username {username:?}"));
        }
        (other, _) => fail(peer, what, &format!("{other:?}")),
    }

    let what = "disconnect cleanly";
    c.close();
    until(|| {
        matches!(
            c.signals.state.get_untracked(),
            ConnectionState::Offline { .. }
        )
    })
    .await
    .unwrap_or_else(|e| fail(peer, what, &e));
    let state = format!("{:?}", c.signals.state.get_untracked());
    match (watcher, &session) {
        (Some(watcher), Some(session)) => {
            until(|| {
                watcher
                    .signals
                    .presence
                    .with_untracked(|p| p.name_of(session).is_none())
            })
            .await
            .unwrap_or_else(|e| {
                fail(
                    peer,
                    what,
                    &format!("the second client never saw us leave: {e}"),
                )
            });
            watcher.close();
            passed(what, &format!("{state}; the second client saw us leave"));
        }
        _ => passed(what, &state),
    }
}

/// Polls the peer's `GET /users` until `check` holds; returns what it listed.
async fn wait_users(
    peer: &str,
    what: &str,
    base: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let users_url = format!("{}/users", base.trim_end_matches('/'));
    let deadline = now() + STEP_TIMEOUT_MS;
    loop {
        let users = within(fetch_json(&users_url))
            .await
            .unwrap_or_else(|e| fail(peer, what, &format!("GET {users_url}: {e}")));
        if check(&users) {
            return users;
        }
        if now() > deadline {
            fail(peer, what, &format!("GET /users never showed it: {users}"));
        }
        pause().await;
    }
}

fn passed(step: &str, detail: &str) {
    if detail.is_empty() {
        console_log!("  ✓ {step}");
    } else {
        console_log!("  ✓ {step}: {detail}");
    }
}

fn fail(peer: &str, step: &str, why: &str) -> ! {
    panic!("our client against {peer}: step \"{step}\" failed: {why}")
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

async fn pause() {
    gloo_timers::future::sleep(Duration::from_millis(25)).await;
}

/// Polls `check` every 25 ms until it holds; an error after the step timeout.
async fn until(check: impl Fn() -> bool) -> Result<(), String> {
    let deadline = now() + STEP_TIMEOUT_MS;
    while !check() {
        if now() >= deadline {
            return Err(format!("timed out after {STEP_TIMEOUT_MS} ms"));
        }
        pause().await;
    }
    Ok(())
}

/// `future`'s result, or an error once the step timeout has passed.
async fn within<T>(future: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    let timer = gloo_timers::future::sleep(Duration::from_millis(STEP_TIMEOUT_MS as u64));
    match select(Box::pin(future), Box::pin(timer)).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!("no answer within {STEP_TIMEOUT_MS} ms")),
    }
}

/// `fetch(url)` → parsed JSON, through the global `fetch` (no extra web-sys
/// features needed).
async fn fetch_json(url: &str) -> Result<serde_json::Value, String> {
    let global = js_sys::global();
    let fetch: js_sys::Function = js_sys::Reflect::get(&global, &"fetch".into())
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "no global fetch".to_owned())?;
    let response = JsFuture::from(promise(fetch.call1(&global, &url.into()))?)
        .await
        .map_err(js_error)?;
    let status = js_sys::Reflect::get(&response, &"status".into()).map_err(js_error)?;
    if status.as_f64() != Some(200.0) {
        return Err(format!("HTTP status {status:?}"));
    }
    let json: js_sys::Function = js_sys::Reflect::get(&response, &"json".into())
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "a response without json()".to_owned())?;
    let value = JsFuture::from(promise(json.call0(&response))?)
        .await
        .map_err(js_error)?;
    let text = js_sys::JSON::stringify(&value)
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))
}

fn promise(value: Result<JsValue, JsValue>) -> Result<js_sys::Promise, String> {
    value
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "not a promise".to_owned())
}

fn js_error(value: JsValue) -> String {
    js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .filter(|s| s != "{}")
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}
