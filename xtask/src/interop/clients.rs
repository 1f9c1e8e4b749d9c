//! Running the peer clients and the browser cells, and reading their results.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use duct::Expression;

use super::cells::{Cell, Outcome};
use super::{Servers, BUILD_WITHIN, CLIENT_WITHIN, WASM};
use crate::process::{cargo, run_bounded, Server};
use crate::setup;

/// Runs a peer client's scenario; a failure lists the steps that failed.
pub(super) fn peer_client(command: &Expression) -> Outcome {
    let finished = match run_bounded(command, CLIENT_WITHIN, "    ") {
        Ok(finished) => finished,
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    if finished.status.success() {
        return Outcome::Passed;
    }
    let failed: Vec<String> = finished
        .lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("✗ "))
        .map(str::to_owned)
        .collect();
    Outcome::Failed(if failed.is_empty() {
        format!("exited with {}", finished.status)
    } else {
        failed.join("; ")
    })
}

/// Our client against the servers: one run of the wasm test, one cell per
/// test.
pub(super) fn browser_cells(
    root: &Path,
    page: SocketAddr,
    servers: &Servers,
) -> Vec<(Cell, Outcome)> {
    let wanted = [
        (Cell::OursFlask, "our_client_against_flask"),
        (Cell::OursNode, "our_client_against_node"),
        (Cell::OursOurs, "our_client_against_ours"),
        (
            Cell::OursOursPolling,
            "our_client_over_polling_against_ours",
        ),
        (
            Cell::OursFlaskPolling,
            "our_client_against_flask_without_websocket",
        ),
        (Cell::OursSeedThreading, "our_client_against_seed_threading"),
        (Cell::OursSeedEventlet, "our_client_against_seed_eventlet"),
    ];
    // `--nocapture`: print each test's step lines, not only a failed test's.
    let test = format!("test -p frontend --target {WASM} --test interop -- --nocapture");
    let command = cargo(test.split(' '))
        .dir(root)
        .env("PATH", setup::tool_path())
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_ADDRESS", page.to_string())
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .env("ISS_PEER_FLASK", servers.flask.url())
        .env("ISS_PEER_FLASK_POLLING", servers.flask_polling.url())
        .env("ISS_PEER_NODE", servers.node.url())
        .env("ISS_PEER_OURS", servers.ours.url())
        .env("ISS_PEER_SEED_THREADING", servers.seed_threading.url())
        .env("ISS_PEER_SEED_EVENTLET", servers.seed_eventlet.url());
    test_cells(&command, &wanted)
}

/// Runs a browser test command; one cell per test: passed, failed (with the
/// failed step when the output names it), or did not run.
fn test_cells(command: &Expression, wanted: &[(Cell, &str)]) -> Vec<(Cell, Outcome)> {
    let finished = match run_bounded(command, BUILD_WITHIN, "    ") {
        Ok(finished) => finished,
        Err(e) => {
            return wanted
                .iter()
                .map(|(cell, _)| (*cell, Outcome::Failed(format!("the browser test: {e:#}"))))
                .collect()
        }
    };
    let results = test_results(&finished.lines);
    wanted
        .iter()
        .map(|(cell, test)| {
            let outcome = match results.get(*test).map(String::as_str) {
                Some("ok") => Outcome::Passed,
                Some(verdict) => Outcome::Failed(
                    panic_message(&finished.lines, test)
                        .unwrap_or_else(|| format!("{test} … {verdict} (see the output above)")),
                ),
                None => Outcome::Failed(format!(
                    "{test} did not run ({}; see the output above)",
                    finished.status
                )),
            };
            (*cell, outcome)
        })
        .collect()
}

/// `test interop::name ... ok` / `... FAIL` lines → name → verdict.
pub(super) fn test_results(lines: &[String]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("test ")?;
            let (name, verdict) = rest.split_once(" ... ")?;
            let name = name.rsplit("::").next()?.trim();
            let verdict = verdict.split_whitespace().next()?;
            Some((name.to_owned(), verdict.to_owned()))
        })
        .collect()
}

/// The `step "…" failed: …` panic of a test, when the output has it.
pub(super) fn panic_message(lines: &[String], test: &str) -> Option<String> {
    let peer = match test {
        "our_client_against_flask" | "our_client_against_flask_without_websocket" => {
            "Flask-SocketIO"
        }
        "our_client_against_node" => "node socket.io",
        "our_client_against_seed_threading" | "our_client_against_seed_eventlet" => {
            "the seed backend"
        }
        _ => "our server",
    };
    let marker = format!("our client against {peer}: ");
    lines.iter().find_map(|l| {
        let at = l.find(&marker)?;
        Some(l[at + marker.len()..].trim().to_owned())
    })
}

/// The original page in Chromium (the e2e crate's `seed_page` and
/// `seed_peers` tests): against our server (started by the test itself,
/// beside our release page `dist`) and against the seed backend.
pub(super) fn seed_page_cells(
    root: &Path,
    dist: &Path,
    (threading, eventlet): (&Server, &Server),
) -> Vec<(Cell, Outcome)> {
    let wanted = [
        (Cell::SeedPageOurs, "seed_page_over_polling_then_websocket"),
        (
            Cell::SeedPageOursPolling,
            "seed_page_over_polling_only_when_websockets_are_refused",
        ),
        (
            Cell::SeedPageSeedThreading,
            "seed_page_against_seed_threading",
        ),
        (
            Cell::SeedPageSeedEventlet,
            "seed_page_against_seed_eventlet",
        ),
    ];
    // `--no-fail-fast`: both test files run even when the first fails.
    let test = "test -p e2e --no-fail-fast --test seed_page --test seed_peers -- --test-threads=1";
    let command = cargo(test.split(' '))
        .dir(root)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("ISS_E2E_DIST", dist)
        .env("ISS_E2E_SERVER_BIN", root.join("target/debug/server"))
        .env("ISS_E2E_SEED_PAGE", root.join("target/interop/seed-page"))
        .env("ISS_PEER_SEED_THREADING", threading.url())
        .env("ISS_PEER_SEED_EVENTLET", eventlet.url());
    test_cells(&command, &wanted)
}
