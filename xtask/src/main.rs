//! `cargo xtask <command>`: the project's automation, in Rust so it runs
//! wherever cargo does.
//!
//! - `test`: formatting, lints and every test; fails if any of them fails or
//!   if no test ran at all.
//! - `serve`, `dev`, `size`: run the app, develop the page, weigh the page.
//! - `bench`, `payload`: the benchmark scenarios (S1–S5, S5 alone).
//! - `fault`: kill and restart the server under load; everyone comes back.
//! - `fuzz`: the cargo-fuzz targets of the wire code (nightly).

mod bench;
mod chart;
mod compress;
mod fault;
#[cfg(test)]
mod fixtures;
mod fuzz;
mod interop;
mod payload;
mod proc;
mod serve;
mod server;
mod setup;
mod size;
mod test;
mod toolchain;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test     cargo fmt --check, clippy -D warnings, and every test (what CI runs)
  interop  the interop matrix: our client (headless Chromium) against our
           server, Flask-SocketIO 5.7 and node socket.io 4.8, and stock
           socket.io-client / python-socketio against our server
  setup    install what the tests need: apt packages (when root), the wasm
           target, wasm-bindgen-cli, trunk, wasm-opt (npm), chromium
  serve    build the page for release and serve it with the release server
           on http://127.0.0.1:3000 (--bind ADDR to change; Ctrl-C stops)
  dev      the server in the background + `trunk serve` with live reload on
           http://127.0.0.1:8080 (the server stops when trunk does)
  size     build the page for release (skip with --no-build) and print the
           raw/gzip/brotli size of every file it loads, against the budget
  bench    benchmark scenarios S1–S5 side by side: our server, node
           socket.io, Flask-SocketIO and a raw websocket echo (release
           builds, pinned CPUs, ≈ 7 min; writes bench/results/latest.md,
           latest.json and latency.svg). --quick: a smoke run
  fault    kill -9 and SIGTERM the server under 1,000 identified clients
           (--clients N) and restart it: everyone must be back within 10 s
  payload  S5: the built page's first-load bytes (gzip -9, brotli) next to
           the original AngularJS 1.4.8 + socket.io.js 1.4.4, fetched with
           npm pack (needs dist/ from `cargo xtask size`; writes
           bench/results/s5.md)
  fuzz     every cargo-fuzz target in fuzz/ (Engine.IO, Socket.IO, typed
           events, the client session) for --seconds N each (default 60),
           seeded from fuzz/seeds/; prints executions, coverage and crashes
           and fails on a crash. Installs cargo-fuzz 0.13.2; needs nightly.
           Name targets to run only those: cargo xtask fuzz session
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("interop") => interop::run(&args[1..]),
        Some("setup") => setup::all(),
        Some("serve") => serve::serve(&args[1..]),
        Some("dev") => serve::dev(&args[1..]),
        Some("size") => size::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("fault") => fault::run(&args[1..]),
        Some("payload") => payload::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
