//! Fault scenario: the server dies (SIGKILL) or restarts (SIGTERM) under
//! load, and every client must come back by itself.
//!
//! Unlike the other scenarios, these clients behave exactly like the page:
//! the shared [`Session`] reconnects with its backoff (jitter spreads the
//! herd), and the shared [`Identity`] identifies again after every
//! `connected`. The generator prints `{"ready":N}` once all are identified;
//! the driver (`cargo xtask bench`/the fault test) then kills or stops the
//! server and starts a new one on the same port. The summary says when the
//! first client lost its connection and when each was identified again, in
//! Unix milliseconds, so the driver can measure from its own restart.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::summary::FaultSummary;
use app_client::{ClientConfig, ConnectionState, Identity, Me, Output, Session};
use shared::events::ServerEvent;
use sio_client::native::{Connector, Shell};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::report::own_cpu_secs;
use crate::shell::{connect, SOCKET_PATH};

/// One fault run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub clients: usize,
    pub sources: Vec<IpAddr>,
    /// How long to wait, after the first loss, for everyone to be back.
    pub limit: Duration,
}

/// Shared counts, read by the run while the clients work.
#[derive(Debug, Default)]
struct Counts {
    /// Identified for the first time.
    ready: AtomicUsize,
    /// Lost their connection after that.
    lost: AtomicUsize,
    /// Identified again after a loss.
    back: AtomicUsize,
}

/// One client's timeline, Unix ms.
#[derive(Debug, Default)]
struct Timeline {
    lost: Option<u64>,
    back: Option<u64>,
    error: Option<String>,
    /// Where a client that never came back was stuck.
    last_state: String,
}

/// Runs until every ready client is back after a loss (or `plan.limit`
/// after the first loss; or 10 minutes without any fault).
pub async fn run(plan: Plan, on_ready: impl FnOnce(usize)) -> FaultSummary {
    let counts = Arc::new(Counts::default());
    let (stop, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = (0..plan.clients)
        .map(|i| {
            let source = (!plan.sources.is_empty()).then(|| plan.sources[i % plan.sources.len()]);
            let (counts, stop_rx, addr) = (counts.clone(), stop_rx.clone(), plan.addr);
            tokio::spawn(async move { client(addr, source, i, &counts, stop_rx).await })
        })
        .collect();
    let started = Instant::now();
    while counts.ready.load(Ordering::Relaxed) < plan.clients
        && started.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ready_count = counts.ready.load(Ordering::Relaxed);
    on_ready(ready_count);
    let mut first_loss_seen: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if counts.back.load(Ordering::Relaxed) >= ready_count {
            break;
        }
        if counts.lost.load(Ordering::Relaxed) > 0 {
            if first_loss_seen.get_or_insert_with(Instant::now).elapsed() > plan.limit {
                break;
            }
        } else if started.elapsed() > Duration::from_secs(600) {
            break;
        }
    }
    let server_identified = identified_on(plan.addr).await;
    let _ = stop.send(true);
    let mut timelines = Vec::new();
    for task in tasks {
        timelines.push(task.await.unwrap_or_else(|e| Timeline {
            error: Some(format!("task panicked: {e}")),
            ..Timeline::default()
        }));
    }
    let mut summary = summarise(plan.clients, ready_count, &timelines);
    summary.server_identified = server_identified;
    summary
}

/// `identified` from the server's `/api/stats` (5 s deadline; ureq is
/// blocking, so it runs on tokio's blocking pool).
async fn identified_on(addr: SocketAddr) -> Option<u64> {
    let fetch = move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            // Loopback: never through a proxy from the environment.
            .proxy(None)
            .build()
            .into();
        let mut response = agent.get(format!("http://{addr}/api/stats")).call().ok()?;
        let body = response.body_mut().read_to_string().ok()?;
        let stats: shared::stats::StatsView = serde_json::from_str(&body).ok()?;
        Some(stats.identified as u64)
    };
    tokio::task::spawn_blocking(fetch).await.ok()?
}

