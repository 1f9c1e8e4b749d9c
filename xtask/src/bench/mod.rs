//! `cargo xtask bench [--quick]`: the benchmark scenarios, side by side
//! against the peers, in one run: S1 throughput, S2 latency under load (at
//! half of our S1 peak), S3 19,000 held connections from two generator
//! processes (one process may hold < 20,000 files), S4 presence fan-out, S5
//! payload ([`crate::payload`]), S6 shared mode on Redis ([`shared_mode`])
//! and S7 Engine.IO v3 POST bodies ([`v3_bodies`]).
//!
//! Each scenario gets fresh server processes, so one scenario's memory does
//! not count against the next; servers are pinned to CPU 0 and generators
//! to CPU 1. `--quick` (run by `cargo xtask test` so the tool cannot rot)
//! uses debug builds, our server and the echo, a few hundred clients and a
//! second or two per scenario, writes nothing, and fails if any client fails.

pub mod loadgen;
mod pin;
mod shared_mode;
mod v3_bodies;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, bail, ensure, Context, Result};
use bench::tables::{self, Run};
use bench::tables::{ECHO, FLASK, NODE, NODE_S3, OURS, OURS_WARN, STOCK, STOCK_S3};
use duct::{cmd, Expression};

use crate::interop::{flask_server, node_peers, node_server, python_peers};
use crate::process::{self, cargo, create_dir, free_port, repo_root, rss_kib, write_file, Server};
use loadgen::SOURCES;
use pin::Pinning;

/// Connections the server may hold in S3/S4: 19,000 clients plus slack,
/// below the machine's 20,000 open files per process.
const MAX_CONNECTIONS: &str = "19800";

/// The peers' allowed origin: none that a browser would send.
const NO_ORIGIN: &str = "http://127.0.0.1:1";

struct Sizes {
    s1_loads: &'static [usize],
    /// S1 runs every contender this many times per load, interleaved, and
    /// reports each one's median round: this machine's throughput drifts by
    /// 10–30 % between minutes, and one run each would compare the drift.
    s1_rounds: usize,
    s1_seconds: &'static str,
    s2_clients: usize,
    s2_seconds: &'static str,
    /// Clients per generator process (two processes).
    s3_per_generator: usize,
    s3_hold_seconds: &'static str,
    s4_clients: usize,
}

const FULL: Sizes = Sizes {
    s1_loads: &[1000, 100],
    s1_rounds: 3,
    s1_seconds: "8",
    s2_clients: 1000,
    s2_seconds: "20",
    s3_per_generator: 9500,
    s3_hold_seconds: "60",
    s4_clients: 10_000,
};

const QUICK: Sizes = Sizes {
    s1_loads: &[50],
    s1_rounds: 1,
    s1_seconds: "1",
    s2_clients: 50,
    s2_seconds: "1",
    s3_per_generator: 100,
    s3_hold_seconds: "2",
    s4_clients: 200,
};

/// What every scenario needs: binaries, logs, pinning.
struct Bench {
    root: PathBuf,
    logs: PathBuf,
    pin: Pinning,
    quick: bool,
    sizes: Sizes,
}

/// `cargo xtask bench --s7`: only the v3 bodies; writes `bench/results/s7.md`
/// (not with `--quick`).
pub fn run_s7(quick: bool) -> Result<()> {
    let bench = Bench::prepare(quick)?;
    let table = bench.s7()?;
    println!("{table}");
    if !quick {
        bench.write("s7.md", &table)?;
    }
    Ok(())
}

/// `cargo xtask bench --s6`: only the shared-mode part; writes
/// `bench/results/s6.md`.
pub fn run_s6(quick: bool) -> Result<()> {
    let bench = Bench::prepare(quick)?;
    let shared = bench.shared_mode()?;
    println!("{}", shared.markdown);
    if !quick {
        bench.write("s6.md", &shared.markdown)?;
    }
    ensure!(shared.ok, "a shared-mode generator failed");
    Ok(())
}

pub fn run(quick: bool) -> Result<()> {
    let bench = Bench::prepare(quick)?;
    let s1 = bench.s1()?;
    let peak = tables::ours_peak(&s1).context("S1 measured no rate for our server")?;
    let s2 = bench.s2(peak / 2.0)?;
    let s3 = bench.s3()?;
    let s4 = bench.s4()?;
    let shared = bench.shared_mode()?;
    let s5 = (!quick).then(|| {
        let report = crate::payload::s5_report(&bench.root, &bench.bin("server"));
        report.map_err(|e| format!("{e:#}"))
    });
    let s7 = bench.s7()?;
    let report = tables::report(&s1, &s2, &s3, &s4, s5, bench.pin.describe());
    let report = format!("{report}\n{}\n{s7}", shared.markdown);
    println!("{report}");
    if quick {
        let failed: Vec<String> = [&s1, &s2, &s3, &s4]
            .into_iter()
            .flatten()
            .filter(|run| !run.ok)
            .map(|run| format!("{} {}: {}", run.scenario, run.label, run.to_json()))
            .collect();
        ensure!(failed.is_empty(), "bench --quick: {}", failed.join("\n"));
        ensure!(
            shared.ok,
            "bench --quick: a shared-mode (S6) generator failed"
        );
        return Ok(());
    }
    bench.write_report(&report, &[&s1, &s2, &s3, &s4])
}

