//! `cargo xtask interop`: the interop matrix. Our client and two stock
//! Socket.IO clients against our server, and our client against the two
//! reference servers the app came from, each cell running the same scenario
//! (connect to `/iss`, `connected` with a session uuid, identify without and
//! with an ack, disconnect).
//!
//! 1. install the peers, at the versions pinned in `interop/`: a Python venv
//!    in `target/interop/venv` from `requirements.txt` (Flask-SocketIO 5.7,
//!    python-socketio 5) and `npm ci` in `interop/` (socket.io 4.8 and
//!    socket.io-client 4.8), each skipped when already in place;
//! 2. build `target/debug/server`;
//! 3. start the Flask-SocketIO peer, the node socket.io peer and our server
//!    on free loopback ports, each allowing exactly the browser test page's
//!    origin; each is stopped when its guard drops, whatever happens;
//! 4. run `interop/node_client.js` and `interop/py_client.py` against our
//!    server, then the wasm test `frontend/tests/interop.rs` (our client in
//!    headless Chromium) once against all three servers;
//! 5. stop the servers and print the matrix; fail if a required cell failed.
//!
//! Server logs go to `target/interop/logs/`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::proc::{cargo, describe, free_port, repo_root, stop};
use crate::setup;

const WASM: &str = "wasm32-unknown-unknown";

/// How long a server may take to listen after it was started.
const READY_WITHIN: Duration = Duration::from_secs(30);
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
/// npm packages whose installed versions the run prints.
const NODE_PACKAGES: &[&str] = &[
    "socket.io",
    "engine.io",
    "socket.io-client",
    "engine.io-client",
    "ws",
];

/// `cargo xtask interop [--help]`.
pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        None => matrix(),
        Some("-h" | "--help") => {
            println!("usage: cargo xtask interop\n\n{}", module_summary());
            Ok(())
        }
        Some(other) => Err(format!(
            "cargo xtask interop takes no arguments (got {other:?})"
        )),
    }
}

fn module_summary() -> &'static str {
    "Installs the pinned peers (Python venv in target/interop/venv, npm ci in interop/),\n\
     builds the server, starts Flask-SocketIO, node socket.io and our server on free\n\
     loopback ports, runs socket.io-client and python-socketio against our server and\n\
     our browser client (headless Chromium) against all three, then prints the matrix.\n"
}

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
    node_peers(&root)?;
    let versions = peer_versions(&root, &python);
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
    let node = Server::start(
        "node socket.io",
        Command::new("node")
            .arg(root.join("interop/node_server.js"))
            .args(["--port", &free_port()?.port().to_string()])
            .args(["--origin", &origin]),
        &logs.join("node.log"),
    )?;
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
    println!("xtask: ── interop: our client (headless Chromium) → all three servers");
    for (cell, outcome) in browser_cells(&root, page, &flask, &node, &ours) {
        cells.record(cell, outcome);
    }

    let stored =
        [&flask, &node].map(|server| format!("{}: GET /users → {}", server.name, server.users()));
    let mut servers = [flask, node, ours];
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

// ── peers ────────────────────────────────────────────────────────────────

