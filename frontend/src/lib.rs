//! The page: components, the connection that feeds them, and the browser
//! websocket shell under it. `main.rs` only calls [`mount`].
//!
//! ```text
//!  App ── Status, NameForm, WaveNotice, OnlineList  (components: signals in, callbacks out)
//!   │
//!  Connection (signals, identity, localStorage)
//!   │  typed outputs
//!  sio_client::web::Client (one websocket, one timer)
//!   │  frames + clock
//!  app_client::Session (sans IO, typed) ── sio_client::Session
//! ```

pub mod browser;
pub mod components;
pub mod connection;
pub mod names;

use leptos::prelude::*;

use components::{NameForm, OnlineList, Status, WaveNotice};
use connection::{Connection, Options};

/// Mounts the application on `<body>`, connected to the page's own server.
pub fn mount() {
    leptos::mount::mount_to_body(
        || view! { <App connection=Connection::start(Options::from_location())/> },
    );
}

/// The whole page, around one connection.
#[component]
pub fn App(connection: Connection) -> impl IntoView {
    let signals = connection.signals;
    let initial = browser::remembered_name().unwrap_or_default();
    // The connection is not Send; keep it in local arena storage for the callback.
    let connection = StoredValue::new_local(connection);
    let on_submit = Callback::new(move |name: String| connection.with_value(|c| c.set_name(name)));
    let on_wave = Callback::new(move |(to, name)| connection.with_value(|c| c.wave(to, name)));
    view! {
        <main>
            <header>
                <h1>"Who is online"</h1>
                <Status state=signals.state/>
            </header>
            <NameForm me=signals.me on_submit=on_submit initial=initial/>
            <WaveNotice waved=signals.waved result=signals.wave_result/>
            <OnlineList presence=signals.presence me=signals.session on_wave=on_wave/>
        </main>
    }
}
