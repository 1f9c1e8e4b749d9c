//! `cargo xtask fuzz [--seconds N] [TARGET...]`: every cargo-fuzz target in
//! `fuzz/` (a nightly workspace of its own) for N seconds each, with a
//! pinned cargo-fuzz, the committed seeds in `fuzz/seeds/<target>/` and the
//! grown corpora in `fuzz/target/fuzz-corpus/<target>/`; so that a crash
//! cannot scroll by, it ends with a table per target and fails naming the
//! crashing input.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use duct::{cmd, Expression};

use crate::process::{cargo, create_dir, read, repo_root, run};

/// The cargo-fuzz release this was written against (its CLI and output).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// What one target's run produced, read from libFuzzer's output.
#[derive(Default)]
struct Outcome {
    executions: String,
    exec_per_sec: String,
    /// libFuzzer's last status line: `cov: .. ft: .. corp: ..`.
    coverage: String,
    artifacts: Vec<String>,
    failed: bool,
}

/// Runs `targets` (all when empty) for `seconds` each.
pub fn fuzz(seconds: u64, mut targets: Vec<String>) -> Result<()> {
    let root = repo_root();
    install_cargo_fuzz()?;
    if targets.is_empty() {
        let list = read(&nightly_fuzz(&root, "list"))
            .context("`cargo +nightly fuzz list` failed (is the nightly toolchain installed?)")?;
        targets = list.lines().map(str::to_owned).collect();
    }
    run(&nightly_fuzz(&root, "build"))?;
    let mut outcomes = Vec::new();
    for target in &targets {
        println!("xtask: ── fuzz {target} for {seconds} s");
        outcomes.push(run_target(&root, target, seconds)?);
    }
    println!("\nxtask: fuzzing, {seconds} s per target (logs in fuzz/target/fuzz-logs/)");
    println!(
        "{:<10} {:>12} {:>8}  {:<40} result",
        "target", "executions", "exec/s", "coverage"
    );
    let mut crashed = Vec::new();
    for (target, o) in targets.iter().zip(&outcomes) {
        let result = match (o.failed, o.artifacts.as_slice()) {
            (false, _) => "ok".to_owned(),
            (true, []) => "FAILED (no input saved: see the log)".to_owned(),
            (true, found) => format!("CRASH: {}", found.join(", ")),
        };
        let (runs, rate, cov) = (&o.executions, &o.exec_per_sec, &o.coverage);
        println!("{target:<10} {runs:>12} {rate:>8}  {cov:<40} {result}");
        if o.failed {
            crashed.push(target);
        }
    }
    ensure!(
        crashed.is_empty(),
        "fuzz targets failed: {crashed:?}; reproduce with `cargo +nightly fuzz run TARGET \
             INPUT`, minimise with `cargo +nightly fuzz tmin TARGET INPUT`"
    );
    Ok(())
}

fn install_cargo_fuzz() -> Result<()> {
    let installed = read(&cmd!("cargo", "fuzz", "--version"));
    if installed.is_some_and(|v| v.ends_with(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    println!("xtask: ── installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    let install = format!("install cargo-fuzz --version {CARGO_FUZZ_VERSION} --locked");
    run(&cargo(install.split(' ')))
}

/// `cargo +nightly fuzz` in the repository root (through rustup's proxy:
/// `$CARGO` is the stable cargo running xtask).
fn nightly_fuzz(root: &Path, command: &str) -> Expression {
    cmd!("cargo", "+nightly", "fuzz", command).dir(root)
}

/// Fuzzes one target, echoing libFuzzer's output except the per-input
/// NEW/REDUCE lines and the recommended dictionary (all of it goes to the log).
fn run_target(root: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let fuzz = root.join("fuzz");
    let corpus = fuzz.join("target/fuzz-corpus").join(target);
    let logs = fuzz.join("target/fuzz-logs");
    for dir in [&corpus, &logs] {
        create_dir(dir)?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let (stderr, writer) = std::io::pipe().context("cannot make a pipe")?;
    let seeds = fuzz.join("seeds").join(target);
    let paths = [corpus.as_os_str(), seeds.as_os_str()];
    let libfuzzer = format!("-- -max_total_time={seconds} -timeout=10 -print_final_stats=1");
    let args = ["+nightly", "fuzz", "run", target]
        .map(OsStr::new)
        .into_iter();
    let args = args
        .chain(paths)
        .chain(libfuzzer.split(' ').map(OsStr::new));
    let fuzz_run = duct::cmd("cargo", args);
    let child = fuzz_run.dir(root).stderr_file(writer).unchecked().start()?;
    let mut outcome = Outcome::default();
    for line in BufReader::new(stderr).split(b'\n') {
        let line = line.context("reading libFuzzer's output")?;
        let line = String::from_utf8_lossy(&line);
        let _ = writeln!(log, "{line}");
        outcome.read(&line);
        let per_input =
            line.starts_with('#') && ["\tNEW ", "\tREDUCE "].iter().any(|w| line.contains(w));
        let dictionary = line.starts_with('"') && line.contains("# Uses:");
        if !per_input && !dictionary {
            eprintln!("{line}");
        }
    }
    let status = child.wait().context("waiting for cargo fuzz")?.status;
    outcome.failed = !status.success();
    Ok(outcome)
}

impl Outcome {
    fn read(&mut self, line: &str) {
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units: ") {
            self.executions = n.trim().to_owned();
        } else if let Some(n) = line.strip_prefix("stat::average_exec_per_sec: ") {
            self.exec_per_sec = n.trim().to_owned();
        } else if let Some(path) = line.split("Test unit written to ").nth(1) {
            self.artifacts.push(relative(path.trim()));
        } else if let Some(at) = line.find("cov: ") {
            let stats = &line[at..];
            let end = stats.find(" lim:").or(stats.find(" exec/s:"));
            self.coverage = stats[..end.unwrap_or(stats.len())].trim().to_owned();
        }
    }
}

/// An artifact path relative to the repository, as the commands above expect.
fn relative(path: &str) -> String {
    let path = PathBuf::from(path);
    path.strip_prefix(repo_root())
        .unwrap_or(&path)
        .display()
        .to_string()
}
