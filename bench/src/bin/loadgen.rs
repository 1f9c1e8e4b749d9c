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
use serde::Serialize;

/// Everything the flags can say; each scenario takes what it needs.
struct Args {
    scenario: String,
    addr: SocketAddr,
    /// Every `--addr` given (comma-separated); `addr` is the first.
    addrs: Vec<SocketAddr>,
    target: Target,
    clients: usize,
    duration: Duration,
    rate: f64,
    cycles: usize,
    sources: Vec<IpAddr>,
    server_pid: Option<u32>,
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1).collect()) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("loadgen: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(args))
}

async fn run(a: Args) -> ExitCode {
    match a.scenario.as_str() {
        "s1" => {
            let s = closed_loop::run(closed_loop::Plan {
                addr: a.addr,
                target: a.target,
                clients: a.clients,
                duration: a.duration,
                sources: a.sources,
                server_pid: a.server_pid,
            })
            .await;
            print(&s, s.failed_clients == 0 && s.acks > 0)
        }
        "s2" => {
            let s = open_loop::run(open_loop::Plan {
                addr: a.addr,
                clients: a.clients,
                rate: a.rate,
                duration: a.duration,
                sources: a.sources,
                server_pid: a.server_pid,
            })
            .await;
            print(&s, s.failed_clients == 0 && s.acks > 0)
        }
        "s3" => {
            let plan = hold::Plan {
                addr: a.addr,
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
        "s4" | "s6" => {
            let s = fanout::run(fanout::Plan {
                addrs: a.addrs,
                clients: a.clients,
                sources: a.sources,
                server_pid: a.server_pid,
            })
            .await;
            print(&s, s.missed == 0 && s.saw > 0 && s.connect_failed == 0)
        }
        "fault" => {
            let plan = fault::Plan {
                addr: a.addr,
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
        "churn" => {
            // --clients workers, --cycles sessions in total.
            let s = churn::run(a.addr, a.cycles, a.clients, a.sources).await;
            print(&s, s.failed == 0)
        }
        other => {
            eprintln!("loadgen: --scenario {other:?}: s1, s2, s3, s4, s6, fault or churn");
            ExitCode::from(2)
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

fn parse(args: Vec<String>) -> Result<Args, String> {
    let mut a = Args {
        scenario: "s1".into(),
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        addrs: vec![SocketAddr::from(([127, 0, 0, 1], 3000))],
        target: Target::SocketIo,
        clients: 100,
        duration: Duration::from_secs(5),
        rate: 1000.0,
        cycles: 1000,
        sources: Vec::new(),
        server_pid: None,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--scenario" => a.scenario = value()?,
            "--addr" => {
                a.addrs = value()?
                    .split(',')
                    .map(|addr| addr.parse().map_err(|e| format!("--addr {addr}: {e}")))
                    .collect::<Result<_, String>>()?;
                a.addr = a.addrs[0];
            }
            "--target" => {
                a.target = match value()?.as_str() {
                    "socketio" => Target::SocketIo,
                    "rename" => Target::Rename,
                    "echo" => Target::Echo,
                    other => return Err(format!("--target {other:?}: socketio, rename or echo")),
                }
            }
            "--clients" => a.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--seconds" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--seconds: {e}"))?;
                a.duration = Duration::from_secs_f64(secs.clamp(0.1, 3600.0));
            }
            "--rate" => {
                let rate: f64 = value()?.parse().map_err(|e| format!("--rate: {e}"))?;
                if !(rate > 0.0 && rate.is_finite()) {
                    return Err(format!("--rate {rate}: must be a positive number"));
                }
                a.rate = rate;
            }
            "--cycles" => a.cycles = value()?.parse().map_err(|e| format!("--cycles: {e}"))?,
            "--sources" => {
                a.sources = value()?
                    .split(',')
                    .map(|ip| {
                        ip.parse::<IpAddr>()
                            .map_err(|e| format!("--sources {ip}: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--server-pid" => {
                a.server_pid = Some(value()?.parse().map_err(|e| format!("--server-pid: {e}"))?)
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(a)
}
