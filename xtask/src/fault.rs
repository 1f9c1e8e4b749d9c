//! `cargo xtask fault [--clients N]`: the server dies under load, and every
//! client must come back by itself.
//!
//! N page-like clients (the load generator's `fault` scenario: the shared
//! `Session` with its reconnect backoff and the shared `Identity` that
//! identifies again after every `connected`) connect and identify. The
//! server is stopped with SIGKILL (a crash), then with SIGTERM (a graceful
//! restart), and a new one started on the same port. Passes when everyone
//! is identified again within 10 s of the restart, the new server counts
//! exactly N named sessions, and the reconnects were spread out (no herd).
//!
//! Then a leak check ([`churn`]): 10,000 short sessions against a fresh
//! server after a 5,000-session warm-up. The resume TTL is the default
//! (600 s), so every departed session stays resumable: the resume book's
//! bound (`--resume-capacity` 2,000, reached during the warm-up) is what
//! must keep memory flat, as it must against a client cycling sessions.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bench::loadgen;
use crate::process::{
    cargo, create_dir, free_port, repo_root, rss_kib, run, tail, Process, Server,
};
use anyhow::{bail, ensure, Context, Result};
use bench::summary::FaultSummary;

/// How soon after the restart everyone must be back.
const BACK_WITHIN_MS: u64 = 10_000;

/// How much the server's RSS may grow over 10,000 sessions after warm-up:
/// a leak of 300 bytes per session would exceed it; the allocator's own
/// growth measured +0.3 to +1.2 MB, shrinking round by round.
const LEAK_SLACK_KIB: u64 = 3072;

/// Loopback addresses the load generator connects from: 1,000 clients stay
/// under the server's default `--max-per-source` (256) with room to spare.
const SOURCES: &str =
    "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9";

#[derive(Debug, Clone, Copy)]
enum Stop {
    Kill,
    Term,
}

pub const DEFAULT_CLIENTS: usize = 1000;

/// Both faults under `clients` identified clients, then the leak check.
pub fn faults(clients: usize) -> Result<()> {
    let root = repo_root();
    run(&cargo(["build", "-p", "server", "-p", "bench"]).dir(&root))?;
    let logs = root.join("target/fault/logs");
    create_dir(&logs)?;
    let mut failures = Vec::new();
    let mut table = String::from(
        "| fault | clients | back | back after restart (last) ms | p50 / p100 from first loss ms | most back in 100 ms | server counts |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for how in [Stop::Kill, Stop::Term] {
        let (row, problems) = one_fault(&root, &logs, clients, how)?;
        table.push_str(&row);
        failures.extend(problems);
    }
    println!("{table}");
    match churn(&root, &logs) {
        Ok(line) => println!("{line}"),
        Err(problem) => failures.push(format!("{problem:#}")),
    }
    ensure!(failures.is_empty(), "fault: {}", failures.join("; "));
    Ok(())
}

/// One fault: start, load, stop, restart, measure.
fn one_fault(root: &Path, logs: &Path, clients: usize, how: Stop) -> Result<(String, Vec<String>)> {
    let addr = free_port()?;
    let label = format!("{how:?}").to_uppercase();
    println!("xtask: ── fault: SIG{label} under {clients} identified clients");
    let server = start(root, addr, &logs.join(format!("before-{label}.log")), "")?;
    let (stdout, writer) = std::io::pipe().context("cannot make a pipe")?;
    let errors = logs.join(format!("loadgen-{label}.log"));
    let flags = format!("--seconds 30 --sources {SOURCES}");
    let bin = root.join("target/debug/loadgen");
    let loadgen = loadgen::command(&bin, "fault", addr, clients, &flags);
    let loadgen = loadgen.stdout_file(writer).stderr_path(&errors);
    let loadgen = Process::start("the load generator", &loadgen)?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    if !ready.contains(&format!("\"ready\":{clients}")) {
        drop(loadgen);
        let log = tail(&errors, 20);
        bail!("not every client identified before the fault: {ready:?}\n{log}");
    }
    match how {
        Stop::Kill => server.kill(),
        Stop::Term => server.terminate(Duration::from_secs(15)),
    }
    // Measured from the moment the new server is launched.
    let restart_ms = unix_ms();
    let restarted = start(root, addr, &logs.join(format!("after-{label}.log")), "")?;
    let summary: Option<FaultSummary> = lines
        .map_while(Result::ok)
        .find_map(|l| serde_json::from_str(&l).ok());
    let no_summary = || {
        format!(
            "the load generator printed no summary\n{}",
            tail(&errors, 20)
        )
    };
    let summary = summary.with_context(no_summary)?;
    let ok = loadgen.wait()?.success();
    drop(restarted);
    Ok(judge(&label, clients, &summary, restart_ms, ok))
}

