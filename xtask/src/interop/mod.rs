//! `cargo xtask interop`: the interop matrix (see [`ABOUT`]). Our client and
//! the stock Socket.IO clients against our server, and our client against
//! the reference servers the app came from, each cell running the same
//! scenario (connect to `/iss`, `connected` with a session uuid, identify
//! without and with an ack, disconnect). The clients are
//! `interop/node_client.js`, `interop/py_client.py`, the wasm test
//! `frontend/tests/interop.rs` and the e2e tests `seed_page` and
//! `seed_peers`; server logs go to `target/interop/logs/`.

mod cells;
mod clients;
mod peers;

pub use peers::{flask_server, install_seed_page, node_peers, node_server, python_peers};

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::process::{cargo, create_dir, free_port, repo_root, run_bounded, script, tail, Server};
use crate::setup;
use cells::{Cell, Cells};

const WASM: &str = "wasm32-unknown-unknown";

/// A peer client's whole scenario (each of its steps has 10 s).
const CLIENT_WITHIN: Duration = Duration::from_secs(90);
/// Building the server, or building and running the wasm test.
const BUILD_WITHIN: Duration = Duration::from_secs(30 * 60);

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
pub fn matrix() -> Result<()> {
    let started = Instant::now();
    let root = repo_root();
    let peers = install_peers(&root)?;
    println!("xtask: ── interop: cargo build -p server");
    let build = cargo(["build", "-p", "server"]).dir(&root);
    run_bounded(&build, BUILD_WITHIN, "")?.ok()?;
    // The original page's cells against our server run beside our release page.
    let dist = crate::toolchain::build_frontend_release()?;
    let logs = root.join("target/interop/logs");
    create_dir(&logs)?;
    let page = free_port()?;
    let servers = Servers::start(&root, &peers, &logs, &format!("http://{page}"))?;
    let mut cells = Cells::default();
    peer_client_cells(&root, &peers.python, &servers, &mut cells);
    println!("xtask: ── interop: our client (headless Chromium) → every server");
    for (cell, outcome) in clients::browser_cells(&root, page, &servers) {
        cells.record(cell, outcome);
    }
    println!("xtask: ── interop: the original page (headless Chromium) → our server and the seed");
    let seed_servers = (&servers.seed_threading, &servers.seed_eventlet);
    for (cell, outcome) in clients::seed_page_cells(&root, &dist, seed_servers) {
        cells.record(cell, outcome);
    }
    print_matrix(&peers.versions, &cells);
    let exited = servers.stop(!cells.failures().is_empty());
    let (secs, logs) = (started.elapsed().as_secs_f64(), logs.display());
    println!("\nxtask: interop took {secs:.1} s (server logs in {logs})");
    verdict(&cells, exited)
}

struct Peers {
    python: PathBuf,
    seed_python: PathBuf,
    seed_page: PathBuf,
    /// One line per runtime with the packages installed.
    versions: Vec<String>,
}

fn install_peers(root: &Path) -> Result<Peers> {
    println!("xtask: ── interop: peers");
    setup::wasm_target()?;
    setup::wasm_bindgen_cli()?;
    setup::chromium()?;
    let python = python_peers(root)?;
    let seed_python = peers::seed_python(root)?;
    node_peers(root)?;
    let seed_page = install_seed_page(root)?;
    let versions = peers::peer_versions(root, &python, &seed_python);
    for line in &versions {
        println!("xtask:   {line}");
    }
    Ok(Peers {
        python,
        seed_python,
        seed_page,
        versions,
    })
}

const OURS: &str = "our server";

pub struct Servers {
    pub flask: Server,
    pub flask_polling: Server,
    pub node: Server,
    pub seed_threading: Server,
    pub seed_eventlet: Server,
    pub ours: Server,
}

impl Servers {
    /// Starts them all, allowing the test page's `origin`.
    fn start(root: &Path, peers: &Peers, logs: &Path, origin: &str) -> Result<Servers> {
        println!("xtask: ── interop: servers (test page origin {origin})");
        let flask = |name, polling_only: bool, log: &str| {
            peer(name, logs.join(log), |port| {
                peers::flask_server(&peers.python, root, port, origin, polling_only)
            })
        };
        let seed = |name, mode: &str| {
            peer(name, logs.join(format!("seed-{mode}.log")), |port| {
                let flags = format!("--port {port} --origin {origin} --mode {mode} --page");
                let script = root.join("interop/seed_server.py");
                let flags = flags.split(' ').map(OsStr::new);
                let args = [script.as_os_str()].into_iter().chain(flags);
                let args = args.chain([peers.seed_page.as_os_str()]);
                duct::cmd(&peers.seed_python, args).env("PYTHONUNBUFFERED", "1")
            })
        };
        let ours_addr = free_port()?;
        let flags = format!("--bind {ours_addr} --allowed-origin {origin} --log info");
        let ours = duct::cmd(root.join("target/debug/server"), flags.split(' '));
        Ok(Servers {
            flask: flask("Flask-SocketIO", false, "flask.log")?,
            flask_polling: flask("Flask-SocketIO, no websocket", true, "flask-polling.log")?,
            node: peer("node socket.io", logs.join("node.log"), |port| {
                peers::node_server(root, port, origin)
            })?,
            seed_threading: seed("seed backend, threading", "threading")?,
            seed_eventlet: seed("seed backend, eventlet", "eventlet")?,
            ours: Server::start(OURS, ours_addr, &ours, &logs.join("ours.log"))?,
        })
    }