impl Bench {
    fn prepare(quick: bool) -> Result<Bench> {
        let root = repo_root();
        let build = ["build", "-p", "server", "-p", "bench"];
        let release: &[&str] = if quick { &[] } else { &["--release"] };
        process::run(&cargo(build.iter().chain(release)).dir(&root))?;
        let logs = root.join("target/bench/logs");
        create_dir(&logs)?;
        Ok(Bench {
            root,
            logs,
            pin: Pinning::detect(),
            quick,
            sizes: if quick { QUICK } else { FULL },
        })
    }

    fn bin(&self, name: &str) -> PathBuf {
        let profile = if self.quick { "debug" } else { "release" };
        self.root.join("target").join(profile).join(name)
    }

    // ── contenders ──────────────────────────────────────────────────────

    /// A server on a free port, pinned to the servers' CPU, its log in
    /// `logs/TAG.log`; `command` is given the port.
    fn start(
        &self,
        name: &'static str,
        tag: &str,
        command: impl FnOnce(SocketAddr) -> Expression,
    ) -> Result<Server> {
        let addr = free_port()?;
        let log = self.logs.join(format!("{tag}.log"));
        Server::start(name, addr, &self.pin.server(command(addr)), &log)
    }

    /// Our server as shipped: default flags and log level, but for the
    /// per-socket identify limit (S1/S2 measure the identify path itself,
    /// which 10/s would answer with `rate_limited`) and room for S3's 19,000
    /// (from 8 loopback addresses, so no per-source cap); then `extra`.
    fn ours(&self, tag: &str, extra: &str) -> Result<Server> {
        self.start("our server", &format!("ours-{tag}"), |addr| {
            let flags = format!(
                "--bind {addr} --max-connections {MAX_CONNECTIONS} --max-per-source 0 --identify-rate 0 {extra}"
            );
            duct::cmd(self.bin("server"), flags.split_whitespace())
        })
    }

    /// The library we build on, with the same `/iss` behaviour and nothing
    /// of ours (`bench/src/bin/stock.rs`).
    fn stock(&self, tag: &str) -> Result<Server> {
        self.start("stock socketioxide", &format!("stock-{tag}"), |addr| {
            cmd!(self.bin("stock"), "--bind", addr.to_string())
        })
    }

    fn echo(&self) -> Result<Server> {
        self.start("echo", "echo", |addr| {
            cmd!(self.bin("echo"), "--bind", addr.to_string())
        })
    }

    fn node(&self, tag: &str) -> Result<Server> {
        node_peers(&self.root)?;
        self.start("node socket.io", &format!("node-{tag}"), |addr| {
            node_server(&self.root, addr.port(), NO_ORIGIN)
        })
    }

    fn flask(&self) -> Result<Server> {
        let python = python_peers(&self.root)?;
        self.start("Flask-SocketIO", "flask", |addr| {
            flask_server(&python, &self.root, addr.port(), NO_ORIGIN, false)
        })
    }

    // ── scenarios ───────────────────────────────────────────────────────

    /// S1 against every contender at every load (Flask only at 100 clients:
    /// it collapses at 1,000, as the reference figures showed).
    fn s1(&self) -> Result<Vec<Run>> {
        let mut contenders = vec![ECHO, OURS, STOCK];
        if !self.quick {
            contenders.extend([OURS_WARN, NODE, FLASK]);
        }
        let mut runs = Vec::new();
        for &clients in self.sizes.s1_loads {
            // Flask only at 100 clients: it collapses at 1,000.
            let mut here = contenders.clone();
            here.retain(|label| *label != FLASK || clients <= 100);
            let mut rounds: Vec<Vec<Run>> = vec![Vec::new(); here.len()];
            for round in 1..=self.sizes.s1_rounds {
                println!("xtask: ── S1 round {round} of {}", self.sizes.s1_rounds);
                for (label, done) in here.iter().zip(&mut rounds) {
                    // A fresh server per run, alone on its CPU: an idle
                    // contender is not always idle (a runtime winding down
                    // a thousand connections), and it would tax the next.
                    let server = self.s1_server(label, &format!("s1-{clients}-r{round}"))?;
                    let target = if *label == ECHO { "echo" } else { "socketio" };
                    let flags = format!("--target {target} --seconds {}", self.sizes.s1_seconds);
                    done.push(self.loadgen("S1", label, &server, clients, &flags)?);
                }
            }
            runs.extend(rounds.into_iter().map(Run::median_round));
        }
        Ok(runs)
    }

    /// Starts the S1 contender with this label.
    fn s1_server(&self, label: &str, tag: &str) -> Result<Server> {
        match label {
            ECHO => self.echo(),
            OURS => self.ours(tag, ""),
            STOCK => self.stock(tag),
            OURS_WARN => self.ours(&format!("{tag}-warn"), "--log warn"),
            NODE => self.node(tag),
            FLASK => self.flask(),
            other => bail!("no S1 contender {other:?}"),
        }
    }