fn summarise(clients: usize, ready: usize, timelines: &[Timeline]) -> FaultSummary {
    let first_loss = timelines.iter().filter_map(|t| t.lost).min();
    let mut backs: Vec<u64> = timelines.iter().filter_map(|t| t.back).collect();
    backs.sort_unstable();
    let since = |at: u64| first_loss.map_or(f64::NAN, |l| at.saturating_sub(l) as f64);
    let most_in_100ms = backs
        .iter()
        .enumerate()
        .map(|(i, at)| backs[i..].iter().take_while(|b| **b < at + 100).count())
        .max()
        .unwrap_or(0);
    FaultSummary {
        clients,
        ready,
        lost: timelines.iter().filter(|t| t.lost.is_some()).count(),
        back: backs.len(),
        first_loss_unix_ms: first_loss,
        last_back_unix_ms: backs.last().copied(),
        back_p50_ms: backs.get(backs.len() / 2).map_or(f64::NAN, |b| since(*b)),
        back_p100_ms: backs.last().map_or(f64::NAN, |b| since(*b)),
        most_back_in_100ms: most_in_100ms,
        server_identified: None,
        first_error: timelines.iter().find_map(|t| t.error.clone()),
        stuck: timelines
            .iter()
            .filter(|t| t.back.is_none())
            .take(3)
            .map(|t| t.last_state.clone())
            .collect(),
        generator_cpu_secs: own_cpu_secs(),
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One page-like client until `stop`: reconnects, re-identifies, records.
/// The reconnecting is sio-client's tokio shell; the identity is the page's.
async fn client(
    addr: SocketAddr,
    source: Option<IpAddr>,
    index: usize,
    counts: &Counts,
    mut stop: watch::Receiver<bool>,
) -> Timeline {
    let config = ClientConfig {
        seed: 0x9e37_79b9_7f4a_7c15 ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
        ..app_client::config()
    };
    let connect: Connector<TcpStream> =
        Box::new(move || Box::pin(connect(addr, source, SOCKET_PATH)));
    let mut shell = Shell::new(Session::new(config, 0), connect);
    let mut identity = Identity::new(Some(format!("fault{index}")));
    let mut timeline = Timeline::default();
    let mut identified_once = false;
    loop {
        if *stop.borrow() {
            timeline.last_state = format!(
                "{:?}, {:?}, lost {:?}, ws {}",
                shell.session.state(),
                identity.me(),
                timeline.lost,
                shell.has_transport()
            );
            return timeline;
        }
        let output = tokio::select! {
            output = shell.next() => output,
            _ = stop.changed() => continue,
        };
        let Some(output) = output else {
            // Stopped for good (it never is: attempts are unlimited).
            let _ = stop.wait_for(|stop| *stop).await;
            continue;
        };
        let now = shell.now_ms();
        match output {
            Output::State(state) if !matches!(state, ConnectionState::Connected) => {
                identity.on_disconnected();
                if identified_once && timeline.lost.is_none() {
                    timeline.lost = Some(unix_ms());
                    counts.lost.fetch_add(1, Ordering::Relaxed);
                }
            }
            Output::Event(ServerEvent::Connected(payload)) => {
                identity.connected(&mut shell.session, now, payload.map(|c| c.uuid));
                if let Me::Refused { message, .. } = identity.me() {
                    timeline.error.get_or_insert_with(|| message.clone());
                }
            }
            Output::Ack { id, result } => {
                let mine = identity.on_session_ack(id, &result);
                if mine && matches!(identity.me(), Me::Identified { .. }) {
                    if !identified_once {
                        identified_once = true;
                        counts.ready.fetch_add(1, Ordering::Relaxed);
                    } else if timeline.lost.is_some() && timeline.back.is_none() {
                        timeline.back = Some(unix_ms());
                        counts.back.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ => {}
        }
    }
}
