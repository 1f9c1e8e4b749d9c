//! The page we replace, unchanged (AngularJS 1.4.8, socket.io-client 1.4.4,
//! the seed's controller: `interop/seed_page/index.html`), against our
//! server in real Chromium, beside our own page: the first step of a
//! migration that swaps the backend first. Over polling → websocket, and
//! over polling only (websockets refused, as by a proxy); with a non-ASCII
//! and an ASCII name, which our page shows as typed.
//!
//! Run by `cargo xtask interop` (part of `cargo xtask test`), which passes
//! the release page (`ISS_E2E_DIST`), the server (`ISS_E2E_SERVER_BIN`) and
//! the original page's folder (`ISS_E2E_SEED_PAGE`, its scripts from the
//! pinned npm packages).

use std::path::{Path, PathBuf};

use e2e::{env, seed, Browser, ServerProcess};

/// Our release page with the seed page beside it in `seed/`.
fn dist_with_seed_page() -> PathBuf {
    let dir = seed::temp_dir("seed-dist");
    copy_dir(Path::new(&env("ISS_E2E_DIST")), &dir);
    copy_dir(Path::new(&env("ISS_E2E_SEED_PAGE")), &dir.join("seed"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The seed page sets "Zoë" then "Ada", our page shows each; it ends on
/// `transport`; when it closes, our page sees it leave.
async fn names_arrive(refuse_websockets: bool, transport: &'static str) {
    let dist = dist_with_seed_page();
    // A short heartbeat: over polling, a closed tab is noticed only when its
    // pings stop (pingInterval + pingTimeout: 45 s by default, with any
    // Socket.IO server); the test waits 20 s at most.
    let heartbeat = ["--ping-interval-ms", "2000", "--ping-timeout-ms", "3000"];
    let mut server = ServerProcess::start_with(
        &env("ISS_E2E_SERVER_BIN"),
        &dist.display().to_string(),
        &heartbeat,
    )
    .await;
    let browser = Browser::start().await;
    let url = server.url();
    let ours = browser.open(&url).await;
    let old = browser
        .open_prepared(
            &format!("{url}seed/index.html"),
            &seed::prepare(refuse_websockets),
        )
        .await;
    let outcome = tokio::spawn(async move {
        seed::wait_connected(&old).await;
        for name in ["Zoë", "Ada"] {
            old.set_name(name).await;
            ours.wait_online(name, true).await;
        }
        seed::wait_transport(&old, transport).await;
        old.client
            .close_window()
            .await
            .expect("close the seed page");
        ours.wait_online("Ada", false).await;
    })
    .await;
    browser.stop().await;
    server.kill().await;
    let _ = std::fs::remove_dir_all(&dist);
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

#[tokio::test]
async fn seed_page_over_polling_then_websocket() {
    names_arrive(false, "websocket").await;
}

/// The transport is read after both names went through (several round
/// trips): by then an upgrade that was not refused has happened (the test
/// above sees it).
#[tokio::test]
async fn seed_page_over_polling_only_when_websockets_are_refused() {
    names_arrive(true, "polling").await;
}