/// The table row and any failed check.
fn judge(
    label: &str,
    clients: usize,
    s: &FaultSummary,
    restart_ms: u64,
    ok: bool,
) -> (String, Vec<String>) {
    let back = s.back;
    let after = s
        .last_back_unix_ms
        .map(|last| last.saturating_sub(restart_ms));
    let herd = s.most_back_in_100ms;
    let counted = s.server_identified;
    let mut problems = Vec::new();
    if !ok || back != clients {
        problems.push(format!("SIG{label}: {back} of {clients} back ({s:?})"));
    }
    if after.is_none_or(|ms| ms > BACK_WITHIN_MS) {
        problems.push(format!(
            "SIG{label}: not all back within {BACK_WITHIN_MS} ms of the restart: {after:?}"
        ));
    }
    if counted != Some(clients as u64) {
        problems.push(format!(
            "SIG{label}: the new server counts {counted:?} named sessions, not {clients}"
        ));
    }
    // A herd would be (nearly) everyone within one 100 ms window.
    if clients >= 100 && herd > clients / 2 {
        problems.push(format!(
            "SIG{label}: {herd} of {clients} reconnected within 100 ms: a herd"
        ));
    }
    let row = format!(
        "| SIG{label} | {clients} | {back} | {} | {} / {} | {herd} | {} |\n",
        after.map_or("–".into(), |ms| ms.to_string()),
        s.back_p50_ms,
        s.back_p100_ms,
        counted.map_or("–".into(), |n| n.to_string()),
    );
    (row, problems)
}

fn start(root: &Path, addr: SocketAddr, log: &Path, extra: &str) -> Result<Server> {
    let args = format!("--bind {addr} --log warn --shutdown-grace-secs 5 {extra}");
    let server = duct::cmd(root.join("target/debug/server"), args.split_whitespace());
    Server::start("our server", addr, &server, log)
}

/// The leak check: RSS after 10,000 sessions against RSS after a warm-up.
fn churn(root: &Path, logs: &Path) -> Result<String> {
    println!("xtask: ── leak check: 10,000 connect/identify/disconnect cycles");
    let addr = free_port()?;
    let log = logs.join("churn.log");
    let server = start(root, addr, &log, "--resume-capacity 2000")?;
    let sessions = |cycles: usize| -> Result<()> {
        let flags = format!("--cycles {cycles} --sources {SOURCES}");
        let bin = root.join("target/debug/loadgen");
        let output = loadgen::output(&loadgen::command(&bin, "churn", addr, 50, &flags))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        ensure!(output.status.success(), "churn failed: {stdout}");
        Ok(())
    };
    sessions(5_000)?;
    std::thread::sleep(Duration::from_secs(2));
    let warm = rss_kib(server.pid());
    sessions(10_000)?;
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(server.pid());
    let line = format!(
        "leak check: server RSS {warm} KiB after the warm-up, {after} KiB after 10,000 more sessions ({:+} KiB; allowed +{LEAK_SLACK_KIB})",
        after as i64 - warm as i64
    );
    ensure!(warm > 0 && after <= warm + LEAK_SLACK_KIB, line);
    Ok(line)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_a_fault() {
        let good = FaultSummary {
            back: 100,
            last_back_unix_ms: Some(5_000),
            most_back_in_100ms: 20,
            server_identified: Some(100),
            back_p50_ms: 900.0,
            back_p100_ms: 1500.0,
            ..FaultSummary::default()
        };
        let (row, problems) = judge("KILL", 100, &good, 4_000, true);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(row.contains("| SIGKILL | 100 | 100 | 1000 |"), "{row}");

        let herd_and_late = FaultSummary {
            back: 99,
            last_back_unix_ms: Some(20_000),
            most_back_in_100ms: 90,
            server_identified: Some(99),
            ..FaultSummary::default()
        };
        let (_, problems) = judge("TERM", 100, &herd_and_late, 4_000, false);
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
