//! `cargo xtask test`: everything CI checks, in order, stopping at the first
//! failure, and refusing a green result when no test ran.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs the checks. Extra arguments are passed to `cargo test` (e.g. a filter).
pub fn run(extra: &[String]) -> Result<(), String> {
    crate::setup::system_packages()?;
    step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    let counts = cargo_test(cargo().args(["test", "--workspace"]).args(extra))?;
    if counts.passed == 0 {
        return Err("no test ran: that is a failure, not a pass".to_owned());
    }
    // The plain closing line CI reads.
    println!("{} passed, {} failed", counts.passed, counts.failed);
    Ok(())
}

/// Test counts summed over every `test result:` line.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    passed: u64,
    failed: u64,
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn step(name: &str, command: &mut Command) -> Result<(), String> {
    println!("xtask: ── {name}");
    run_checked(command)
}

/// Runs a command with inherited output; an error names it if it fails.
pub fn run_checked(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

/// Runs `cargo test`, echoing its output while counting the results.
fn cargo_test(command: &mut Command) -> Result<Counts, String> {
    println!("xtask: ── cargo test");
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let mut counts = Counts::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            add_result_line(&mut counts, &line);
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() || counts.failed > 0 {
        return Err(format!(
            "cargo test failed ({status}): {} passed, {} failed",
            counts.passed, counts.failed
        ));
    }
    Ok(counts)
}

/// Adds `test result: ok. 7 passed; 1 failed; ...` to the counts.
fn add_result_line(counts: &mut Counts, line: &str) {
    let Some(rest) = line.trim().strip_prefix("test result: ") else {
        return;
    };
    for part in rest.split([';', '.']) {
        let mut words = part.split_whitespace();
        if let (Some(n), Some(what)) = (words.next(), words.next()) {
            match (n.parse::<u64>(), what) {
                (Ok(n), "passed") => counts.passed += n,
                (Ok(n), "failed") => counts.failed += n,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_result_lines() {
        let mut counts = Counts::default();
        add_result_line(
            &mut counts,
            "test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.44s",
        );
        add_result_line(
            &mut counts,
            "test result: FAILED. 2 passed; 1 failed; 0 ignored",
        );
        add_result_line(&mut counts, "running 3 tests");
        assert_eq!(
            counts,
            Counts {
                passed: 9,
                failed: 1
            }
        );
    }
}