/// The venv's python with `interop/requirements.txt` installed; `pip install`
/// runs only when the requirements changed since the last install.
pub(crate) fn python_peers(root: &Path) -> Result<PathBuf, String> {
    let requirements_path = root.join("interop/requirements.txt");
    let requirements = read(&requirements_path)?;
    let venv = root.join("target/interop/venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(".iss-requirements.txt");
    let python_runs = || {
        Command::new(&python)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python_runs() && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&requirements) {
        return Ok(python);
    }
    if !python_runs() {
        println!(
            "xtask: creating the Python venv {} (the Flask-SocketIO and python-socketio peers)",
            venv.display()
        );
        run_bounded(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            INSTALL_WITHIN,
            Echo::Plain,
        )
        .and_then(Finished::ok)
        .map_err(|e| {
            format!(
                "{e}\n(the interop peers need Python 3.9+ with venv: \
                 apt-get install python3 python3-venv)"
            )
        })?;
    }
    println!("xtask: pip install -r interop/requirements.txt (pinned peers, from PyPI)");
    run_bounded(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("-r")
            .arg(&requirements_path),
        INSTALL_WITHIN,
        Echo::Plain,
    )?
    .ok()?;
    std::fs::write(&stamp, &requirements)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

/// `npm ci` in `interop/` unless `node_modules` already holds exactly the
/// committed lockfile's packages (a stamp written after the last `npm ci`).
pub(crate) fn node_peers(root: &Path) -> Result<(), String> {
    let dir = root.join("interop");
    let lock = read(&dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules/.iss-package-lock.json");
    let installed = NODE_PACKAGES.iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .exists()
    });
    if installed && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&lock) {
        return Ok(());
    }
    println!("xtask: npm ci in interop/ (socket.io and socket.io-client, from the lockfile)");
    run_bounded(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        INSTALL_WITHIN,
        Echo::Plain,
    )
    .and_then(Finished::ok)
    .map_err(|e| format!("{e}\n(the node peers need Node.js 18+ with npm)"))?;
    std::fs::write(&stamp, &lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// One line per runtime with the peer packages actually installed.
fn peer_versions(root: &Path, python: &Path) -> Vec<String> {
    let script = format!(
        "import sys\nfrom importlib.metadata import version\n\
         print('Python', sys.version.split()[0] + ':', ', '.join(p + ' ' + version(p) for p in {PYTHON_PACKAGES:?}))"
    );
    let py = Command::new(python)
        .args(["-c", &script])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "Python peers: versions unknown".to_owned());
    let node_version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let packages: Vec<String> = NODE_PACKAGES
        .iter()
        .map(|p| {
            let file = root
                .join("interop/node_modules")
                .join(p)
                .join("package.json");
            let version = std::fs::read_to_string(file)
                .ok()
                .and_then(|json| json_string_field(&json, "version"))
                .unwrap_or_else(|| "?".to_owned());
            format!("{p} {version}")
        })
        .collect();
    vec![py, format!("node {node_version}: {}", packages.join(", "))]
}

/// A string field of a JSON text (a package.json), if it has one.
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

// ── servers ──────────────────────────────────────────────────────────────

/// A server of the matrix, stopped (SIGTERM, then kill) when dropped, even
/// when the run fails or panics.
pub(crate) struct Server {
    name: &'static str,
    addr: SocketAddr,
    log: PathBuf,
    child: Child,
}

impl Server {
    /// Starts `command` (which binds the address in its arguments) with its
    /// output in `log`, and waits until it listens.
    pub(crate) fn start(
        name: &'static str,
        command: &mut Command,
        log: &Path,
    ) -> Result<Server, String> {
        let addr = bound_address(command)
            .ok_or_else(|| format!("no --port/--bind in `{}`", describe(command)))?;
        let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} (`{}`): {e}", describe(command)))?;
        let mut server = Server {
            name,
            addr,
            log: log.to_owned(),
            child,
        };
        server.wait_ready()?;
        let ready = server
            .ready_line(Duration::from_secs(5))
            .map(|line| format!(": {line}"))
            .unwrap_or_default();
        println!("xtask: {name} on {}{ready}", server.url());
        Ok(server)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Polls until the port accepts connections; fails early if the process
    /// exited, and after [`READY_WITHIN`].
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before listening on {}; its log:\n{}",
                    self.name,
                    self.addr,
                    tail(&self.log, 30)
                ));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "{} did not listen on {} within {} s; its log:\n{}",
            self.name,
            self.addr,
            READY_WITHIN.as_secs(),
            tail(&self.log, 30)
        ))
    }

    /// The line where the server says it is up (peers: `… ready on …`, ours:
    /// `listening on …`), once it is in the log; `None` after `within`.
    fn ready_line(&self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let log = strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default());
            let line = log
                .lines()
                .find(|l| l.contains("ready on") || l.contains("listening on"));
            if let Some(line) = line {
                return Some(line.trim().to_owned());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a crash would: no goodbye to anyone.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `grace` for it to drain and exit.
    pub(crate) fn terminate(&mut self, grace: Duration) {
        stop(&mut self.child, grace);
    }

    /// The process id (for /proc: CPU time, peak memory).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn still_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What a peer stored (`GET /users`), for the report.
    fn users(&self) -> String {
        http_get(self.addr, "/users").unwrap_or_else(|e| format!("({e})"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(5));
    }
}

/// The address a server command will bind: `--bind ADDR` or `--port PORT`
/// (on 127.0.0.1).
fn bound_address(command: &Command) -> Option<SocketAddr> {
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    if let Some(bind) = value("--bind") {
        return bind.parse().ok();
    }
    let port: u16 = value("--port")?.parse().ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// A plain HTTP/1.0 GET on loopback with a 5 s deadline; the body.
fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let within = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, within).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(within))
        .and_then(|()| stream.set_write_timeout(Some(within)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    let status = head.split_whitespace().nth(1);
    if !head.starts_with("HTTP/1.") || status != Some("200") {
        return Err(head.lines().next().unwrap_or("").to_owned());
    }
    Ok(body.trim().to_owned())
}

// ── clients ──────────────────────────────────────────────────────────────

/// Runs a peer client's scenario; a failure lists the steps that failed.
fn peer_client(command: &mut Command) -> Outcome {
    let finished = match run_bounded(command, CLIENT_WITHIN, Echo::Indented) {
        Ok(finished) => finished,
        Err(e) => return Outcome::Failed(e),
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

/// Our client against the three servers: one run of the wasm test, one
/// cell per test.
fn browser_cells(
    root: &Path,
    page: SocketAddr,
    flask: &Server,
    node: &Server,
    ours: &Server,
) -> Vec<(Cell, Outcome)> {
    let wanted = [
        (Cell::OursFlask, "our_client_against_flask"),
        (Cell::OursNode, "our_client_against_node"),
        (Cell::OursOurs, "our_client_against_ours"),
    ];
    let finished = run_bounded(
        cargo()
            .args([
                "test", "-p", "frontend", "--target", WASM, "--test", "interop",
            ])
            // Print each test's step lines, not only a failed test's.
            .args(["--", "--nocapture"])
            .current_dir(root)
            .env("PATH", setup::tool_path())
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_ADDRESS", page.to_string())
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
            .env("ISS_PEER_FLASK", flask.url())
            .env("ISS_PEER_NODE", node.url())
            .env("ISS_PEER_OURS", ours.url()),
        BUILD_WITHIN,
        Echo::Indented,
    );
    let finished = match finished {
        Ok(finished) => finished,
        Err(e) => {
            return wanted
                .iter()
                .map(|(cell, _)| (*cell, Outcome::Failed(format!("the browser test: {e}"))))
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
fn test_results(lines: &[String]) -> BTreeMap<String, String> {
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
fn panic_message(lines: &[String], test: &str) -> Option<String> {
    let peer = match test {
        "our_client_against_flask" => "Flask-SocketIO",
        "our_client_against_node" => "node socket.io",
        _ => "our server",
    };
    let marker = format!("our client against {peer}: ");
    lines.iter().find_map(|l| {
        let at = l.find(&marker)?;
        Some(l[at + marker.len()..].trim().to_owned())
    })
}

// ── running commands with a deadline ────────────────────────────────────

#[derive(Clone, Copy)]
enum Echo {
    /// Output as it comes.
    Plain,
    /// Output indented under the step header.
    Indented,
}

/// A command that ran to its end.
struct Finished {
    command: String,
    status: ExitStatus,
    /// Its standard output, line by line.
    lines: Vec<String>,
}

impl Finished {
    fn ok(self) -> Result<(), String> {
        if self.status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({})", self.command, self.status))
        }
    }
}

/// Runs `command`, echoing and keeping its stdout (stderr is inherited),
/// and stops it with all its descendants if it outlives `within`.
fn run_bounded(command: &mut Command, within: Duration, echo: Echo) -> Result<Finished, String> {
    let name = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{name}`: {e}"))?;
    let (sender, receiver) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut lines = Vec::new();
    let mut keep = |line: String| {
        match echo {
            Echo::Plain => println!("{line}"),
            Echo::Indented => println!("    {line}"),
        }
        lines.push(line);
    };
    let deadline = Instant::now() + within;
    let status = loop {
        while let Ok(line) = receiver.try_recv() {
            keep(line);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for `{name}`: {e}")),
        }
        if Instant::now() >= deadline {
            stop_tree(&mut child);
            while let Ok(line) = receiver.try_recv() {
                keep(line);
            }
            return Err(format!(
                "`{name}` did not finish within {} s and was stopped",
                within.as_secs()
            ));
        }
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(50)) {
            keep(line);
        }
    };
    // The rest of its output (bounded: a leftover grandchild may hold the pipe).
    let drain_until = Instant::now() + Duration::from_secs(5);
    while let Some(left) = drain_until.checked_duration_since(Instant::now()) {
        match receiver.recv_timeout(left) {
            Ok(line) => keep(line),
            Err(_) => break,
        }
    }
    Ok(Finished {
        command: name,
        status,
        lines,
    })
}

/// Stops a child and every process it started (found through /proc, by
/// process id): SIGTERM to all, then SIGKILL to what is left after 5 s.
fn stop_tree(child: &mut Child) {
    let mut pids = descendants(child.id());
    pids.reverse();
    let signal = |sig: &str, pids: &[u32]| {
        if pids.is_empty() {
            return;
        }
        let _ = Command::new("kill")
            .arg(sig)
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM", &pids);
    stop(child, Duration::from_secs(5));
    let alive: Vec<u32> = pids
        .into_iter()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    signal("-KILL", &alive);
}

/// Every descendant of `pid`, parents first (Linux /proc).
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

// ── the matrix ───────────────────────────────────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    OursOurs,
    OursFlask,
    OursNode,
    NodeClientOurs,
    PyClientOurs,
}

impl Cell {
    fn label(self) -> &'static str {
        match self {
            Cell::OursOurs => "our client → our server",
            Cell::OursFlask => "our client → Flask-SocketIO",
            Cell::OursNode => "our client → node socket.io",
            Cell::NodeClientOurs => "socket.io-client 4.8 (node) → our server",
            Cell::PyClientOurs => "python-socketio client → our server",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Passed,
    Failed(String),
}

/// Every required cell's outcome; a cell never recorded counts as failed.
#[derive(Default)]
struct Cells(BTreeMap<Cell, Outcome>);

const REQUIRED: [Cell; 5] = [
    Cell::OursOurs,
    Cell::OursFlask,
    Cell::OursNode,
    Cell::NodeClientOurs,
    Cell::PyClientOurs,
];

impl Cells {
    fn record(&mut self, cell: Cell, outcome: Outcome) {
        self.0.insert(cell, outcome);
    }

    fn mark(&self, cell: Cell) -> &'static str {
        match self.0.get(&cell) {
            Some(Outcome::Passed) => "✓",
            _ => "✗",
        }
    }

    fn passed(&self) -> usize {
        REQUIRED
            .iter()
            .filter(|c| self.0.get(c) == Some(&Outcome::Passed))
            .count()
    }

    /// `label: why` for every required cell that did not pass.
    fn failures(&self) -> Vec<String> {
        REQUIRED
            .iter()
            .filter_map(|cell| match self.0.get(cell) {
                Some(Outcome::Passed) => None,
                Some(Outcome::Failed(why)) => Some(format!("{}: {why}", cell.label())),
                None => Some(format!("{}: did not run", cell.label())),
            })
            .collect()
    }

    fn table(&self) -> String {
        let m = |cell| self.mark(cell);
        format!(
            "| client ↓ / server → | our server | Flask-SocketIO | node socket.io |\n\
             |---|---|---|---|\n\
             | our client (in headless Chromium) | {} | {} | {} |\n\
             | socket.io-client 4.8 (node) | {} | (reference) | (reference) |\n\
             | python-socketio client | {} | (reference) | (reference) |\n",
            m(Cell::OursOurs),
            m(Cell::OursFlask),
            m(Cell::OursNode),
            m(Cell::NodeClientOurs),
            m(Cell::PyClientOurs),
        )
    }

    fn details(&self) -> Vec<String> {
        REQUIRED
            .iter()
            .map(|cell| match self.0.get(cell) {
                Some(Outcome::Passed) => format!("  ✓ {}", cell.label()),
                Some(Outcome::Failed(why)) => format!("  ✗ {}: {why}", cell.label()),
                None => format!("  ✗ {}: did not run", cell.label()),
            })
            .collect()
    }
}

// ── small helpers ────────────────────────────────────────────────────────

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The last `n` lines of a log file, indented, without terminal colours.
fn tail(path: &Path, n: usize) -> String {
    let text = strip_ansi(&std::fs::read_to_string(path).unwrap_or_default());
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
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
        assert_eq!(cells.passed(), 4);
        assert_eq!(
            cells.failures(),
            vec!["our client → our server: did not run"]
        );
        assert!(cells
            .table()
            .contains("| our client (in headless Chromium) | ✗ | ✓ | ✓ |"));
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
