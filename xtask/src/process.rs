//! Processes, for every xtask command: where the repository is, cargo, and
//! [`Process`], the one guard of a long-lived child (a server, a peer, a
//! test run with a deadline): started in a process group of its own, stopped
//! with everything it started when dropped, on error, panic or Ctrl-C.
//! [`Server`] is a [`Process`] that listens on an address.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use duct::{Expression, Handle, IntoExecutablePath};

const READY_WITHIN: Duration = Duration::from_secs(30);

/// The workspace root: the parent of the xtask crate, found from
/// `CARGO_MANIFEST_DIR` (set by `cargo run` at run time, and baked in at
/// compile time as a fallback).
pub fn repo_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("src/main.rs").exists() && dir.ends_with("xtask"))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// `cargo ARGS`, with the cargo that runs xtask when there is one (`$CARGO`).
pub fn cargo<I: IntoIterator<Item = S>, S: Into<OsString>>(args: I) -> Expression {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    duct::cmd(cargo, args)
}

/// `program SCRIPT FLAGS`: a script and its flags, written as a command line
/// (split at spaces).
pub fn script(program: impl IntoExecutablePath, script: &Path, flags: &str) -> Expression {
    let flags = flags.split(' ').map(OsStr::new);
    duct::cmd(program, std::iter::once(script.as_os_str()).chain(flags))
}

/// Runs a command with inherited output; the error names it.
pub fn run(command: &Expression) -> Result<()> {
    command
        .run()
        .map(drop)
        .with_context(|| format!("running {command:?}"))
}

/// The trimmed stdout of a command that succeeded; `None` if it could not
/// start or failed (e.g. a tool that is not installed).
pub fn read(command: &Expression) -> Option<String> {
    command.stderr_capture().read().ok()
}

/// `create_dir_all`, `read`, `read_to_string` and `write`, their errors
/// naming the path.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn write_file(path: &Path, data: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))
}

pub fn free_port() -> Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("no free port")
}

/// VmRSS (current resident memory) of a process in KiB, from
/// /proc/<pid>/status; 0 when unreadable.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix("VmRSS:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Prints how long a step took, e.g. `xtask: trunk build took 41.2 s`.
pub fn took(what: &str, since: Instant) {
    println!("xtask: {what} took {:.1} s", since.elapsed().as_secs_f64());
}

/// The process groups of every live [`Process`], for Ctrl-C.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Who waits for Ctrl-C instead of being stopped by it ([`until_interrupted`]).
static WAITER: Mutex<Option<mpsc::Sender<()>>> = Mutex::new(None);

/// Ctrl-C (or SIGTERM, SIGHUP): wakes [`until_interrupted`] if someone
/// waits; otherwise stops every [`Process`] (their groups do not get the
/// terminal's signal) and exits 130.
pub fn handle_interrupts() -> Result<()> {
    ctrlc::set_handler(|| {
        if let Some(waiter) = WAITER.lock().map(|mut w| w.take()).unwrap_or(None) {
            let _ = waiter.send(());
            return;
        }
        let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
        for &group in &groups {
            signal_group(group, libc::SIGTERM);
        }
        std::thread::sleep(Duration::from_secs(2));
        for &group in &groups {
            signal_group(group, libc::SIGKILL);
        }
        std::process::exit(130);
    })
    .context("cannot handle Ctrl-C")
}

/// Blocks until Ctrl-C (then returns, so guards drop in order).
pub fn until_interrupted() {
    let (sender, receiver) = mpsc::channel();
    if let Ok(mut waiter) = WAITER.lock() {
        *waiter = Some(sender);
    }
    let _ = receiver.recv();
}

fn signal_group(group: i32, signal: i32) {
    // SAFETY: killpg only sends a signal; a gone group is ESRCH, ignored.
    unsafe {
        libc::killpg(group, signal);
    }
}

/// A child process in a process group of its own: dropping it stops the
/// whole group (SIGTERM, then SIGKILL after 5 s), whatever happened.
pub struct Process {
    name: String,
    handle: Handle,
    group: i32,
}

