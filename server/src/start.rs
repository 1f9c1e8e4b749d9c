//! Starting and stopping: bind a listener (or take one), count and guard
//! its connections, serve the router over HTTP/1.1, run the background
//! tasks (presence ticker, report, cluster) and shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;

use axum::serve::ListenerExt;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide_core::adapter::DefinedAdapter;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{report, AppState};
use crate::cluster;
use crate::config::Config;
use crate::error::StartError;
use crate::http::{limit, serve};
use crate::router::{build, proxies, App};

/// A running server: where it listens and how to stop it.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Stops gracefully (clients are told) and waits for the server task.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Binds `config.bind` and serves until [`Server::shutdown`].
pub async fn start(config: &Config) -> Result<Server, StartError> {
    let (stop, stopped) = oneshot::channel::<()>();
    let (addr, state, task) = spawn(config, async {
        let _ = stopped.await;
    })
    .await?;
    Ok(Server {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}

/// Binds and serves until `signal` completes, then closes every socket
/// (clients get a disconnect) and drains for at most the configured grace.
pub async fn spawn(
    config: &Config,
    signal: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, AppState, JoinHandle<std::io::Result<()>>), StartError> {
    let listener = listen(config.bind).map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    // Without TCP_NODELAY every connect pays ≈ 40 ms of Nagle + delayed ACK.
    let send_buffer = config.socket_send_buffer;
    let listener = listener.tap_io(move |tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        if send_buffer > 0 {
            if let Err(err) = socket2::SockRef::from(&*tcp).set_send_buffer_size(send_buffer) {
                tracing::debug!(%err, "could not set SO_SNDBUF");
            }
        }
    });
    let (state, task) = spawn_on(listener, config, signal)?;
    Ok((addr, state, task))
}

/// Serves every connection `listener` accepts, as [`spawn`] does on TCP:
/// the same limits, layers and shutdown. For a listener of in-memory pipes
/// (the whole-server fuzz driver) as much as for the TCP one.
pub fn spawn_on<L>(
    listener: L,
    config: &Config,
    signal: impl Future<Output = ()> + Send + 'static,
) -> Result<(AppState, JoinHandle<std::io::Result<()>>), StartError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: Send + 'static,
{
    match &config.redis_url {
        None => serve_with::<LocalAdapter, L>(listener, config, signal, ()),
        Some(url) => {
            let adapter = cluster::bus::Bus::new(url)?.adapter();
            serve_with::<cluster::bus::SharedAdapter, L>(listener, config, signal, adapter)
        }
    }
}

/// [`spawn_on`] with the Socket.IO adapter chosen: socketioxide's local one,
/// or in shared mode its Redis adapter, which carries emits to a room to
/// every node.
fn serve_with<A, L>(
    listener: L,
    config: &Config,
    signal: impl Future<Output = ()> + Send + 'static,
    adapter: A::State,
) -> Result<(AppState, JoinHandle<std::io::Result<()>>), StartError>
where
    A: Adapter + DefinedAdapter,
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: Send + 'static,
{
    let App { router, io, state } = build::<A>(config, adapter)?;
    let listener = limit::Limited::new(
        listener,
        limit::Slots::new(config.max_connections, config.max_per_source),
        proxies(config),
        config.ping_timeout(),
        state.metrics.clone(),
    );
    let ticker = state.fanout.clone().spawn_ticker(
        io.clone(),
        config.presence_window(),
        config.presence_bytes_per_sec,
    );
    let report = report::spawn(state.clone(), config.report_interval());
    let cluster_task = state.cluster.clone().map(|cluster| {
        cluster.spawn(cluster::Ctx {
            registry: state.registry.clone(),
            fanout: state.fanout.clone(),
            io: io.clone(),
        })
    });
    let departing = state.cluster.clone();
    let grace = config.shutdown_grace();
    let closing_io = io.clone();
    let (drained_tx, drained_rx) = oneshot::channel::<()>();
    let (closing_tx, closing_rx) = oneshot::channel::<JoinHandle<()>>();
    let shutdown = async move {
        signal.await;
        tracing::info!("shutting down: no new connections; closing every socket");
        // Shared mode: this node's users leave every node's presence now,
        // and their resume tokens start their TTL (clients resume elsewhere).
        if let Some(cluster) = departing {
            cluster.depart().await;
        }
        // Stop accepting first (this future completing does that), *then*
        // tell everyone: a client that reconnects quickly must find the door
        // closed (and retry until the next process is up), not slip into a
        // server that is about to exit.
        let closing = tokio::spawn(async move { closing_io.close().await });
        let _ = closing_tx.send(closing);
        let _ = drained_tx.send(());
    };
    let serve = serve::serve(
        listener,
        router,
        config.handshake_timeout(),
        state.metrics.clone(),
        shutdown,
    );
    let task = tokio::spawn(async move {
        tokio::select! {
            () = serve => {},
            _ = deadline_after(drained_rx, grace) => {
                tracing::warn!(?grace, "connections did not drain in time; stopping anyway");
            }
        };
        // Websockets are no longer hyper's to wait for: make sure every
        // socket was told before the process may exit (within the grace).
        if let Ok(closing) = closing_rx.await {
            if tokio::time::timeout(grace, closing).await.is_err() {
                tracing::warn!(?grace, "not every socket was told in time");
            }
        }
        ticker.abort();
        if let Some(task) = cluster_task {
            task.abort();
        }
        if let Some(report) = report {
            report.abort();
        }
        Ok(())
    });
    Ok((state, task))
}

/// Pending connections the kernel may queue before we accept them.
///
/// A burst of 1,000 clients (a page reload across a busy room, or every
/// client reconnecting after a restart) overflows a short queue, and every
/// dropped SYN costs its client a full second before the retry. Measured
/// (server and load generator on one core each): connecting and identifying
/// 1,000 clients took 1.2 s with tokio's default of 1,024, with ~220 listen
/// overflows per run (`nstat`), and 0.4 s with this, with none. The kernel
/// caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

/// Binds with a backlog deep enough for reconnect storms.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Completes `grace` after `started` fires (never, if it never fires).
async fn deadline_after(started: oneshot::Receiver<()>, grace: std::time::Duration) {
    if started.await.is_err() {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(grace).await;
}