    /// Stops them all; prints what every peer stored, which server exited
    /// during the run and, if anything failed, the end of every log. Returns
    /// `NAME exited during the run` for each that did.
    fn stop(self, failed: bool) -> Vec<String> {
        let all = [
            self.flask,
            self.flask_polling,
            self.node,
            self.ours,
            self.seed_threading,
            self.seed_eventlet,
        ];
        for s in all.iter().filter(|s| s.name != OURS) {
            println!("  {}: GET /users → {}", s.name, s.users());
        }
        let exited: Vec<String> = all
            .iter()
            .filter(|s| !s.still_running())
            .map(|s| format!("{} exited during the run", s.name))
            .collect();
        for line in &exited {
            println!("  ✗ {line}");
        }
        let tails: Vec<(&str, String)> = all.iter().map(|s| (s.name, tail(&s.log, 15))).collect();
        drop(all);
        if failed || !exited.is_empty() {
            for (name, log) in tails {
                println!("\n  last lines of the {name} log:\n{log}");
            }
        }
        exited
    }
}

/// A peer server whose command takes `--port PORT` (given to `command`).
fn peer(
    name: &'static str,
    log: PathBuf,
    command: impl FnOnce(u16) -> duct::Expression,
) -> Result<Server> {
    let addr = free_port()?;
    Server::start(name, addr, &command(addr.port()), &log)
}

/// The stock clients (node 4.8 and 2.5, python-socketio) against our server
/// and, for 2.5, the seed backend.
fn peer_client_cells(root: &Path, python: &Path, servers: &Servers, cells: &mut Cells) {
    let node_client = root.join("interop/node_client.js");
    println!("xtask: ── interop: socket.io-client 4.8 (node) → our server");
    let url = format!("--url {}", servers.ours.url());
    let node = script("node", &node_client, &url);
    cells.record(Cell::NodeClientOurs, clients::peer_client(&node));
    println!("xtask: ── interop: python-socketio client → our server");
    let py = script(python, &root.join("interop/py_client.py"), &url);
    let py = py.env("PYTHONUNBUFFERED", "1");
    cells.record(Cell::PyClientOurs, clients::peer_client(&py));
    let both = "polling,websocket";
    for (cell, server, transports, peer) in [
        (Cell::NodeV2Ours, &servers.ours, both, "ours"),
        (Cell::NodeV2OursPolling, &servers.ours, "polling", "ours"),
        (
            Cell::NodeV2SeedThreading,
            &servers.seed_threading,
            both,
            "seed",
        ),
        (
            Cell::NodeV2SeedEventlet,
            &servers.seed_eventlet,
            both,
            "seed",
        ),
    ] {
        println!("xtask: ── interop: {}", cell.label());
        let flags = format!(
            "--url {} --client 2 --transports {transports} --peer {peer} --expect-transport {}",
            server.url(),
            cell.transport()
        );
        let name = ["--name", "Zoë 2.x"].map(OsStr::new);
        let args = [node_client.as_os_str()].into_iter().chain(name);
        let v2 = duct::cmd("node", args.chain(flags.split(' ').map(OsStr::new)));
        cells.record(cell, clients::peer_client(&v2));
    }
}

fn print_matrix(versions: &[String], cells: &Cells) {
    println!();
    println!("xtask: ── interop matrix");
    for line in versions {
        println!("  {line}");
    }
    println!();
    print!("{}", cells.table());
    println!();
    for line in cells.details() {
        println!("{line}");
    }
}

/// The closing line; `Err` names every failed cell and exited server.
fn verdict(cells: &Cells, exited: Vec<String>) -> Result<()> {
    let (passed, failures) = (cells.passed(), cells.failures());
    println!("interop: {passed} passed, {} failed", failures.len());
    if failures.is_empty() && exited.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = failures.into_iter().chain(exited).collect();
    anyhow::bail!("interop cells failed:\n  {}", all.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::cells::{Cells, Outcome, REQUIRED};
    use super::clients::{panic_message, test_results};
    use super::peers::json_string_field;

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
    fn reads_a_package_version() {
        let json = "{\n  \"name\": \"socket.io\",\n  \"version\": \"4.8.4\",\n  \"x\": 1\n}";
        assert_eq!(json_string_field(json, "version").as_deref(), Some("4.8.4"));
        assert_eq!(json_string_field(json, "missing"), None);
    }
}