impl Process {
    /// Starts `command` (its status unchecked: see [`Process::exited`]).
    pub fn start(name: impl Into<String>, command: &Expression) -> Result<Process> {
        let name = name.into();
        let handle = command
            .unchecked()
            .before_spawn(|c| {
                c.process_group(0);
                Ok(())
            })
            .start()
            .with_context(|| format!("cannot start {name} ({command:?})"))?;
        let group = handle.pids()[0] as i32;
        if let Ok(mut groups) = GROUPS.lock() {
            groups.push(group);
        }
        Ok(Process {
            name,
            handle,
            group,
        })
    }

    /// The process id (for /proc: CPU time, memory).
    pub fn pid(&self) -> u32 {
        self.group as u32
    }

    pub fn still_running(&self) -> bool {
        matches!(self.exited(), Ok(None))
    }

    /// Its exit status once it has exited.
    pub fn exited(&self) -> Result<Option<ExitStatus>> {
        let output = self.handle.try_wait();
        let output = output.with_context(|| format!("cannot wait for {}", self.name))?;
        Ok(output.map(|o| o.status))
    }

    /// Waits for it to exit.
    pub fn wait(&self) -> Result<ExitStatus> {
        let output = self.handle.wait();
        Ok(output
            .with_context(|| format!("cannot wait for {}", self.name))?
            .status)
    }

    /// Polls until `addr` accepts connections; fails early if the process
    /// exited, and after `within` (`log`, if any, is quoted).
    pub fn wait_listening(
        &self,
        addr: SocketAddr,
        within: Duration,
        log: Option<&Path>,
    ) -> Result<()> {
        let its_log = || {
            log.map_or(String::new(), |log| {
                format!("; its log:\n{}", tail(log, 30))
            })
        };
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.exited()? {
                let (name, log) = (&self.name, its_log());
                bail!("{name} exited ({status}) before listening on {addr}{log}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (name, secs, log) = (&self.name, within.as_secs(), its_log());
        bail!("{name} did not listen on {addr} within {secs} s{log}")
    }

    /// SIGKILL to the group, as a crash would: no goodbye to anyone.
    pub fn kill(&self) {
        signal_group(self.group, libc::SIGKILL);
        let _ = self.handle.wait();
        self.forget_group();
    }

    /// SIGTERM to the group; waits up to `grace` for it to drain and exit,
    /// then SIGKILL to whatever of the group is left.
    pub fn terminate(&self, grace: Duration) {
        if self.still_running() {
            signal_group(self.group, libc::SIGTERM);
            let _ = self.handle.wait_timeout(grace);
        }
        self.kill();
    }

    fn forget_group(&self) {
        if let Ok(mut groups) = GROUPS.lock() {
            groups.retain(|&g| g != self.group);
        }
    }
}

/// A server is its [`Process`]: `pid`, `kill`, `terminate`, `still_running`.
impl std::ops::Deref for Server {
    type Target = Process;

    fn deref(&self) -> &Process {
        &self.process
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}

/// A command that ran to its end under [`run_bounded`].
#[derive(Debug)]
pub struct Finished {
    pub command: String,
    pub status: ExitStatus,
    /// Its standard output, line by line.
    pub lines: Vec<String>,
}

impl Finished {
    pub fn ok(self) -> Result<()> {
        if !self.status.success() {
            bail!("`{}` failed ({})", self.command, self.status);
        }
        Ok(())
    }
}

/// Runs `command`, echoing its stdout with `indent` in front of each line
/// and keeping it (stderr is inherited), and stops its whole process tree
/// if it outlives `within`.
pub fn run_bounded(command: &Expression, within: Duration, indent: &str) -> Result<Finished> {
    let name = format!("{command:?}");
    let (reader, writer) = std::io::pipe().context("cannot make a pipe")?;
    let process = Process::start(&name, &command.stdin_null().stdout_file(writer))?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut keep = |line: String| {
        println!("{indent}{line}");
        lines.push(line);
    };
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = process.exited()? {
            break status;
        }
        if Instant::now() >= deadline {
            drop(process);
            receiver.try_iter().for_each(&mut keep);
            bail!(
                "`{name}` did not finish within {} s and was stopped",
                within.as_secs()
            );
        }
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(50)) {
            keep(line);
        }
    };
    // The rest of its output (bounded: a leftover grandchild may hold the pipe).
    let until = Instant::now() + Duration::from_secs(5);
    while let Ok(line) = receiver.recv_timeout(until.saturating_duration_since(Instant::now())) {
        keep(line);
    }
    Ok(Finished {
        command: name,
        status,
        lines,
    })
}

/// A server process (ours or a peer) with its output in a log file, ready
/// once it listens, stopped with its [`Process`] when dropped. The browser
/// tests, the interop matrix, the fault tests, the cluster and the benchmark
/// all start their servers through it.
pub struct Server {
    pub name: &'static str,
    /// How its URL starts: `http` for web servers, `redis` for Redis.
    scheme: &'static str,
    addr: SocketAddr,
    pub log: PathBuf,
    process: Process,
}

impl Server {
    /// Starts `command`, which listens on `addr`, with its output in `log`,
    /// and waits until it listens.
    pub fn start(
        name: &'static str,
        addr: SocketAddr,
        command: &Expression,
        log: &Path,
    ) -> Result<Server> {
        Server::start_speaking("http", name, addr, command, log)
    }

