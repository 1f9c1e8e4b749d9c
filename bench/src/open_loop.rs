//! Scenario S2: latency under load, open loop.
//!
//! A closed loop measures how fast the server can go, but its latencies hide
//! queueing: a slow reply delays the next request. Here every client sends
//! `identify` with an ack on a fixed schedule (the total `rate` spread evenly
//! over clients and phases), whether or not earlier replies have come back,
//! and each latency is measured from the *scheduled* send time, so a stall
//! shows up in the percentiles instead of silently lowering the rate
//! (no coordinated omission).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_client::Identify;
use tokio::sync::watch;

use crate::closed_loop::{settle, wait_ready};
use crate::lean::{Incoming, Lean};
use crate::report::{peak_rss_kib, proc_cpu_secs, ClientResult};
use crate::shell::Client;
use crate::summary::LoadSummary;

/// One open-loop run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub clients: usize,
    /// Requests per second over all clients.
    pub rate: f64,
    pub duration: Duration,
    pub sources: Vec<IpAddr>,
    pub server_pid: Option<u32>,
}

/// Between the start signal and the first scheduled send.
const WAKE_UP: Duration = Duration::from_millis(500);

/// How long replies may still arrive after the last scheduled send.
const DRAIN: Duration = Duration::from_secs(2);

/// Connects and identifies everyone, then sends on schedule for `duration`.
pub async fn run(plan: Plan) -> LoadSummary {
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (go, go_rx) = watch::channel::<Option<Instant>>(None);
    let started = Instant::now();
    let interval = Duration::from_secs_f64(plan.clients as f64 / plan.rate.max(0.001));
    let mut tasks = Vec::with_capacity(plan.clients);
    for i in 0..plan.clients {
        let source = (!plan.sources.is_empty()).then(|| plan.sources[i % plan.sources.len()]);
        let (ready, failed, go_rx, plan) =
            (ready.clone(), failed.clone(), go_rx.clone(), plan.clone());
        // Client i starts i/clients of an interval in, so sends are spread evenly.
        let phase = interval.mul_f64(i as f64 / plan.clients as f64);
        tasks.push(tokio::spawn(async move {
            match client(&plan, source, interval, phase, &ready, go_rx).await {
                Ok(done) => done,
                Err(error) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    (ClientResult::failed(error), None)
                }
            }
        }));
    }
    wait_ready(&ready, &failed, plan.clients).await;
    let connect_time = started.elapsed();
    settle().await;
    let server = plan.server_pid.map(|pid| pid.to_string());
    let server_cpu_before = server.as_deref().map(proc_cpu_secs);
    // Waking 1,000 clients takes the generator tens of milliseconds; the
    // schedule starts after that, so no send is late because of it.
    let _ = go.send(Some(Instant::now() + WAKE_UP + plan.duration));
    let mut results = Vec::with_capacity(plan.clients);
    // Clients stay connected until everyone is done: a client that finishes
    // early must not make the server handle its disconnect while others
    // are still measuring.
    let mut finished = Vec::with_capacity(plan.clients);
    for task in tasks {
        let (result, client) = task
            .await
            .unwrap_or_else(|_| (ClientResult::failed("task panicked".into()), None));
        results.push(result);
        finished.push(client);
    }
    drop(finished);
    let mut summary = LoadSummary::new(&results, plan.duration, connect_time);
    if let (Some(pid), Some(before)) = (server.as_deref(), server_cpu_before) {
        summary.server_cpu_secs = Some(proc_cpu_secs(pid) - before);
        summary.server_peak_rss_kib = peak_rss_kib(pid);
    }
    summary
}

async fn client(
    plan: &Plan,
    source: Option<IpAddr>,
    interval: Duration,
    phase: Duration,
    ready: &AtomicUsize,
    mut go: watch::Receiver<Option<Instant>>,
) -> Result<(ClientResult, Option<Lean>), String> {
    let mut client = Client::joined(plan.addr, source).await?;
    let name = format!("open{}", ready.load(Ordering::Relaxed));
    client.identify(Identify { name: name.clone() }).await?;
    ready.fetch_add(1, Ordering::Relaxed);

    let end = client.live_until(&mut go).await?;
    // The measured part in raw frames, as S1's (`lean.rs`): the generator
    // must not be what limits the latencies.
    let mut lean = Lean::new(client.into_ws().await?, &name);
    let start = end - plan.duration;
    let mut next = start + phase;
    let mut in_flight: HashMap<u64, Instant> = HashMap::new();
    let mut result = ClientResult::new();
    loop {
        let now = Instant::now();
        while next < end && next <= now {
            let id = lean.send().await?;
            in_flight.insert(id, next);
            next += interval;
        }
        if next >= end && in_flight.is_empty() {
            return Ok((result, Some(lean)));
        }
        if Instant::now() >= end + DRAIN {
            return Err(format!(
                "{} replies still missing {DRAIN:?} after the run",
                in_flight.len()
            ));
        }
        let wake = if next < end { next } else { end + DRAIN };
        tokio::select! {
            incoming = lean.recv() => match incoming? {
                Incoming::Ping => lean.pong().await?,
                Incoming::Ack { id, ok } => {
                    let Some(scheduled) = in_flight.remove(&id) else {
                        continue;
                    };
                    if !ok {
                        return Err(format!("identify {id} refused"));
                    }
                    result.record(scheduled.elapsed());
                }
                Incoming::Other => {}
            },
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}
