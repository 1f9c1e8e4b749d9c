//! `first_load`: benchmark S5's timing table (see `e2e::first_load`). Run by
//! `cargo xtask payload` and `cargo xtask bench`, which build the inputs:
//! `ISS_E2E_SERVER_BIN` (our server), `ISS_E2E_DIST` (our release page with
//! the original page in `seed/`, every file with its gzip and brotli twin),
//! `ISS_S5_LOADS` (cold loads per page and profile, default 10).
//!
//! Prints a Markdown table and the verdict on the targets: ours
//! ≤ 0.75× the original's time to `Connected` throttled, and not slower
//! unthrottled. Exits non-zero only when a load fails, not on a missed
//! target (a missed target stays in the table).

use std::sync::Arc;

use e2e::first_load::{self, Load, Profile, BETWEEN_LOADS, THROTTLED, UNTHROTTLED};
use e2e::{env, Browser, ServerProcess};

/// The two pages, by path on our server.
const PAGES: [(&str, &str); 2] = [
    ("ours", ""),
    (
        "original (AngularJS 1.4.8 + socket.io.js 1.4.4)",
        "seed/index.html",
    ),
];

#[tokio::main]
async fn main() {
    let loads: usize = std::env::var("ISS_S5_LOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let mut server = ServerProcess::start(&env("ISS_E2E_SERVER_BIN"), &env("ISS_E2E_DIST")).await;
    let browser = Arc::new(Browser::start().await);
    let url = server.url();
    let driving = Arc::clone(&browser);
    let outcome = tokio::spawn(async move {
        let mut rows = Vec::new();
        for profile in [THROTTLED, UNTHROTTLED] {
            rows.push((profile, measure(&driving, &url, &profile, loads).await));
        }
        rows
    })
    .await;
    // The task is over (or has unwound): its handle on the browser is gone,
    // so Chromium is stopped even when a load failed.
    if let Ok(browser) = Arc::try_unwrap(browser) {
        browser.stop().await;
    }
    server.kill().await;
    let rows = match outcome {
        Ok(rows) => rows,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    };
    print!("{}", table(&rows, loads));
}

/// `loads` cold loads of each page, alternating, so a drift of the machine
/// touches both pages alike.
async fn measure(browser: &Browser, url: &str, profile: &Profile, loads: usize) -> [Vec<Load>; 2] {
    let mut samples = [Vec::new(), Vec::new()];
    for _ in 0..loads {
        for (index, (_, path)) in PAGES.iter().enumerate() {
            let load = first_load::load_once(browser, &format!("{url}{path}"), profile).await;
            samples[index].push(load);
            tokio::time::sleep(BETWEEN_LOADS).await;
        }
    }
    samples
}

fn table(rows: &[(Profile, [Vec<Load>; 2])], loads: usize) -> String {
    let mut out = format!(
        "Cold loads in headless Chromium, median of {loads} each, ms from navigation start:\n\n\
         | profile | page | to `Connected` | form takes input | requests before `Connected` |\n\
         |---|---|---:|---:|---:|\n"
    );
    let mut verdicts = Vec::new();
    for (profile, samples) in rows {
        let medians: Vec<(f64, f64, f64)> = samples
            .iter()
            .map(|loads| {
                (
                    first_load::median(loads, |l| l.connected_ms),
                    first_load::median(loads, |l| l.form_ms),
                    first_load::median(loads, |l| f64::from(l.requests)),
                )
            })
            .collect();
        for ((page, _), (connected, form, requests)) in PAGES.iter().zip(&medians) {
            out += &format!(
                "| {} | {page} | {connected:.0} | {form:.0} | {requests:.0} |\n",
                profile.name
            );
        }
        let ratio = medians[0].0 / medians[1].0;
        let (limit, what) = if profile.network.is_some() {
            (0.75, "ours ≤ 0.75× the original")
        } else {
            (1.0, "ours not slower than the original")
        };
        let mark = if ratio <= limit { "✓" } else { "✗ missed" };
        verdicts.push(format!(
            "- {mark} {}: {what} to `Connected`: ours ÷ original = {ratio:.2}",
            profile.name
        ));
    }
    out + "\n" + &verdicts.join("\n") + "\n"
}
