//! `cargo xtask <command>`: the project's automation, in Rust so it runs
//! wherever cargo does (`cargo xtask --help` lists the commands).

mod bench;
mod cluster;
mod compress;
mod fault;
mod first_load;
#[cfg(test)]
mod fixtures;
mod fuzz;
mod interop;
mod nightly;
mod payload;
mod process;
mod serve;
mod setup;
mod size;
mod test;
mod toolchain;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The project's automation: `cargo xtask <command>`.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// cargo fmt --check, clippy -D warnings, and every test (what CI runs).
    Test {
        /// Passed on to the native `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        extra: Vec<String>,
    },
    /// The interop matrix: our client (headless Chromium) against our
    /// server, Flask-SocketIO 5.7 and node socket.io 4.8, and stock
    /// socket.io-client / python-socketio against our server.
    #[command(long_about = interop::ABOUT)]
    Interop,
    /// Install what the tests need: apt packages (when root), the wasm
    /// target, wasm-bindgen-cli, trunk, wasm-opt (npm), chromium.
    Setup,
    /// Build the page for release and serve it with the release server on
    /// http://127.0.0.1:3000 (Ctrl-C stops).
    Serve {
        /// Where to listen (default: the server's, or ISS_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// The server in the background + `trunk serve` with live reload on
    /// http://127.0.0.1:8080 (the server stops when trunk does).
    Dev,
    /// Build the page for release and print the raw/gzip/brotli size of
    /// every file it loads, against the budget.
    Size {
        /// Weigh the existing dist/ instead of building.
        #[arg(long)]
        no_build: bool,
        /// Also build the page with nightly (-Zbuild-std, panic
        /// immediate-abort) into target/nightly-dist and weigh both; the
        /// stable page stays the one that ships.
        #[arg(long, conflicts_with = "no_build")]
        nightly: bool,
    },
    /// Benchmark scenarios S1–S5 side by side: our server, node socket.io,
    /// Flask-SocketIO and a raw websocket echo (release builds, pinned CPUs;
    /// writes bench/results/latest.md, latest.json and latency.svg).
    Bench {
        /// A smoke run: small loads, short rounds.
        #[arg(long)]
        quick: bool,
        /// Only S6 (shared mode on Redis: fan-out over three nodes, Redis
        /// memory per user, in memory against Redis); writes
        /// bench/results/s6.md.
        #[arg(long)]
        s6: bool,
        /// Only S7 (Engine.IO v3 POST bodies: a hostile body's CPU beside a
        /// benign one's); writes bench/results/s7.md.
        #[arg(long, conflicts_with = "s6")]
        s7: bool,
    },
    /// Shared mode as deployed: Redis (apt, free port, no persistence),
    /// three release nodes on it and nginx in front on 127.0.0.1:3000
    /// (websocket upgrade, sticky routing for long-polling). Ctrl-C stops
    /// everything it started.
    Cluster {
        /// Where nginx listens.
        #[arg(long, default_value = cluster::DEFAULT_FRONT)]
        front: SocketAddr,
        /// How many server processes.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
    },
    /// kill -9 and SIGTERM the server under identified clients and restart
    /// it: everyone must be back within 10 s; then a leak check.
    Fault {
        /// How many clients.
        #[arg(long, default_value_t = fault::DEFAULT_CLIENTS)]
        clients: usize,
    },
    /// S5: the built page's first-load bytes (gzip -9, brotli) and its cold
    /// time to `Connected` in Chromium (throttled and not), next to the
    /// original AngularJS 1.4.8 + socket.io.js 1.4.4 page (needs dist/ from
    /// `cargo xtask size`; writes bench/results/s5.md).
    Payload,
    /// Every cargo-fuzz target in fuzz/, seeded from fuzz/seeds/; fails on a
    /// crash. Installs cargo-fuzz 0.13.2; needs nightly.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Only these targets (default: all).
        targets: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = process::handle_interrupts().and_then(|()| match cli.command {
        Command::Test { extra } => test::run(&extra),
        Command::Interop => interop::matrix(),
        Command::Setup => setup::all(),
        Command::Serve { bind } => serve::serve(bind),
        Command::Dev => serve::dev(),
        Command::Size { no_build, nightly } => size::run(!no_build, nightly),
        Command::Bench {
            quick, s6: true, ..
        } => bench::run_s6(quick),
        Command::Bench {
            quick, s7: true, ..
        } => bench::run_s7(quick),
        Command::Bench { quick, .. } => bench::run(quick),
        Command::Cluster { front, nodes } => cluster::run(front, nodes),
        Command::Fault { clients } => fault::faults(clients),
        Command::Payload => payload::s5(),
        Command::Fuzz { seconds, targets } => fuzz::fuzz(seconds, targets),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
