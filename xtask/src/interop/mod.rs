//! `cargo xtask interop`: the interop matrix. Our client and two stock
//! Socket.IO clients against our server, and our client against the two
//! reference servers the app came from, each cell running the same scenario
//! (connect to `/iss`, `connected` with a session uuid, identify without and
//! with an ack, disconnect).
//!
//! 1. install the peers, at the versions pinned in `interop/`: a Python venv
//!    in `target/interop/venv` from `requirements.txt` (Flask-SocketIO 5.7,
//!    python-socketio 5), another in `target/interop/venv-seed` from
//!    `requirements-seed.txt` (the seed backend: Flask-SocketIO 4.3.2,
//!    eventlet), and `npm ci` in `interop/` (socket.io 4.8, socket.io-client
//!    4.8, 2.5 and 1.4.4, AngularJS 1.4.8), each skipped when in place;
//! 2. build `target/debug/server` and the release page;
//! 3. start the Flask-SocketIO peer, the node socket.io peer, the seed
//!    backend in threading and in eventlet mode (serving the original page)
//!    and our server on free loopback ports; each is stopped when its guard
//!    drops, whatever happens;
//! 4. run `interop/node_client.js` (4.8 and 2.5) and `interop/py_client.py`,
//!    the wasm test `frontend/tests/interop.rs` (our client in headless
//!    Chromium) against every server, and the original page in
//!    Chromium (`e2e/tests/seed_page.rs` against ours, `seed_peers.rs`
//!    against the seed backend);
//! 5. stop the servers and print the matrix; fail if a required cell failed.
//!
//! Server logs go to `target/interop/logs/`.

mod bounded;
mod cells;
mod clients;
mod helpers;
mod peers;

use bounded::*;
use cells::*;
use clients::*;
use helpers::*;
#[cfg(test)]
use peers::json_string_field;
use peers::*;
pub(crate) use peers::{install_seed_page, node_peers, python_peers};

#[cfg(test)]
use crate::server::{bound_address, strip_ansi};
use crate::server::{tail, Server};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::proc::{cargo, describe, free_port, repo_root, stop};
use crate::setup;

const WASM: &str = "wasm32-unknown-unknown";

/// A peer client's whole scenario (each of its steps has 10 s).
const CLIENT_WITHIN: Duration = Duration::from_secs(90);
/// `pip install` or `npm ci`.
const INSTALL_WITHIN: Duration = Duration::from_secs(15 * 60);
/// Building the server, or building and running the wasm test.
const BUILD_WITHIN: Duration = Duration::from_secs(30 * 60);

/// Python packages whose installed versions the run prints.
const PYTHON_PACKAGES: &[&str] = &[
    "Flask-SocketIO",
    "python-socketio",
    "python-engineio",
    "simple-websocket",
    "Flask",
    "Werkzeug",
    "websocket-client",
];
/// The seed backend's packages whose installed versions the run prints.
const SEED_PACKAGES: &[&str] = &[
    "Flask-SocketIO",
    "python-socketio",
    "python-engineio",
    "eventlet",
    "Flask",
    "Werkzeug",
];
/// npm packages whose installed versions the run prints (the `-v1`/`-v2`
/// folders are npm aliases of older socket.io-client releases).
const NODE_PACKAGES: &[&str] = &[
    "socket.io",
    "engine.io",
    "socket.io-client",
    "engine.io-client",
    "ws",
    "socket.io-client-v2",
    "socket.io-client-v1",
    "angular",
];

/// `cargo xtask interop`: the whole matrix.
pub fn run() -> Result<(), String> {
    matrix()
}

/// What `cargo xtask interop --help` says.
pub(crate) const ABOUT: &str =
    "Installs the pinned peers (Python venvs in target/interop/, npm ci in interop/), \
     builds the server and the page, starts Flask-SocketIO 5.7, node socket.io 4.8, the \
     seed backend (Flask-SocketIO 4.3.2, threading and eventlet) and our server on free \
     loopback ports, runs socket.io-client 4.8 and 2.5 and python-socketio, our browser \
     client and the original page (socket.io-client 1.4.4, headless Chromium) against \
     them, then prints the matrix.";

