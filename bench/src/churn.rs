//! Connect/disconnect churn: many short sessions, to show the server gives
//! back what each one took (no leak).
//!
//! `concurrency` workers each run sessions back to back — connect, join
//! `/iss`, identify with an ack, hang up — until `cycles` sessions are done.
//! The driver reads the server's resident memory before and after.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::summary::ChurnSummary;
use app_client::Identify;

use crate::report::own_cpu_secs;
use crate::shell::Client;

pub async fn run(
    addr: SocketAddr,
    cycles: usize,
    concurrency: usize,
    sources: Vec<IpAddr>,
) -> ChurnSummary {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|w| {
            let (next, failed) = (next.clone(), failed.clone());
            let source = (!sources.is_empty()).then(|| sources[w % sources.len()]);
            tokio::spawn(async move {
                let mut first_error = None;
                while next.fetch_add(1, Ordering::Relaxed) < cycles {
                    if let Err(e) = one_session(addr, source).await {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert(e);
                    }
                }
                first_error
            })
        })
        .collect();
    let mut first_error = None;
    for worker in workers {
        if let Ok(Some(e)) = worker.await {
            first_error.get_or_insert(e);
        }
    }
    ChurnSummary {
        clients: concurrency,
        cycles,
        failed: failed.load(Ordering::Relaxed),
        first_error,
        secs: started.elapsed().as_secs_f64(),
        generator_cpu_secs: own_cpu_secs(),
    }
}

/// Connect, join, identify, hang up.
async fn one_session(addr: SocketAddr, source: Option<IpAddr>) -> Result<(), String> {
    let mut client = Client::joined(addr, source).await?;
    client
        .identify(Identify {
            name: "churn".into(),
        })
        .await?;
    client.hang_up().await;
    Ok(())
}
