//! `cargo xtask bench [--quick]`: scenario S1 (closed-loop identify with ack)
//! side by side against our server, node socket.io 4.8, Flask-SocketIO 5.7
//! and a raw websocket echo server (the ceiling), in one run.
//!
//! Servers are pinned to CPU 0 and the load generator to CPU 1 (taskset);
//! the generator reads the server's CPU and peak RSS from /proc/<pid> and
//! reports its own CPU. Results go to `bench/results/s1.md`. `--quick` (run by
//! `cargo xtask test` so the tool cannot rot) uses debug builds, our server
//! and the echo only, and a second per run: it checks that the tool works,
//! not how fast anything is.

use std::path::Path;
use std::process::Command;

use crate::interop::{free_port, node_peers, python_peers, Server};
use crate::proc::{cargo, repo_root, run_checked};

/// One contender in the table.
struct Contender {
    name: &'static str,
    server: Server,
}

/// One row: a contender at a client count.
struct Row {
    contender: &'static str,
    clients: usize,
    summary: serde_json::Value,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let quick = match args.first().map(String::as_str) {
        None => false,
        Some("--quick") => true,
        Some(other) => return Err(format!("bench: unknown argument {other:?} (try --quick)")),
    };
    let root = repo_root();
    let profile = if quick { "debug" } else { "release" };
    let mut build = cargo();
    build
        .args(["build", "-p", "server", "-p", "bench"])
        .current_dir(&root);
    if !quick {
        build.arg("--release");
    }
    run_checked(&mut build)?;
    let bin = |name: &str| root.join("target").join(profile).join(name);
    let logs = root.join("target/bench/logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    let pin = Pinning::detect();
    let mut contenders = vec![
        Contender {
            name: "raw websocket echo (ceiling)",
            server: Server::start(
                "echo",
                pin.server(&bin("echo"))
                    .args(["--bind", &free_port()?.to_string()]),
                &logs.join("echo.log"),
            )?,
        },
        Contender {
            name: "our server",
            server: Server::start(
                "our server",
                pin.server(&bin("server"))
                    .args(["--bind", &free_port()?.to_string()])
                    .args(["--log", "warn"]),
                &logs.join("ours.log"),
            )?,
        },
    ];
    if !quick {
        node_peers(&root)?;
        let python = python_peers(&root)?;
        contenders.push(Contender {
            name: "node socket.io 4.8",
            server: Server::start(
                "node socket.io",
                pin.server(Path::new("node"))
                    .arg(root.join("interop/node_server.js"))
                    .args(["--port", &free_port()?.port().to_string()])
                    .args(["--origin", "http://127.0.0.1:1"]),
                &logs.join("node.log"),
            )?,
        });
        contenders.push(Contender {
            name: "Flask-SocketIO 5.7 (threading)",
            server: Server::start(
                "Flask-SocketIO",
                pin.server(&python)
                    .arg(root.join("interop/flask_server.py"))
                    .args(["--port", &free_port()?.port().to_string()])
                    .args(["--origin", "http://127.0.0.1:1"])
                    .env("PYTHONUNBUFFERED", "1"),
                &logs.join("flask.log"),
            )?,
        });
    }

    let (seconds, loads): (&str, &[usize]) = if quick {
        ("1", &[50])
    } else {
        ("20", &[1000, 100])
    };
    let mut rows = Vec::new();
    for contender in &contenders {
        for &clients in loads {
            // Flask-SocketIO collapses at 1,000 clients (issue 5's reference figures).
            if contender.name.starts_with("Flask") && clients > 100 {
                continue;
            }
            rows.push(measure(&pin, &bin("loadgen"), contender, clients, seconds)?);
        }
    }
    drop(contenders);

    let table = table(&rows, &pin);
    println!("{table}");
    if quick {
        for row in &rows {
            if row.summary["failed_clients"] != 0 || row.summary["acks"] == 0 {
                return Err(format!(
                    "bench --quick: {} failed: {}",
                    row.contender, row.summary
                ));
            }
        }
    } else {
        let out = root.join("bench/results");
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let path = out.join("s1.md");
        std::fs::write(&path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("xtask: wrote {}", path.display());
    }
    Ok(())
}

/// Runs the load generator once against one contender.
fn measure(
    pin: &Pinning,
    loadgen: &Path,
    contender: &Contender,
    clients: usize,
    seconds: &str,
) -> Result<Row, String> {
    let target = if contender.name.starts_with("raw") {
        "echo"
    } else {
        "socketio"
    };
    println!(
        "xtask: ── S1 {} × {clients} clients, {seconds} s",
        contender.name
    );
    let output = pin
        .generator(loadgen)
        .args(["--addr", &contender.server.addr().to_string()])
        .args(["--target", target])
        .args(["--clients", &clients.to_string()])
        .args(["--seconds", seconds])
        .args(["--sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5"])
        .args(["--server-pid", &contender.server.pid().to_string()])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", loadgen.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .ok_or_else(|| {
            format!(
                "loadgen printed no summary against {} ({}):\n{}{}",
                contender.name,
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok(Row {
        contender: contender.name,
        clients,
        summary,
    })
}

/// CPU pinning with taskset when there are at least two CPUs.
struct Pinning {
    enabled: bool,
}

impl Pinning {
    fn detect() -> Pinning {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let taskset = Command::new("taskset").arg("-V").output().is_ok();
        Pinning {
            enabled: cpus >= 2 && taskset,
        }
    }

    fn command(&self, cpu: &str, program: &Path) -> Command {
        if self.enabled {
            let mut command = Command::new("taskset");
            command.args(["-c", cpu]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn server(&self, program: &Path) -> Command {
        self.command("0", program)
    }

    fn generator(&self, program: &Path) -> Command {
        self.command("1", program)
    }
}

/// The Markdown table of a run.
fn table(rows: &[Row], pin: &Pinning) -> String {
    let mut out = String::from(
        "| server | clients | acks/s | mean ms | p50 ms | p99 ms | p999 ms | min / median acks per client | connect s | server CPU s | server peak RSS MiB | generator CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let s = &row.summary;
        let f = |key: &str| s[key].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} | {:.2} | {:.1} | {:.1} | {:.1} |\n",
            row.contender,
            row.clients,
            f("acks_per_sec"),
            f("mean_ms"),
            f("p50_ms"),
            f("p99_ms"),
            f("p999_ms"),
            s["min_client_acks"],
            s["median_client_acks"],
            f("connect_secs"),
            f("server_cpu_secs"),
            f("server_peak_rss_kib") / 1024.0,
            f("generator_cpu_secs"),
        ));
    }
    out.push_str(&format!(
        "\nS1: closed loop of identify-with-ack; servers {} CPU 0, load generator {} CPU 1.\n",
        if pin.enabled {
            "pinned to"
        } else {
            "not pinned (no taskset or < 2 CPUs);"
        },
        if pin.enabled { "pinned to" } else { "on" },
    ));
    out
}
