//! The one place xtask knows the load generator's command line
//! (`bench/src/bin/loadgen.rs`) and reads its summaries (`bench::summary`).

use std::fmt::Display;
use std::path::Path;
use std::process::Output;

use anyhow::{Context, Result};
use duct::Expression;
use serde::de::DeserializeOwned;

/// The source addresses a generator connects from unless told otherwise.
pub const SOURCES: &str = "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5";

/// `loadgen --scenario S --addr ADDRS --clients N FLAGS`: `bin` is the
/// built binary, `addrs` one address or several, comma-separated, `flags`
/// a command line.
pub fn command(
    bin: &Path,
    scenario: &str,
    addrs: impl Display,
    clients: usize,
    flags: &str,
) -> Expression {
    let args = format!("--scenario {scenario} --addr {addrs} --clients {clients} {flags}");
    duct::cmd(bin, args.split_whitespace())
}

/// Runs a generator to its end: stdout and stderr captured, any status.
pub fn output(command: &Expression) -> Result<Output> {
    let run = command.stdout_capture().stderr_capture().unchecked().run();
    run.with_context(|| format!("cannot run {command:?}"))
}

/// The summary a generator printed: the last line of its stdout that
/// parses as a `T`.
pub fn summary<T: DeserializeOwned>(stdout: &[u8]) -> Option<T> {
    let stdout = String::from_utf8_lossy(stdout);
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
}
