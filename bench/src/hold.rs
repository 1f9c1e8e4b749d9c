//! Scenario S3: many identified connections, held.
//!
//! Ramps to `clients` identified connections (each keeping presence up to
//! date as the page does), then holds them for `hold` through several
//! heartbeats, and reports how many were kept, how many heartbeats each saw,
//! and the server's resident memory while they are all held. One process can
//! hold fewer than 20,000 sockets (open-file limit), so `cargo xtask bench`
//! runs two of these side by side from different 127.0.0.x source addresses.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::summary::HoldSummary;
use tokio::sync::watch;

use crate::crowd;
use crate::report::{own_cpu_secs, peak_rss_kib, rss_kib};
use crate::shell::{ended, Client};

/// One hold run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub clients: usize,
    pub hold: Duration,
    pub sources: Vec<IpAddr>,
    pub server_pid: Option<u32>,
}

/// What one held client saw.
struct Held {
    pings: u64,
    online: usize,
}

/// Ramps, prints `ready` through `on_ready` (so a driver can line up several
/// generators), holds, and summarises.
pub async fn run(plan: Plan, on_ready: impl FnOnce(usize, Duration)) -> HoldSummary {
    let (go, go_rx) = watch::channel::<Option<Instant>>(None);
    let (ramp, tasks) = crowd::spawn(
        &[plan.addr],
        plan.clients,
        &plan.sources,
        "held",
        move |_, client| hold(client, go_rx.clone()),
    );
    let ramp_time = ramp.done(plan.clients, Duration::from_secs(300)).await;
    let connected = ramp.ready.load(Ordering::Relaxed);
    on_ready(connected, ramp_time);
    let _ = go.send(Some(Instant::now() + plan.hold));
    tokio::time::sleep(plan.hold / 2).await;
    let server = plan.server_pid.map(|pid| pid.to_string());
    let server_rss_kib_held = server.as_deref().and_then(rss_kib);

    let mut held = Vec::new();
    let mut drops = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Some(Ok(h))) => held.push(h),
            Ok(Some(Err(e))) => drops.push(e),
            Ok(None) => {}
            Err(e) => drops.push(format!("task panicked: {e}")),
        }
    }
    let mut pings: Vec<u64> = held.iter().map(|h| h.pings).collect();
    pings.sort_unstable();
    HoldSummary {
        clients: plan.clients,
        connected,
        connect_failed: ramp.failed.load(Ordering::Relaxed),
        first_error: ramp.first_error.lock().ok().and_then(|e| e.clone()),
        ramp_secs: ramp_time.as_secs_f64(),
        hold_secs: plan.hold.as_secs_f64(),
        kept: held.len(),
        dropped: drops.len(),
        first_drop: drops.into_iter().next(),
        pings_min: pings.first().copied().unwrap_or(0),
        pings_median: pings.get(pings.len() / 2).copied().unwrap_or(0),
        presence_total_min: held.iter().map(|h| h.online).min().unwrap_or(0),
        server_rss_kib_held,
        server_peak_rss_kib: server.as_deref().and_then(peak_rss_kib),
        generator_cpu_secs: own_cpu_secs(),
        generator_peak_rss_kib: peak_rss_kib("self"),
    }
}

/// Keeps one client alive until the hold ends.
async fn hold(
    mut client: Client,
    mut go: watch::Receiver<Option<Instant>>,
) -> Result<Held, String> {
    let end = client.live_until(&mut go).await?;
    tokio::select! {
        lost = client.live() => return Err(ended(lost)),
        _ = tokio::time::sleep_until(end.into()) => {}
    }
    Ok(Held {
        pings: client.pings(),
        online: client.presence.len(),
    })
}