    /// [`Server::start`] for Redis, so that its URL says what it speaks.
    pub fn redis(addr: SocketAddr, command: &Expression, log: &Path) -> Result<Server> {
        Server::start_speaking("redis", "redis", addr, command, log)
    }

    fn start_speaking(
        scheme: &'static str,
        name: &'static str,
        addr: SocketAddr,
        command: &Expression,
        log: &Path,
    ) -> Result<Server> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let command = command.stdin_null().stdout_file(out).stderr_file(err);
        let process = Process::start(name, &command)?;
        process.wait_listening(addr, READY_WITHIN, Some(log))?;
        let server = Server {
            name,
            scheme,
            addr,
            log: log.to_owned(),
            process,
        };
        let ready = server
            .ready_line(Duration::from_secs(5))
            .map(|line| format!(": {line}"))
            .unwrap_or_default();
        println!("xtask: {name} on {}{ready}", server.url());
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What a peer stored (`GET /users`), for the report.
    pub fn users(&self) -> String {
        http_get(self.addr, "/users").unwrap_or_else(|e| format!("({e})"))
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
}

/// A GET on loopback with a 5 s deadline; the body of a 200, trimmed.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        // Loopback: never through a proxy from the environment.
        .proxy(None)
        .build()
        .into();
    let mut response = agent.get(format!("http://{addr}{path}")).call()?;
    Ok(response.body_mut().read_to_string()?.trim().to_owned())
}

/// The last `n` lines of a log file, indented, without terminal colours.
pub fn tail(path: &Path, n: usize) -> String {
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
            chars.by_ref().find(char::is_ascii_alphabetic);
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
    fn repo_root_holds_the_workspace() {
        let root = repo_root();
        assert!(root.join("Cargo.toml").exists(), "{}", root.display());
        assert!(root.join("xtask").is_dir(), "{}", root.display());
    }

    #[test]
    fn strips_terminal_colours() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
            "2026  INFO x"
        );
    }

    /// A deadline stops the whole tree: the shell and the sleep it started.
    #[test]
    fn a_deadline_stops_the_whole_tree() {
        let started = Instant::now();
        let command = duct::cmd!("sh", "-c", "echo started; sleep 30 & wait");
        let error = run_bounded(&command, Duration::from_secs(1), "").unwrap_err();
        assert!(
            error.to_string().contains("did not finish within 1 s"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_finished_command_keeps_its_lines_and_status() {
        let command = duct::cmd!("sh", "-c", "echo one; echo two; exit 3");
        let finished = run_bounded(&command, Duration::from_secs(10), "  ").unwrap();
        assert_eq!(finished.lines, ["one", "two"]);
        assert_eq!(finished.status.code(), Some(3));
        assert!(finished.ok().is_err());
    }
}
