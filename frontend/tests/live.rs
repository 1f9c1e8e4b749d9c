//! Live tests: our browser client against the real server, in headless
//! Chromium. `cargo xtask test` starts the server on a free port and passes
//! its URL at compile time in `ISS_TEST_SERVER` (the browser cannot read the
//! runner's environment).

use std::time::Duration;

use app_client::Identify;
use app_client::{ConnectionState, Me};
use leptos::prelude::*;
use leptos::task::tick;
use shared::events::{ErrorCode, IdentifyAck, Refusal};
use shared::names::NameCode;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlInputElement};

use frontend::connection::{Connection, Options};
use frontend::App;

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    match option_env!("ISS_TEST_SERVER") {
        Some(url) => url,
        None => panic!("ISS_TEST_SERVER is unset: run the browser tests with `cargo xtask test`"),
    }
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

/// Polls `check` every 25 ms until it holds; fails after 10 s.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = now() + 10_000.0;
    while !check() {
        assert!(now() < deadline, "timed out waiting for {what}");
        gloo_timers::future::sleep(Duration::from_millis(25)).await;
        tick().await;
    }
}

fn connect() -> Connection {
    Connection::start(Options::to_server(server()))
}

#[wasm_bindgen_test]
async fn connects_and_gets_a_session() {
    let c = connect();
    eventually("connected", || {
        c.signals.state.get_untracked() == ConnectionState::Connected
    })
    .await;
    eventually("a session id", || {
        c.signals.session.get_untracked().is_some()
    })
    .await;
    let id = c.signals.session.get_untracked().unwrap();
    assert_eq!(id.0.len(), 36, "a uuid: {id}");
    c.close();
}

/// While waiting to reconnect, the browser's `online` event retries at once
/// instead of at the end of the backoff delay.
#[wasm_bindgen_test]
async fn going_back_online_retries_at_once() {
    // Nothing listens on port 1: every attempt fails and backs off.
    let c = Connection::start(Options::to_server("http://127.0.0.1:1"));
    eventually("reconnecting", || {
        matches!(
            c.signals.state.get_untracked(),
            ConnectionState::Reconnecting { .. }
        )
    })
    .await;
    let ConnectionState::Reconnecting {
        attempt,
        retry_at_ms,
        ..
    } = c.signals.state.get_untracked()
    else {
        unreachable!()
    };
    let online = web_sys::Event::new("online").unwrap();
    web_sys::window().unwrap().dispatch_event(&online).unwrap();
    tick().await;
    let early = (now() as u64) < retry_at_ms;
    let state = c.signals.state.get_untracked();
    let retried = match state {
        ConnectionState::Connecting { .. } => true,
        // The retry may already have failed again: a later attempt.
        ConnectionState::Reconnecting { attempt: later, .. } => later > attempt,
        _ => false,
    };
    assert!(
        retried || !early,
        "still {state:?} before the retry was due at {retry_at_ms}"
    );
    c.close();
}

#[wasm_bindgen_test]
async fn typing_a_name_and_pressing_enter_shows_you_are() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let connection = connect();
    let signals = connection.signals;
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <App connection=connection.clone()/> },
    )
    .forget();
    tick().await;
    eventually("connected", || {
        signals.state.get_untracked() == ConnectionState::Connected
    })
    .await;

    let input: HtmlInputElement = root
        .query_selector("#name")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value("Ada Live");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    let enter =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    input.dispatch_event(&enter).unwrap();

    let me = || {
        root.query_selector("[data-testid=me]")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap_or_default()
    };
    eventually("You are Ada Live", || me() == "You are Ada Live").await;
    assert_eq!(
        signals.me.get_untracked(),
        Me::Identified {
            name: "Ada Live".into()
        }
    );
    // Our own presence list shows us too.
    let id = signals.session.get_untracked().unwrap();
    eventually("ourselves in presence", || {
        signals
            .presence
            .with_untracked(|p| p.name_of(&id) == Some("Ada Live"))
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_second_client_sees_presence_join_and_leave() {
    let ada = connect();
    let watcher = connect();
    eventually("both connected", || {
        ada.signals.session.get_untracked().is_some()
            && watcher.signals.session.get_untracked().is_some()
    })
    .await;
    ada.set_name("Ada Presence".into());
    let id = ada.signals.session.get_untracked().unwrap();
    eventually("Ada in the watcher's list", || {
        watcher
            .signals
            .presence
            .with_untracked(|p| p.name_of(&id) == Some("Ada Presence"))
    })
    .await;
    ada.close();
    eventually("Ada gone from the watcher's list", || {
        watcher
            .signals
            .presence
            .with_untracked(|p| p.name_of(&id).is_none())
    })
    .await;
    assert!(matches!(
        ada.signals.state.get_untracked(),
        ConnectionState::Offline { .. }
    ));
    watcher.close();
}

#[wasm_bindgen_test]
async fn an_invalid_name_sent_raw_gets_the_server_error() {
    let c = connect();
    eventually("connected", || {
        c.signals.state.get_untracked() == ConnectionState::Connected
    })
    .await;
    for (raw, code) in [
        ("", ErrorCode::Name(NameCode::Empty)),
        ("\u{202E}evil", ErrorCode::Name(NameCode::BidiOverride)),
    ] {
        let reply = c
            .request(Identify { name: raw.into() }, Duration::from_secs(5))
            .await;
        match reply {
            Ok(IdentifyAck::Err(Refusal { code: got, message })) => {
                assert_eq!(got, code, "{raw:?}");
                assert!(!message.is_empty());
            }
            other => panic!("{raw:?} -> {other:?}"),
        }
    }
    c.close();
}

/// A request refused on the spot reports the session's reason (here the
/// offline buffer is full: nothing listens on port 9), not "closed".
#[wasm_bindgen_test]
async fn a_refused_request_says_why() {
    let c = Connection::start(Options::to_server("http://127.0.0.1:9"));
    for _ in 0..app_client::DEFAULT_BUFFER_LIMIT {
        c.emit(shared::events::ClientEvent::Identify { name: "Ada".into() })
            .expect("buffered while offline");
    }
    let reply = c
        .request(Identify { name: "Ada".into() }, Duration::from_secs(5))
        .await;
    assert_eq!(
        reply,
        Err(app_client::AckError::NotSent(
            app_client::EmitError::BufferFull {
                limit: app_client::DEFAULT_BUFFER_LIMIT
            }
        ))
    );
    c.close();
}
