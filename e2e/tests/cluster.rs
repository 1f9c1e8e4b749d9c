//! Shared mode in real Chromium: two people open the page through nginx,
//! land on different nodes, see each other join, wave at each other across
//! the nodes, and see each other leave.
//!
//! `cargo xtask test` starts the cluster (Redis, three nodes, nginx) and
//! gives its front door in `ISS_E2E_CLUSTER`.

use e2e::{env, eventually, Browser, Page};

/// The node that answers this page's requests (nginx names it in
/// `X-Iss-Node`; the page's cookie decides it, for its socket too).
async fn node_of(page: &Page) -> String {
    eventually("the page's node", || async {
        let value = page
            .client
            .execute(
                "return fetch('/healthz').then(r => r.headers.get('x-iss-node'))",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(value.as_str().map(str::to_owned))
    })
    .await
}

async fn wait_connected(page: &Page) {
    page.wait_text("[data-testid=status]", "status Connected", |t| {
        t == "Connected"
    })
    .await;
}

async fn two_people_on_two_nodes(browser: &Browser, front: &str) {
    let ada = browser.open(front).await;
    wait_connected(&ada).await;
    let ada_node = node_of(&ada).await;
    // Each new session has a fresh cookie, so a random node: try a few.
    let mut bob = None;
    for _ in 0..12 {
        let page = browser.open(front).await;
        if node_of(&page).await != ada_node {
            bob = Some(page);
            break;
        }
        page.close().await;
    }
    let bob = bob.expect("a second page on another node (12 tries)");
    wait_connected(&bob).await;
    println!("Ada on {ada_node}, Bob on {}", node_of(&bob).await);

    ada.set_name("Ada").await;
    bob.wait_online("Ada", true).await;
    bob.set_name("Bob").await;
    ada.wait_online("Bob", true).await;
    // No button by one's own name: only Bob's is there on Ada's page.
    ada.wave_at("Bob").await;
    bob.wait_text("[data-testid=waved]", "Ada's wave", |t| {
        t == "Ada waved at you 👋"
    })
    .await;
    ada.wait_text("[data-testid=wave-result]", "the wave's ack", |t| {
        t == "You waved at Bob."
    })
    .await;
    bob.wave_at("Ada").await;
    ada.wait_text("[data-testid=waved]", "Bob's wave", |t| {
        t == "Bob waved at you 👋"
    })
    .await;
    bob.close().await;
    ada.wait_online("Bob", false).await;
    ada.close().await;
}

#[tokio::test]
async fn two_pages_on_two_nodes_see_each_other() {
    let front = env("ISS_E2E_CLUSTER");
    let browser = std::sync::Arc::new(Browser::start().await);
    let run = {
        let browser = browser.clone();
        tokio::spawn(async move { two_people_on_two_nodes(&browser, &front).await })
    };
    let outcome = run.await;
    if let Ok(browser) = std::sync::Arc::try_unwrap(browser) {
        browser.stop().await;
    }
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}
