//! Scenario S1: every client, once connected and identified, sends
//! `identify` with an ack and waits for the reply, again and again, until the
//! deadline. Against the echo ceiling the same frame is sent and its echo
//! awaited. The handshake goes through the page's `Session`; the measured
//! loop is [`crate::lean`], about as cheap per request as the echo client.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_client::Identify;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::lean::Lean;
use crate::report::{peak_rss_kib, proc_cpu_secs, ClientResult};
use crate::shell::{connect, Client};
use crate::summary::LoadSummary;

/// What the target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A Socket.IO server with the `/iss` behaviour.
    SocketIo,
    /// The same, but every identify renames (two names in turn): the path
    /// that reaches presence (and Redis, in shared mode).
    Rename,
    /// A websocket echo server: the physical ceiling.
    Echo,
}

/// One closed-loop run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub target: Target,
    pub clients: usize,
    pub duration: Duration,
    /// Source addresses to spread connections over (127.0.0.x); empty: any.
    pub sources: Vec<IpAddr>,
    /// The server's process id, to read its CPU and memory from /proc.
    pub server_pid: Option<u32>,
}

/// Connects everyone, runs the loop for `duration`, and summarises.
pub async fn run(plan: Plan) -> LoadSummary {
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (go, go_rx) = watch::channel::<Option<Instant>>(None);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(plan.clients);
    for i in 0..plan.clients {
        let source = (!plan.sources.is_empty()).then(|| plan.sources[i % plan.sources.len()]);
        let (ready, failed, go_rx, plan) =
            (ready.clone(), failed.clone(), go_rx.clone(), plan.clone());
        tasks.push(tokio::spawn(async move {
            let result = match plan.target {
                Target::SocketIo | Target::Rename => {
                    socketio_client(&plan, source, &ready, go_rx).await
                }
                Target::Echo => echo_client(&plan, source, &ready, go_rx).await,
            };
            if result.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            result.unwrap_or_else(ClientResult::failed)
        }));
    }
    wait_ready(&ready, &failed, plan.clients).await;
    let connect_time = started.elapsed();
    settle().await;
    let server = plan.server_pid.map(|pid| pid.to_string());
    let server_cpu_before = server.as_deref().map(proc_cpu_secs);
    let end = Instant::now() + plan.duration;
    let _ = go.send(Some(end));
    let mut results = Vec::with_capacity(plan.clients);
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|_| ClientResult::failed("task panicked".into())),
        );
    }
    let mut summary = LoadSummary::new(&results, plan.duration, connect_time);
    if let (Some(pid), Some(before)) = (server.as_deref(), server_cpu_before) {
        summary.server_cpu_secs = Some(proc_cpu_secs(pid) - before);
        summary.server_peak_rss_kib = peak_rss_kib(pid);
    }
    summary
}

/// Bounded wait (60 s) for every client to be ready or to have failed.
pub async fn wait_ready(ready: &AtomicUsize, failed: &AtomicUsize, clients: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while ready.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < clients
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Lets the ramp's last presence messages go out before the clock starts:
/// they are sent within one 100 ms presence window; three windows is ample.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Waits for the start signal; returns the end of the run.
pub async fn wait_go(go: &mut watch::Receiver<Option<Instant>>) -> Result<Instant, String> {
    loop {
        if let Some(end) = *go.borrow() {
            return Ok(end);
        }
        go.changed()
            .await
            .map_err(|_| "no start signal".to_owned())?;
    }
}

async fn socketio_client(
    plan: &Plan,
    source: Option<IpAddr>,
    ready: &AtomicUsize,
    mut go: watch::Receiver<Option<Instant>>,
) -> Result<ClientResult, String> {
    // Connected and identified once before the clock starts.
    let mut client = Client::joined(plan.addr, source).await?;
    let name = format!("bench{}", ready.load(Ordering::Relaxed));
    let identify = Identify { name: name.clone() };
    client.identify(identify).await?;
    ready.fetch_add(1, Ordering::Relaxed);

    let end = client.live_until(&mut go).await?;
    // The measured loop in raw frames: see `lean.rs` for why.
    let ws = client.into_ws().await?;
    let mut lean = match plan.target {
        Target::Rename => Lean::renaming(ws, &name),
        _ => Lean::new(ws, &name),
    };
    let mut result = ClientResult::new();
    while Instant::now() < end {
        let sent = Instant::now();
        lean.identify().await?;
        result.record(sent.elapsed());
    }
    Ok(result)
}

async fn echo_client(
    plan: &Plan,
    source: Option<IpAddr>,
    ready: &AtomicUsize,
    mut go: watch::Receiver<Option<Instant>>,
) -> Result<ClientResult, String> {
    let mut ws = connect(plan.addr, source, "/").await?;
    let frame = r#"42/iss,0["identify","bench"]"#;
    ready.fetch_add(1, Ordering::Relaxed);
    let end = wait_go(&mut go).await?;
    let mut result = ClientResult::new();
    while Instant::now() < end {
        let sent = Instant::now();
        ws.send(Message::text(frame))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(_))) => break,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("echo server closed".into()),
            }
        }
        result.record(sent.elapsed());
    }
    Ok(result)
}