/// The whole matrix; `Err` names every required cell that failed. Callable
/// from `cargo xtask test`.
pub fn matrix() -> Result<(), String> {
    let started = Instant::now();
    let root = repo_root();
    println!("xtask: ── interop: peers");
    setup::wasm_target()?;
    setup::wasm_bindgen_cli()?;
    setup::chromium()?;
    let python = python_peers(&root)?;
    let seed_python = seed_python(&root)?;
    node_peers(&root)?;
    let seed_page = install_seed_page(&root)?;
    let versions = peer_versions(&root, &python, &seed_python);
    for line in &versions {
        println!("xtask:   {line}");
    }

    println!("xtask: ── interop: cargo build -p server");
    run_bounded(
        cargo().args(["build", "-p", "server"]).current_dir(&root),
        BUILD_WITHIN,
        Echo::Plain,
    )?
    .ok()?;
    // The original page's cells against our server run beside our release page.
    let dist = crate::toolchain::build_frontend_release()?;

    let logs = root.join("target/interop/logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let page = free_port()?;
    let origin = format!("http://{page}");
    println!("xtask: ── interop: servers (test page origin {origin})");
    let flask = Server::start(
        "Flask-SocketIO",
        Command::new(&python)
            .arg(root.join("interop/flask_server.py"))
            .args(["--port", &free_port()?.port().to_string()])
            .args(["--origin", &origin])
            .env("PYTHONUNBUFFERED", "1"),
        &logs.join("flask.log"),
    )?;
    let flask_polling = Server::start(
        "Flask-SocketIO, no websocket",
        Command::new(&python)
            .arg(root.join("interop/flask_server.py"))
            .args(["--port", &free_port()?.port().to_string()])
            .args(["--origin", &origin, "--polling-only"])
            .env("PYTHONUNBUFFERED", "1"),
        &logs.join("flask-polling.log"),
    )?;
    let node = Server::start(
        "node socket.io",
        Command::new("node")
            .arg(root.join("interop/node_server.js"))
            .args(["--port", &free_port()?.port().to_string()])
            .args(["--origin", &origin]),
        &logs.join("node.log"),
    )?;
    let seed_server = |name: &'static str, mode: &str| -> Result<Server, String> {
        Server::start(
            name,
            Command::new(&seed_python)
                .arg(root.join("interop/seed_server.py"))
                .args(["--port", &free_port()?.port().to_string()])
                .args(["--origin", &origin])
                .args(["--mode", mode])
                .arg("--page")
                .arg(&seed_page)
                .env("PYTHONUNBUFFERED", "1"),
            &logs.join(format!("seed-{mode}.log")),
        )
    };
    let seed_threading = seed_server("seed backend, threading", "threading")?;
    let seed_eventlet = seed_server("seed backend, eventlet", "eventlet")?;
    let ours = Server::start(
        "our server",
        Command::new(root.join("target/debug/server"))
            .args(["--bind", &free_port()?.to_string()])
            .args(["--allowed-origin", &origin])
            .args(["--log", "info"]),
        &logs.join("ours.log"),
    )?;

    let mut cells = Cells::default();
    println!("xtask: ── interop: socket.io-client 4.8 (node) → our server");
    cells.record(
        Cell::NodeClientOurs,
        peer_client(
            Command::new("node")
                .arg(root.join("interop/node_client.js"))
                .args(["--url", &ours.url()]),
        ),
    );
    println!("xtask: ── interop: python-socketio client → our server");
    cells.record(
        Cell::PyClientOurs,
        peer_client(
            Command::new(&python)
                .arg(root.join("interop/py_client.py"))
                .args(["--url", &ours.url()])
                .env("PYTHONUNBUFFERED", "1"),
        ),
    );
    for (cell, server, transports, peer) in [
        (Cell::NodeV2Ours, &ours, "polling,websocket", "ours"),
        (Cell::NodeV2OursPolling, &ours, "polling", "ours"),
        (
            Cell::NodeV2SeedThreading,
            &seed_threading,
            "polling,websocket",
            "seed",
        ),
        (
            Cell::NodeV2SeedEventlet,
            &seed_eventlet,
            "polling,websocket",
            "seed",
        ),
    ] {
        println!("xtask: ── interop: {}", cell.label());
        cells.record(
            cell,
            peer_client(
                Command::new("node")
                    .arg(root.join("interop/node_client.js"))
                    .args(["--url", &server.url()])
                    .args(["--client", "2", "--name", "Zoë 2.x"])
                    .args(["--transports", transports, "--peer", peer])
                    .args(["--expect-transport", cell.transport()]),
            ),
        );
    }
    println!("xtask: ── interop: our client (headless Chromium) → every server");
    let peers = BrowserPeers {
        flask: &flask,
        flask_polling: &flask_polling,
        node: &node,
        ours: &ours,
        seed_threading: &seed_threading,
        seed_eventlet: &seed_eventlet,
    };
    for (cell, outcome) in browser_cells(&root, page, &peers) {
        cells.record(cell, outcome);
    }
    println!("xtask: ── interop: the original page (headless Chromium) → our server and the seed");
    for (cell, outcome) in seed_page_cells(&root, &dist, &seed_threading, &seed_eventlet) {
        cells.record(cell, outcome);
    }

    let stored = [
        &flask,
        &flask_polling,
        &node,
        &seed_threading,
        &seed_eventlet,
    ]
    .map(|server| format!("{}: GET /users → {}", server.name, server.users()));
    let mut servers = [
        flask,
        flask_polling,
        node,
        ours,
        seed_threading,
        seed_eventlet,
    ];
    let failed_servers: Vec<String> = servers
        .iter_mut()
        .filter_map(|s| (!s.still_running()).then(|| format!("{} exited during the run", s.name)))
        .collect();
    let log_tails: Vec<(String, String)> = servers
        .iter()
        .map(|s| (s.name.to_owned(), tail(&s.log, 15)))
        .collect();
    drop(servers);

    println!();
    println!("xtask: ── interop matrix");
    for line in &versions {
        println!("  {line}");
    }
    println!();
    print!("{}", cells.table());
    println!();
    for line in cells.details() {
        println!("{line}");
    }
    for line in stored {
        println!("  {line}");
    }
    for line in &failed_servers {
        println!("  ✗ {line}");
    }
    let failures = cells.failures();
    if !failures.is_empty() || !failed_servers.is_empty() {
        for (name, log) in log_tails {
            println!("\n  last lines of the {name} log:\n{log}");
        }
    }
    println!(
        "\nxtask: interop took {:.1} s (server logs in {})",
        started.elapsed().as_secs_f64(),
        logs.display()
    );
    if failures.is_empty() && failed_servers.is_empty() {
        println!("interop: {} passed, 0 failed", cells.passed());
        Ok(())
    } else {
        println!(
            "interop: {} passed, {} failed",
            cells.passed(),
            failures.len()
        );
        Err(format!(
            "interop cells failed:\n  {}",
            failures
                .into_iter()
                .chain(failed_servers)
                .collect::<Vec<_>>()
                .join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wasm_bindgen_test_results() {
        let lines: Vec<String> = [
            "running 3 tests",
            "test interop::our_client_against_flask ... ok",
            "test our_client_against_node ... FAIL",
            "test interop::our_client_against_ours ... ok (1.2s)",
            "test result: FAILED. 2 passed; 1 failed; 0 ignored",
        ]
        .map(String::from)
        .to_vec();
        let results = test_results(&lines);
        assert_eq!(results["our_client_against_flask"], "ok");
        assert_eq!(results["our_client_against_node"], "FAIL");
        assert_eq!(results["our_client_against_ours"], "ok");
        assert_eq!(results.len(), 3);
    }

    #[test]
    fn finds_the_failed_step() {
        let lines = vec![
            "panicked at frontend/tests/interop.rs:80:5:".to_owned(),
            "our client against node socket.io: step \"connect to /iss\" failed: timed out"
                .to_owned(),
        ];
        assert_eq!(
            panic_message(&lines, "our_client_against_node").as_deref(),
            Some("step \"connect to /iss\" failed: timed out")
        );
        assert_eq!(panic_message(&lines, "our_client_against_flask"), None);
    }

    #[test]
    fn a_cell_that_never_ran_fails() {
        let mut cells = Cells::default();
        for cell in REQUIRED.into_iter().skip(1) {
            cells.record(cell, Outcome::Passed);
        }
        assert_eq!(cells.passed(), REQUIRED.len() - 1);
        assert_eq!(
            cells.failures(),
            vec!["our client → our server: did not run"]
        );
        assert!(cells.table().contains(
            "| our client (in headless Chromium) | ✗ ws, ✓ polling only | ✓ ws, ✓ polling"
        ));
    }

    #[test]
    fn finds_the_bound_address() {
        let mut ours = Command::new("server");
        ours.args(["--bind", "127.0.0.1:4100", "--log", "info"]);
        assert_eq!(
            bound_address(&ours),
            Some("127.0.0.1:4100".parse().unwrap())
        );
        let mut peer = Command::new("node");
        peer.args([
            "peer.js",
            "--port",
            "4200",
            "--origin",
            "http://127.0.0.1:1",
        ]);
        assert_eq!(
            bound_address(&peer),
            Some("127.0.0.1:4200".parse().unwrap())
        );
    }

    #[test]
    fn strips_terminal_colours() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
            "2026  INFO x"
        );
    }

    #[test]
    fn reads_a_package_version() {
        let json = "{\n  \"name\": \"socket.io\",\n  \"version\": \"4.8.4\",\n  \"x\": 1\n}";
        assert_eq!(json_string_field(json, "version").as_deref(), Some("4.8.4"));
        assert_eq!(json_string_field(json, "missing"), None);
    }
}
