//! What a person sees, in real Chromium, on the release page served by the
//! real server process — and what the server holds (`/api/stats`).
//!
//! Run by `cargo xtask test` (one at a time: `--test-threads=1`).

use std::future::Future;
use std::sync::Arc;

use e2e::{env, eventually, Browser, Page, ServerProcess};
use fantoccini::Locator;
use shared::stats::StatsView;
use tokio::sync::Mutex;

/// One test's world: a server process, a chromedriver, the pages it opened.
struct World {
    server: Mutex<ServerProcess>,
    browser: Browser,
    pages: Mutex<Vec<Page>>,
    url: String,
}

impl World {
    async fn open(&self) -> Page {
        let page = self.browser.open(&self.url).await;
        self.pages.lock().await.push(page.clone());
        page
    }

    async fn stats(&self) -> StatsView {
        self.server.lock().await.stats().await
    }
}

/// Runs `body`, then closes every session, stops chromedriver, Chromium and
/// the server — also when `body` panics — and only then reports the panic.
async fn scenario<F, Fut>(body: F)
where
    F: FnOnce(Arc<World>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = ServerProcess::start(&env("ISS_E2E_SERVER_BIN"), &env("ISS_E2E_DIST")).await;
    let world = Arc::new(World {
        url: server.url(),
        server: Mutex::new(server),
        browser: Browser::start().await,
        pages: Mutex::new(Vec::new()),
    });
    let outcome = tokio::spawn(body(world.clone())).await;
    let world = Arc::try_unwrap(world).unwrap_or_else(|_| panic!("the scenario kept the world"));
    for page in world.pages.into_inner() {
        page.close().await;
    }
    world.browser.stop().await;
    world.server.into_inner().kill().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn wait_connected(page: &Page) {
    page.wait_text("[data-testid=status]", "status Connected", |t| {
        t == "Connected"
    })
    .await;
}

async fn wait_me(page: &Page, expected: &str) {
    let what = format!("\"{expected}\"");
    page.wait_text("[data-testid=me]", &what, |t| t == expected)
        .await;
}

/// Ada has set her name; a second person sees her online.
async fn ada_and_a_watcher(w: &World) -> (Page, Page) {
    let ada = w.open().await;
    wait_connected(&ada).await;
    ada.set_name("Ada").await;
    wait_me(&ada, "You are Ada").await;
    let watcher = w.open().await;
    watcher.wait_online("Ada", true).await;
    (ada, watcher)
}

/// SIGKILLs the server and waits until `page` says it is reconnecting.
async fn kill_and_see_reconnecting(w: &World, page: &Page) {
    w.server.lock().await.kill().await;
    page.wait_text("[data-testid=status]", "Reconnecting…", |t| {
        t.starts_with("Reconnecting")
    })
    .await;
}

#[tokio::test]
async fn s1_connect_type_a_name_press_enter() {
    scenario(|w| async move {
        let page = w.open().await;
        wait_connected(&page).await;
        page.set_name("Ada").await;
        wait_me(&page, "You are Ada").await;
        assert_eq!(w.stats().await.identified, 1);
    })
    .await;
}

#[tokio::test]
async fn s2_second_session_sees_ada_and_sees_her_leave() {
    scenario(|w| async move {
        let ada = w.open().await;
        wait_connected(&ada).await;
        ada.set_name("Ada").await;
        wait_me(&ada, "You are Ada").await;

        let grace = w.open().await;
        grace.wait_online("Ada", true).await;
        grace.set_name("Grace").await;
        wait_me(&grace, "You are Grace").await;
        ada.wait_online("Grace", true).await;
        grace
            .wait_text("[data-testid=online-count]", "2 online", |t| t == "2")
            .await;
        if let Ok(path) = std::env::var("ISS_E2E_SCREENSHOT") {
            // No caret in the picture: move focus away first.
            grace
                .client
                .execute(
                    "document.activeElement && document.activeElement.blur()",
                    vec![],
                )
                .await
                .expect("blur");
            let png = grace.client.screenshot().await.expect("screenshot");
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {path}: {e}"));
        }

        ada.client.close_window().await.expect("close Ada's window");
        grace.wait_online("Ada", false).await;
        eventually("the server to forget Ada", || async {
            Ok((w.stats().await.identified == 1).then_some(()))
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn s3_server_killed_and_restarted_everyone_comes_back() {
    scenario(|w| async move {
        let (ada, watcher) = ada_and_a_watcher(&w).await;
        kill_and_see_reconnecting(&w, &ada).await;
        // While the server is gone the watcher shows nobody, not a stale list.
        watcher.wait_online("Ada", false).await;
        w.server.lock().await.restart().await;

        wait_connected(&ada).await;
        wait_me(&ada, "You are Ada").await;
        watcher.wait_online("Ada", true).await;
        wait_connected(&watcher).await;
        assert_eq!(
            w.stats().await.identified,
            1,
            "Ada, identified again by herself"
        );
        eventually("both sessions back on the new server", || async {
            Ok((w.stats().await.connected == 2).then_some(()))
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn s4_reload_keeps_the_name() {
    scenario(|w| async move {
        let page = w.open().await;
        wait_connected(&page).await;
        page.set_name("Ada").await;
        wait_me(&page, "You are Ada").await;
        page.client.refresh().await.expect("reload");
        wait_connected(&page).await;
        wait_me(&page, "You are Ada").await;
        let field = page.client.find(Locator::Css("#name")).await.unwrap();
        assert_eq!(field.prop("value").await.unwrap().as_deref(), Some("Ada"));
        eventually("one identified session after the reload", || async {
            Ok((w.stats().await.identified == 1 && w.stats().await.connected == 1).then_some(()))
        })
        .await;
        // The same session came back, by its resume token (sessionStorage).
        assert_eq!(w.stats().await.resumed, 1, "the reload resumed the session");
    })
    .await;
}

#[tokio::test]
async fn s5_invalid_name_sends_nothing_and_html_is_text() {
    scenario(|w| async move {
        let page = w.open().await;
        wait_connected(&page).await;
        page.type_name(&"x".repeat(33)).await;
        page.wait_text("[data-testid=problem]", "the length rule", |t| {
            t == "Names can be at most 32 characters long (this one has 33)."
        })
        .await;
        let button = page.client.find(Locator::Css("button")).await.unwrap();
        assert!(
            button.attr("disabled").await.unwrap().is_some(),
            "submit is disabled"
        );
        // Enter does nothing either.
        let field = page.client.find(Locator::Css("#name")).await.unwrap();
        field.send_keys("\u{E007}").await.unwrap();
        page.type_name(" ").await;
        page.wait_text("[data-testid=problem]", "the empty rule", |t| {
            t == "Please enter a name."
        })
        .await;
        field.send_keys("\u{E007}").await.unwrap();
        assert_eq!(
            w.stats().await.identify_events,
            0,
            "the server saw no identify"
        );

        let html = "<img src=x onerror=alert(1)>";
        page.set_name(html).await;
        wait_me(&page, &format!("You are {html}")).await;
        page.wait_online(html, true).await;
        let images = page.client.find_all(Locator::Css("img")).await.unwrap();
        assert!(images.is_empty(), "the name became markup");
    })
    .await;
}

#[tokio::test]
async fn s6_a_name_set_while_the_server_is_down_arrives_when_it_is_back() {
    scenario(|w| async move {
        let (ada, watcher) = ada_and_a_watcher(&w).await;
        kill_and_see_reconnecting(&w, &ada).await;
        ada.set_name("Grace").await;
        w.server.lock().await.restart().await;

        watcher.wait_online("Grace", true).await;
        wait_me(&ada, "You are Grace").await;
        let names = watcher.online_names().await.unwrap();
        assert!(!names.contains(&"Ada".to_owned()), "{names:?}");
    })
    .await;
}

#[tokio::test]
async fn s7_thirty_seconds_without_a_server_then_everyone_is_back() {
    scenario(|w| async move {
        let (ada, watcher) = ada_and_a_watcher(&w).await;
        kill_and_see_reconnecting(&w, &ada).await;
        // A long outage: the page keeps retrying (backoff capped at 5 s).
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        ada.wait_text("[data-testid=status]", "still reconnecting", |t| {
            t.starts_with("Reconnecting")
        })
        .await;
        w.server.lock().await.restart().await;
        wait_connected(&ada).await;
        wait_me(&ada, "You are Ada").await;
        watcher.wait_online("Ada", true).await;
        eventually("both sessions back after the outage", || async {
            Ok((w.stats().await.connected == 2 && w.stats().await.identified == 1).then_some(()))
        })
        .await;
    })
    .await;
}

/// What the page loads, as the browser saw it: the wasm as `application/wasm`
/// and compressed (so the browser compiles it while it streams), every other
/// file compressed too, and no request that fails (no `/favicon.ico` 404).
#[tokio::test]
async fn s8_the_page_loads_compressed_and_nothing_fails() {
    scenario(|w| async move {
        let page = w.open().await;
        wait_connected(&page).await;
        // Ours only (the log also has the browser's own pages).
        let responses: Vec<_> = page
            .network_responses()
            .await
            .into_iter()
            .filter(|r| r.url.starts_with(&w.url))
            .collect();
        let wasm = responses
            .iter()
            .find(|r| r.url.ends_with(".wasm"))
            .unwrap_or_else(|| panic!("no wasm among {responses:?}"));
        assert_eq!(wasm.mime_type, "application/wasm", "{wasm:?}");
        for file in responses.iter().filter(|r| {
            [".wasm", ".js", ".css"]
                .iter()
                .any(|end| r.url.ends_with(end))
        }) {
            assert!(
                matches!(file.encoding.as_deref(), Some("br" | "gzip")),
                "served uncompressed: {file:?}"
            );
        }
        let failed: Vec<_> = responses.iter().filter(|r| r.status >= 400).collect();
        assert!(failed.is_empty(), "failed requests: {failed:?}");
    })
    .await;
}
