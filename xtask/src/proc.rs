//! Small process helpers shared by the xtask commands: where the repository
//! is, how to call cargo, and running a command with a clear error.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The workspace root (the folder holding `Trunk.toml`): the parent of the
/// xtask crate, found from `CARGO_MANIFEST_DIR` (set by `cargo run` at run
/// time, and baked in at compile time as a fallback).
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

/// `cargo`, the same binary that runs xtask when there is one (`$CARGO`).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command with inherited output; an error names it if it fails.
pub fn run_checked(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(command)))
    }
}

/// The trimmed stdout of a command that succeeded; `None` if it could not
/// start or failed (e.g. a tool that is not installed).
pub fn stdout_of(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A command line for messages: `trunk build --release`, without the
/// environment noise `{:?}` would add.
pub fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Asks a child to stop (SIGTERM, so it can shut down cleanly), waits up to
/// `grace`, then kills it.
pub fn stop(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let asked = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|status| status.success());
    if asked {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// VmRSS (current resident memory) of a process in KiB, from
/// /proc/<pid>/status; 0 when unreadable.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmRSS:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// Prints how long a step took, e.g. `xtask: trunk build took 41.2 s`.
pub fn took(what: &str, since: Instant) {
    println!("xtask: {what} took {:.1} s", since.elapsed().as_secs_f64());
}

/// A loopback port nobody uses right now.
pub fn free_port() -> Result<std::net::SocketAddr, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
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
    fn describes_commands_plainly() {
        let mut command = Command::new("trunk");
        command.args(["build", "--release"]).env("X", "1");
        assert_eq!(describe(&command), "trunk build --release");
    }
}
