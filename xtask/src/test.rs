//! `cargo xtask test`: everything CI checks, in order, stopping at the first
//! failure, and refusing a green result when no test ran (a host
//! `cargo test` runs no browser test at all): formatting and clippy, that
//! the fuzz targets compile, native tests, browser tests in headless
//! Chromium against a live server, the release page end to end (alone, then
//! on a three-node cluster behind nginx), the interop matrix, the fault
//! tests, and a smoke run of the benchmark so the load generator cannot rot.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};

use anyhow::{ensure, Context, Result};
use duct::Expression;

use crate::process::{self, cargo, free_port, repo_root, Server};
use crate::setup;

const WASM: &str = "wasm32-unknown-unknown";

/// Runs the checks. Extra arguments are passed to the native `cargo test`.
pub fn run(extra: &[String]) -> Result<()> {
    setup::system_packages()?;
    setup::wasm_target()?;
    // The cluster tests start their own Redis (and the end-to-end ones nginx).
    setup::cluster_tools()?;
    step("cargo fmt --check", "fmt --all -- --check")?;
    let clippy = "--all-targets -- -D warnings";
    let native = format!("clippy --workspace --exclude frontend {clippy}");
    step("cargo clippy (native)", &native)?;
    let wasm = format!("clippy -p frontend --target {WASM} {clippy}");
    step("cargo clippy (wasm)", &wasm)?;
    fuzz_targets_compile()?;
    // The client library must stay publishable: packaged from its own files
    // (no path that exists only here), and built from the package.
    step(
        "cargo package (sio-proto, sio-client; a dry run)",
        "package -p sio-proto -p sio-client --allow-dirty",
    )?;
    println!("xtask: ── native tests");
    let native = "test --workspace --exclude frontend --exclude e2e".split(' ');
    let native = cargo_test(
        &cargo(native.chain(extra.iter().map(String::as_str)))
            .env("ISS_REDIS_SERVER", setup::REDIS_SERVER),
    )?;
    let browser = browser_tests()?;
    let e2e = end_to_end()?;
    println!("xtask: ── interop matrix");
    crate::interop::matrix()?;
    println!("xtask: ── fault tests");
    crate::fault::faults(crate::fault::DEFAULT_CLIENTS)?;
    println!("xtask: ── benchmark smoke run");
    crate::bench::run(true)?;
    let [n, b, e] = [native.passed, browser.passed, e2e.passed];
    ensure!(
        n != 0 && b != 0 && e != 0,
        "a test group ran no test (native {n}, browser {b}, end-to-end {e}): \
         that is a failure, not a pass"
    );
    println!(
        "xtask: native {n} passed; browser (headless Chromium) {b} passed; end-to-end {e} passed"
    );
    // The plain closing line CI reads.
    let failed = native.failed + browser.failed + e2e.failed;
    println!("{} passed, {failed} failed", n + b + e);
    Ok(())
}

fn end_to_end() -> Result<Counts> {
    println!("xtask: ── end-to-end tests");
    setup::wasm_toolchain()?;
    let dist = crate::toolchain::build_frontend_release()?;
    let root = repo_root();
    let out = root.join("target/e2e");
    process::create_dir(&out)?;
    // The original page's tests need the interop peers: `interop` runs them.
    let scenarios = "test -p e2e --test scenarios -- --test-threads=1".split(' ');
    let single = cargo_test(
        &cargo(scenarios)
            .env("ISS_E2E_DIST", &dist)
            .env("ISS_E2E_SERVER_BIN", root.join("target/debug/server"))
            .env("ISS_E2E_SCREENSHOT", out.join("screenshot.png"))
            .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    )?;
    let shared = cluster_end_to_end(&dist)?;
    Ok(Counts {
        passed: single.passed + shared.passed,
        failed: single.failed + shared.failed,
    })
}

/// Shared mode in Chromium: Redis, three nodes and nginx on free ports,
/// stopped afterwards even when the test fails.
fn cluster_end_to_end(dist: &std::path::Path) -> Result<Counts> {
    let root = repo_root();
    let cluster = crate::cluster::Cluster::start(&crate::cluster::Options {
        front: free_port()?,
        nodes: 3,
        server: root.join("target/debug/server"),
        dist: dist.to_owned(),
        dir: root.join("target/e2e-cluster"),
        node_args: vec!["--log".into(), "warn".into()],
    })?;
    cargo_test(
        &cargo(["test", "-p", "e2e", "--test", "cluster"])
            .env("ISS_E2E_CLUSTER", cluster.nginx.url())
            .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    )
}

/// The browser tests, against a live server (allowing the test page's
/// origin, its log in `target/`) that is always stopped afterwards.
fn browser_tests() -> Result<Counts> {
    println!("xtask: ── browser tests");
    setup::wasm_bindgen_cli()?;
    setup::chromium()?;
    process::run(&cargo(["build", "-p", "server"]))?;
    let (page, addr) = (free_port()?, free_port()?);
    let root = repo_root();
    let args = format!("--bind {addr} --allowed-origin http://{page} --log warn");
    let server = duct::cmd(root.join("target/debug/server"), args.split(' '));
    let log = root.join("target/browser-tests-server.log");
    let server = Server::start("test server", addr, &server, &log)?;
    // The interop suite needs the foreign peers; `interop` runs it.
    let browser = format!("test -p frontend --target {WASM} --test components --test live");
    cargo_test(
        &cargo(browser.split(' '))
            .env("PATH", setup::tool_path())
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("ISS_TEST_SERVER", format!("http://{}", server.addr()))
            // The test page's own address, so the server can allow its origin.
            .env("WASM_BINDGEN_TEST_ADDRESS", page.to_string())
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )
}

#[derive(Debug, Default, PartialEq)]
struct Counts {
    passed: u64,
    failed: u64,
}

/// The fuzz workspace (nightly, outside the main one) must not rot: its
/// targets are checked on stable, without libFuzzer (a C++ build).
fn fuzz_targets_compile() -> Result<()> {
    println!("xtask: ── cargo check (fuzz targets)");
    let manifest = repo_root().join("fuzz/Cargo.toml");
    let flags = "check --locked --bins --no-default-features --manifest-path".split(' ');
    process::run(&cargo(flags.map(OsStr::new).chain([manifest.as_os_str()])))
}

/// `cargo ARGS` (split at spaces) as a named step.
fn step(name: &str, args: &str) -> Result<()> {
    println!("xtask: ── {name}");
    process::run(&cargo(args.split(' ')))
}

/// Runs `cargo test`, echoing its output while counting the results.
fn cargo_test(command: &Expression) -> Result<Counts> {
    let reader = command
        .unchecked()
        .reader()
        .context("cannot run cargo test")?;
    let mut counts = Counts::default();
    for line in BufReader::new(&reader).split(b'\n').map_while(Result::ok) {
        let line = String::from_utf8_lossy(&line);
        println!("{line}");
        add_result_line(&mut counts, &line);
    }
    let status = reader
        .try_wait()?
        .context("cargo test: no exit status")?
        .status;
    ensure!(
        status.success() && counts.failed == 0,
        "cargo test failed ({status}): {} passed, {} failed",
        counts.passed,
        counts.failed
    );
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
