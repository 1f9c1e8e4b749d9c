//! `loadgen`: runs one scenario and prints its summary as one JSON line.
//!
//! ```text
//! loadgen --scenario s1 --addr 127.0.0.1:3000 --target socketio|rename|echo --clients 1000 --seconds 20
//! loadgen --scenario s2 --addr … --clients 1000 --rate 20000 --seconds 20
//! loadgen --scenario s3 --addr … --clients 9500 --seconds 60     (prints a `ready` line first)
//! loadgen --scenario s4 --addr … --clients 10000
//! loadgen --scenario s6 --addr A,B,C --clients 10000   (S4 over several shared-mode servers)
//! loadgen --scenario fault --addr … --clients 1000 --seconds 30   (ready line, then waits
//!         for the server to die and everyone to be back, at most --seconds after the loss)
//! loadgen --scenario churn --addr … --clients 50 --cycles 10000   (50 workers, 10,000 sessions)
//!         [--sources 127.0.0.2,127.0.0.3] [--server-pid PID]
//! ```

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use bench::closed_loop::Target;
use bench::{churn, closed_loop, fanout, fault, hold, open_loop};
use clap::{Parser, ValueEnum};
use serde::Serialize;

/// Everything the flags can say; each scenario takes what it needs.
#[derive(Parser)]
#[command(
    about = "Runs one benchmark scenario and prints its summary as one JSON line.",
    allow_negative_numbers = true
)]
struct Args {
    #[arg(long, value_enum, default_value = "s1")]
    scenario: Scenario,
    /// The server, or several (comma-separated) for s6.
    #[arg(long = "addr", value_delimiter = ',', default_value = "127.0.0.1:3000")]
    addrs: Vec<SocketAddr>,
    /// What S1 sends.
    #[arg(long, value_enum, default_value = "socketio")]
    target: TargetArg,
    /// Clients (churn: workers).
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// How long to run or hold (fault: how long after the loss), 0.1 to 3600.
    #[arg(long = "seconds", value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    duration: Duration,
    /// S2's requests per second.
    #[arg(long, default_value = "1000", value_parser = rate)]
    rate: f64,
    /// Churn's sessions in total.
    #[arg(long, default_value_t = 1000)]
    cycles: usize,
    /// Local addresses to connect from (comma-separated).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<IpAddr>,
    /// The server's process id, for its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    S1,
    S2,
    S3,
    S4,
    S6,
    Fault,
    Churn,
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetArg {
    Socketio,
    Rename,
    Echo,
}

fn seconds(value: &str) -> Result<Duration, String> {
    let secs: f64 = value.parse().map_err(|e| format!("{e}"))?;
    if secs.is_nan() {
        return Err("not a number".into());
    }
    Ok(Duration::from_secs_f64(secs.clamp(0.1, 3600.0)))
}

fn rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value.parse().map_err(|e| format!("{e}"))?;
    if rate > 0.0 && rate.is_finite() {
        Ok(rate)
    } else {
        Err(format!("{rate}: must be a positive number"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(args))
}

async fn run(a: Args) -> ExitCode {
    let addr = a.addrs[0];
    match a.scenario {
        Scenario::S1 => {
            let s = closed_loop::run(closed_loop::Plan {
                addr,
                target: match a.target {
                    TargetArg::Socketio => Target::SocketIo,
                    TargetArg::Rename => Target::Rename,
                    TargetArg::Echo => Target::Echo,
                },
                clients: a.clients,
                duration: a.duration,
                sources: a.sources,
                server_pid: a.server_pid,
            })
            .await;
            print(&s, s.failed_clients == 0 && s.acks > 0)
        }
        Scenario::S2 => {
            let s = open_loop::run(open_loop::Plan {
                addr,
                clients: a.clients,
                rate: a.rate,
                duration: a.duration,
                sources: a.sources,
                server_pid: a.server_pid,
            })
            .await;
            print(&s, s.failed_clients == 0 && s.acks > 0)
        }
        Scenario::S3 => {
            let plan = hold::Plan {
                addr,
                clients: a.clients,
                hold: a.duration,
                sources: a.sources,
                server_pid: a.server_pid,
            };
            let s = hold::run(plan, |ready, ramp| {
                println!(r#"{{"ready":{ready},"ramp_secs":{}}}"#, ramp.as_secs_f64());
            })
            .await;
            print(&s, s.connect_failed == 0 && s.dropped == 0 && s.kept > 0)
        }
        Scenario::S4 | Scenario::S6 => {
            let s = fanout::run(fanout::Plan {
                addrs: a.addrs,
                clients: a.clients,
                sources: a.sources,
                server_pid: a.server_pid,
            })
            .await;
            print(&s, s.missed == 0 && s.saw > 0 && s.connect_failed == 0)
        }
        Scenario::Fault => {
            let plan = fault::Plan {
                addr,
                clients: a.clients,
                sources: a.sources,
                limit: a.duration,
            };
            let s = fault::run(plan, |ready| println!(r#"{{"ready":{ready}}}"#)).await;
            let ok = s.ready == s.clients
                && s.back == s.ready
                && s.server_identified == Some(s.back as u64)
                && s.first_error.is_none();
            print(&s, ok)
        }
        Scenario::Churn => {
            // --clients workers, --cycles sessions in total.
            let s = churn::run(addr, a.cycles, a.clients, a.sources).await;
            print(&s, s.failed == 0)
        }
    }
}

fn print(summary: &impl Serialize, ok: bool) -> ExitCode {
    println!("{}", serde_json::to_string(summary).expect("json"));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
