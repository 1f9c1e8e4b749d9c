//! The one server guard of the tooling: a server process (ours or a peer)
//! with its output in a log file, ready once it listens, stopped when
//! dropped. The browser tests, the interop matrix, the fault tests and the
//! benchmark all start their servers through it.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc::{describe, stop};

/// How long a server may take to listen after it was started.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A server process, stopped (SIGTERM, then kill) when dropped, even when
/// the run fails or panics.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    /// How its URL starts: `http` for web servers, `redis` for Redis.
    scheme: &'static str,
    addr: SocketAddr,
    pub(crate) log: PathBuf,
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
        Server::start_at(name, addr, command, log)
    }

    /// [`Server::start`] for a command whose address is not in its
    /// arguments (nginx: in its configuration file).
    pub(crate) fn start_at(
        name: &'static str,
        addr: SocketAddr,
        command: &mut Command,
        log: &Path,
    ) -> Result<Server, String> {
        Server::start_speaking("http", name, addr, command, log)
    }

    /// [`Server::start_at`] for a server that does not speak HTTP (Redis),
    /// so that its URL says what it speaks.
    pub(crate) fn start_speaking(
        scheme: &'static str,
        name: &'static str,
        addr: SocketAddr,
        command: &mut Command,
        log: &Path,
    ) -> Result<Server, String> {
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
            scheme,
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

    pub(crate) fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Polls until the port accepts connections; fails early if the process
    /// exited, and after [`READY_WITHIN`].
    pub(crate) fn wait_ready(&mut self) -> Result<(), String> {
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
    pub(crate) fn ready_line(&self, within: Duration) -> Option<String> {
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

    pub(crate) fn still_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What a peer stored (`GET /users`), for the report.
    pub(crate) fn users(&self) -> String {
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
pub(crate) fn bound_address(command: &Command) -> Option<SocketAddr> {
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

/// A GET on loopback with a 5 s deadline; the body of a 200, trimmed.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        // Loopback: never through a proxy from the environment.
        .proxy(None)
        .build()
        .into();
    let mut response = agent
        .get(format!("http://{addr}{path}"))
        .call()
        .map_err(|e| e.to_string())?;
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(body.trim().to_owned())
}

/// The last `n` lines of a log file, indented, without terminal colours.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let text = strip_ansi(&std::fs::read_to_string(path).unwrap_or_default());
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
pub(crate) fn strip_ansi(text: &str) -> String {
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