    /// S2: our server, open loop at `rate` requests per second.
    fn s2(&self, rate: f64) -> Result<Vec<Run>> {
        let server = self.ours("s2", "")?;
        let flags = format!("--rate {rate:.0} --seconds {}", self.sizes.s2_seconds);
        let run = self.loadgen("S2", OURS, &server, self.sizes.s2_clients, &flags)?;
        Ok(vec![run])
    }

    /// S3: two generator processes hold connections to a fresh server.
    fn s3(&self) -> Result<Vec<Run>> {
        let mut runs = vec![
            self.hold(OURS, &self.ours("s3", "")?)?,
            self.hold(STOCK_S3, &self.stock("s3")?)?,
        ];
        if !self.quick {
            runs.push(self.hold(NODE_S3, &self.node("s3")?)?);
        }
        Ok(runs)
    }

    /// S4: our server (the peers have no presence to fan out).
    fn s4(&self) -> Result<Vec<Run>> {
        let server = self.ours("s4", "")?;
        let run = self.loadgen("S4", OURS, &server, self.sizes.s4_clients, "")?;
        Ok(vec![run])
    }

    /// S7: v3 POST bodies (see [`v3_bodies`]); the table.
    fn s7(&self) -> Result<String> {
        let server = self.ours("s7", "--max-payload 262144")?;
        let posts = if self.quick { 3 } else { 200 };
        let rows = v3_bodies::measure(&server, posts)?;
        Ok(v3_bodies::table(&rows, posts))
    }

    // ── the load generator ─────────────────────────────────────────────

    /// The generator for `scenario` against `server`, pinned to its CPU.
    fn loadgen_command(
        &self,
        scenario: &str,
        server: &Server,
        clients: usize,
        flags: &str,
    ) -> Expression {
        let flags = format!("--server-pid {} {flags}", server.pid());
        let scenario = scenario.to_lowercase();
        let bin = self.bin("loadgen");
        let command = loadgen::command(&bin, &scenario, server.addr(), clients, &flags);
        self.pin.generator(command)
    }

    /// Runs one generator process to the end.
    fn loadgen(
        &self,
        scenario: &'static str,
        label: &str,
        server: &Server,
        clients: usize,
        flags: &str,
    ) -> Result<Run> {
        println!("xtask: ── {scenario} {label} × {clients} clients");
        let flags = format!("{flags} --sources {SOURCES}");
        let output = loadgen::output(&self.loadgen_command(scenario, server, clients, &flags))?;
        Run::from_output(scenario, label, clients, &output).map_err(|e| anyhow!(e))
    }

    /// S3 for one server: baseline memory, then two generators at once, each
    /// from its own four source addresses.
    fn hold(&self, label: &str, server: &Server) -> Result<Run> {
        let per = self.sizes.s3_per_generator;
        println!("xtask: ── S3 {label} × {} clients (2 generators)", 2 * per);
        std::thread::sleep(std::time::Duration::from_secs(1));
        let baseline = rss_kib(server.pid());
        let generators = [SOURCES, "127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9"].map(|sources| {
            let flags = format!(
                "--seconds {} --sources {sources}",
                self.sizes.s3_hold_seconds
            );
            let command = self.loadgen_command("S3", server, per, &flags);
            command
                .stdout_capture()
                .stderr_capture()
                .unchecked()
                .start()
        });
        let mut halves = Vec::new();
        for generator in generators {
            let output = generator
                .and_then(|g| g.into_output())
                .context("an S3 generator")?;
            halves.push(Run::from_output("S3", label, per, &output).map_err(|e| anyhow!(e))?);
        }
        Ok(Run::merge_holds(label, halves, baseline))
    }

    // ── output ──────────────────────────────────────────────────────────

    /// Writes `bench/results/NAME`.
    fn write(&self, name: &str, text: &str) -> Result<()> {
        let out = self.root.join("bench/results");
        create_dir(&out)?;
        let path = out.join(name);
        write_file(&path, text)?;
        println!("xtask: wrote {}", path.display());
        Ok(())
    }

    /// `latest.md` (the report), `latest.json` (every generator summary, for
    /// anyone who wants more than the tables) and `latency.svg`.
    fn write_report(&self, report: &str, scenarios: &[&[Run]; 4]) -> Result<()> {
        self.write("latest.md", report)?;
        let raw: Vec<serde_json::Value> = scenarios
            .iter()
            .flat_map(|runs| runs.iter())
            .map(Run::to_json)
            .collect();
        self.write("latest.json", &(serde_json::to_string_pretty(&raw)? + "\n"))?;
        let chart = self.root.join("bench/results/latency.svg");
        let series = tables::chart_series(scenarios[0], scenarios[1]);
        bench::chart::latency_chart(&chart, "identify-with-ack latency by percentile", &series)
            .map_err(|e| anyhow!(e))?;
        println!("xtask: wrote {}", chart.display());
        Ok(())
    }
}
