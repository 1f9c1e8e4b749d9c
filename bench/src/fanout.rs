//! Scenario S4: presence fan-out.
//!
//! `clients` identified clients wait until their presence shows all of them;
//! then one more client identifies, and each of the others records when its
//! presence first counts the newcomer. The spread of those times is how long
//! one change takes to reach everyone (the coalescing window included).
//!
//! S6 is the same run with the clients spread over several server processes
//! sharing one Redis: the newcomer joins the first, and the change reaches
//! the others through Redis.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::summary::FanoutSummary;
use app_client::Identify;
use tokio::sync::watch;

use crate::crowd;
use crate::report::{own_cpu_secs, peak_rss_kib};
use crate::shell::{ended, Client};

/// One fan-out run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The servers; clients are spread over them, the newcomer joins the first.
    pub addrs: Vec<SocketAddr>,
    pub clients: usize,
    pub sources: Vec<IpAddr>,
    pub server_pid: Option<u32>,
}

/// How long a client waits for the newcomer before it counts as a miss.
const SEE_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(plan: Plan) -> FanoutSummary {
    let (expect, expect_rx) = watch::channel::<Option<usize>>(None);
    let settled = Arc::new(AtomicUsize::new(0));
    let watchers = settled.clone();
    let (ramp, tasks) = crowd::spawn(
        &plan.addrs,
        plan.clients,
        &plan.sources,
        "crowd",
        move |_, client| watch_for_newcomer(client, expect_rx.clone(), watchers.clone()),
    );
    let ramp_time = ramp.done(plan.clients, Duration::from_secs(300)).await;
    let connected = ramp.ready.load(Ordering::Relaxed);
    let _ = expect.send(Some(connected));
    let settle_started = Instant::now();
    while settled.load(Ordering::Relaxed) < connected && settle_started.elapsed() < SEE_LIMIT * 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let settle_time = settle_started.elapsed();

    // The one change: a newcomer identifies.
    let mut trigger_error = None;
    let mut newcomer = Client::joined(plan.addrs[0], None).await;
    let t0 = Instant::now();
    if let Ok(newcomer) = &mut newcomer {
        let identify = Identify {
            name: "newcomer".into(),
        };
        if let Err(e) = newcomer.identify(identify).await {
            trigger_error = Some(e);
        }
    }
    let trigger_error = trigger_error.or(newcomer.as_ref().err().cloned());

    let mut seen = Vec::new();
    let mut kept = Vec::new();
    let mut misses = Vec::new();
    for task in tasks {
        match task.await {
            // Clients stay connected until everyone is counted: a leave
            // must not be mistaken for a miss.
            Ok(Some(Ok((at, client)))) => {
                seen.push(at.saturating_duration_since(t0));
                kept.push(client);
            }
            Ok(Some(Err(e))) => misses.push(e),
            Ok(None) => {}
            Err(e) => misses.push(format!("task panicked: {e}")),
        }
    }
    drop((newcomer, kept));
    seen.sort_unstable();
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    FanoutSummary {
        clients: plan.clients,
        connected,
        connect_failed: ramp.failed.load(Ordering::Relaxed),
        first_error: trigger_error.or_else(|| ramp.first_error.lock().ok().and_then(|e| e.clone())),
        ramp_secs: ramp_time.as_secs_f64(),
        settle_secs: settle_time.as_secs_f64(),
        saw: seen.len(),
        missed: misses.len(),
        first_miss: misses.into_iter().next(),
        p50_ms: ms(seen.get(seen.len() / 2)),
        p100_ms: ms(seen.last()),
        generator_cpu_secs: own_cpu_secs(),
        server_peak_rss_kib: plan
            .server_pid
            .and_then(|pid| peak_rss_kib(&pid.to_string())),
    }
}

/// Waits until presence counts everyone, then until it counts one more;
/// returns when that happened, and the client (still connected).
async fn watch_for_newcomer(
    mut client: Client,
    mut expect: watch::Receiver<Option<usize>>,
    settled: Arc<AtomicUsize>,
) -> Result<(Instant, Client), String> {
    let everyone = client.live_until(&mut expect).await?;
    let limit = SEE_LIMIT * 3;
    tokio::time::timeout(limit, client.until_online(everyone))
        .await
        .map_err(|_| format!("presence never counted all {everyone}"))?
        .map_err(ended)?;
    settled.fetch_add(1, Ordering::Relaxed);
    tokio::time::timeout(limit, client.until_online(everyone + 1))
        .await
        .map_err(|_| "never saw the newcomer".to_owned())?
        .map_err(ended)?;
    Ok((Instant::now(), client))
}
