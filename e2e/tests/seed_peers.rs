//! The page we replace, unchanged, against the seed-era backend itself
//! (Flask-SocketIO 4.3.2, `interop/seed_server.py`, serving the page), in
//! threading mode (long-polling only) and with eventlet (websocket): the
//! reference cells of the interop matrix for socket.io-client 1.4.4.
//!
//! Run by `cargo xtask interop`, which starts the peers and passes their
//! URLs (`ISS_PEER_SEED_THREADING`, `ISS_PEER_SEED_EVENTLET`).

use e2e::{env, eventually, seed, Browser};

/// The seed page sets `name`; the backend's `GET /users` lists it; the page
/// ends on `transport`.
async fn name_stored(base: &str, name: &'static str, transport: &'static str) {
    let browser = Browser::start().await;
    let page = browser
        .open_prepared(&format!("{base}/"), &seed::prepare(false))
        .await;
    let users_url = format!("{base}/users");
    let outcome = tokio::spawn(async move {
        seed::wait_connected(&page).await;
        page.set_name(name).await;
        let addr = users_url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .and_then(|a| a.parse().ok())
            .expect("a loopback address");
        eventually(&format!("{name} in GET /users"), || async {
            let body = e2e::server::get(addr, "/users").await?;
            let users: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| e.to_string())?;
            Ok(seed::usernames(&users)
                .iter()
                .any(|u| u == name)
                .then_some(()))
        })
        .await;
        seed::wait_transport(&page, transport).await;
    })
    .await;
    browser.stop().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

#[tokio::test]
async fn seed_page_against_seed_threading() {
    name_stored(&env("ISS_PEER_SEED_THREADING"), "Ada", "polling").await;
}

#[tokio::test]
async fn seed_page_against_seed_eventlet() {
    name_stored(&env("ISS_PEER_SEED_EVENTLET"), "Ada", "websocket").await;
}
