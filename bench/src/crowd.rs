//! Many identified clients at once, for the scale scenarios (S3, S4).
//!
//! Each client connects, waits for `connected` and identifies with an ack,
//! at most [`HANDSHAKES_AT_ONCE`] at a time (a bounded ramp: a burst of
//! 10,000 simultaneous SYNs only measures the kernel's backlog), then runs
//! the scenario's body with its [`Client`].

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_client::Identify;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::shell::Client;

/// Handshakes in flight at once during a ramp.
pub const HANDSHAKES_AT_ONCE: usize = 256;

/// Counts of a ramp in progress.
#[derive(Debug, Default)]
pub struct Ramp {
    /// Clients connected and identified.
    pub ready: AtomicUsize,
    /// Clients that could not connect or identify.
    pub failed: AtomicUsize,
    /// The first failure, to print.
    pub first_error: std::sync::Mutex<Option<String>>,
}

impl Ramp {
    /// Waits (bounded by `limit`) until every one of `n` clients is ready or failed.
    pub async fn done(&self, n: usize, limit: Duration) -> Duration {
        let started = Instant::now();
        while self.ready.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed) < n
            && started.elapsed() < limit
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        started.elapsed()
    }

    fn fail(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(error);
    }
}

/// Spawns `n` clients, spread round-robin over `addrs` (several servers: the
/// shared mode); each runs `body(index, client)` once identified.
/// Clients that fail before that count in [`Ramp::failed`] and yield `None`.
pub fn spawn<T, F, Fut>(
    addrs: &[SocketAddr],
    n: usize,
    sources: &[IpAddr],
    name_prefix: &str,
    body: F,
) -> (Arc<Ramp>, Vec<JoinHandle<Option<T>>>)
where
    F: Fn(usize, Client) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let ramp = Arc::new(Ramp::default());
    let gate = Arc::new(Semaphore::new(HANDSHAKES_AT_ONCE));
    let tasks = (0..n)
        .map(|i| {
            let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
            let addr = addrs[i % addrs.len()];
            let (ramp, gate, body) = (ramp.clone(), gate.clone(), body.clone());
            let name = format!("{name_prefix}{i}");
            tokio::spawn(async move {
                let joined = {
                    let _permit = gate.acquire().await.ok()?;
                    identified(addr, source, name).await
                };
                match joined {
                    Ok(client) => {
                        ramp.ready.fetch_add(1, Ordering::Relaxed);
                        Some(body(i, client).await)
                    }
                    Err(error) => {
                        ramp.fail(error);
                        None
                    }
                }
            })
        })
        .collect();
    (ramp, tasks)
}

async fn identified(
    addr: SocketAddr,
    source: Option<IpAddr>,
    name: String,
) -> Result<Client, String> {
    let mut client = Client::joined(addr, source).await?;
    client.identify(Identify { name }).await?;
    Ok(client)
}
