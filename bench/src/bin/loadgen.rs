//! `loadgen`: runs one closed-loop scenario and prints a JSON summary line.
//!
//! ```text
//! loadgen --addr 127.0.0.1:3000 --target socketio|echo --clients 1000 --seconds 20
//!         [--sources 127.0.0.2,127.0.0.3] [--server-pid PID]
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bench::closed_loop::{run, Plan, Target};

fn main() -> std::process::ExitCode {
    let plan = match parse(std::env::args().skip(1).collect()) {
        Ok(plan) => plan,
        Err(err) => {
            eprintln!("loadgen: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let summary = runtime.block_on(run(plan));
    println!("{}", serde_json::to_string(&summary).expect("json"));
    if summary.failed_clients > 0 || summary.acks == 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

fn parse(args: Vec<String>) -> Result<Plan, String> {
    let mut plan = Plan {
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        target: Target::SocketIo,
        clients: 100,
        duration: Duration::from_secs(5),
        sources: Vec::new(),
        server_pid: None,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => plan.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--target" => {
                plan.target = match value()?.as_str() {
                    "socketio" => Target::SocketIo,
                    "echo" => Target::Echo,
                    other => return Err(format!("--target {other:?}: socketio or echo")),
                }
            }
            "--clients" => {
                plan.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?
            }
            "--seconds" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--seconds: {e}"))?;
                plan.duration = Duration::from_secs_f64(secs.clamp(0.1, 3600.0));
            }
            "--sources" => {
                plan.sources = value()?
                    .split(',')
                    .map(|ip| {
                        ip.parse::<IpAddr>()
                            .map_err(|e| format!("--sources {ip}: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--server-pid" => {
                plan.server_pid = Some(value()?.parse().map_err(|e| format!("--server-pid: {e}"))?)
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(plan)
}
