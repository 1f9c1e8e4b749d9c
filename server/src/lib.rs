//! The `/iss` server as a library, so tests can start it in-process on port 0.
//!
//! ```text
//!  TCP ─▶ limit (slots per source, write-stall deadline: stall) ─▶ serve (hyper, HTTP/1.1 only: head timeout, 16 KiB heads)
//!      ─▶ deadline (every body within the handshake timeout) ─▶ host guard ─▶ origin guard ─▶ detach (copy the kept headers) ─▶ sessions (a slot per Engine.IO session)
//!      ─▶ legacy_polling (refuses malformed EIO=3 polling bodies, repairs the rest; engine_request)
//!      ─▶ socketioxide (/socket.io/, ns /iss; ns / for revision 4) ─▶ handlers ─▶ AppState ─┬─ Registry (users; rename limits)
//!                                                                                         ├─ Fanout ─▶ PresenceBook (budget, laggards)
//!                                                                                         ├─ ResumeBook (resume tokens)
//!                                                                                         ├─ Stats ─▶ /api/stats, report (periodic log line)
//!                                                                                         └─ Cluster (--redis-url) ─▶ Redis: presence stream, leases, tokens
//!      ─▶ /healthz, /api/stats, static dist/ (cache rules, precompressed, no dot-paths)
//! ```

pub mod app;
pub mod args;
pub mod arrival;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod deadline;
pub mod detach;
pub mod emit;
pub mod engine_request;
pub mod fanout;
pub mod handlers;
pub mod host;
pub mod in_memory;
pub mod legacy_polling;
pub mod limit;
pub mod lookalike;
pub mod metrics;
pub mod origin;
pub mod presence;
pub mod rate;
pub mod registry;
pub mod report;
pub mod resume;
pub mod serve;
pub mod sessions;
pub mod source;
pub mod stall;
pub mod static_files;
pub mod stats;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::State;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Json;
use axum::Router;
use shared::events::NAMESPACE;
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app::AppState;
pub use config::Config;
use host::HostPolicy;
use origin::OriginPolicy;

/// The websocket read buffer per connection, bytes.
const WS_READ_BUFFER: usize = 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Origin(#[from] origin::BadOrigin),
    #[error(transparent)]
    Host(#[from] host::BadHost),
    #[error(transparent)]
    Redis(#[from] cluster::BadRedisUrl),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The assembled application: the router plus handles tests and `main` need.
pub struct App {
    pub router: Router,
    pub io: SocketIo,
    pub state: AppState,
}

/// Builds the router: `/healthz`, Socket.IO behind the origin guard, and the static frontend.
pub fn build(config: &Config) -> Result<App, StartError> {
    let policy = OriginPolicy::new(config.allowed_origins.iter().cloned())?;
    let hosts = HostPolicy::new(config.bind, &config.allowed_origins, &config.allowed_hosts)?;
    let state = AppState::new(config)?;
    let (layer, io) = SocketIo::builder()
        .req_path(sio_proto::engineio::ENDPOINT_PATH)
        .with_state(state.clone())
        // max_payload bounds polling bodies; websocket frames have their own limits.
        .max_payload(config.max_payload)
        .ws_max_message_size(config.max_payload as usize)
        .ws_max_frame_size(config.max_payload as usize)
        // Our frames are small (identify, acks); 1 KiB instead of the default
        // 4 KiB saves ≈ 3 KiB per connection, and larger frames still arrive
        // in several reads.
        .ws_read_buffer_size(WS_READ_BUFFER)
        .ping_interval(config.ping_interval())
        .ping_timeout(config.ping_timeout())
        // A session that never joins a namespace holds a session slot (see
        // `sessions`) only this long, not socketioxide's default of 45 s.
        .connect_timeout(config.handshake_timeout())
        // We use no binary events. By default socketioxide buffers up to
        // 10 MB of attachments per socket for a binary event, and only checks
        // its 60 s completion timeout when the next attachment arrives: one
        // announced attachment and a trickle of binary frames held ~10 MB
        // per connection for ever. With no attachment allowed, a binary
        // event that announces one closes its connection at once.
        .with_parser(
            ParserConfig::common()
                .max_incoming_binaries(0)
                .max_incoming_binary_buf_size(0),
        )
        .build_layer();
    io.ns(
        NAMESPACE,
        handlers::on_connect.with(handlers::resume_session),
    );
    // Socket.IO revision 4 joins every client to "/" unasked; without it
    // socketioxide closes each such session right after its handshake.
    io.ns("/", handlers::on_main.with(handlers::only_revision_4));
    let router = Router::new()
        .route("/healthz", get(healthz).with_state(state.clone()))
        .route("/api/stats", get(stats).with_state(state.clone()))
        .route(
            "/metrics",
            get(metrics_text).with_state((state.clone(), io.clone())),
        )
        .fallback_service(static_files::router(&config.dist))
        .layer(layer)
        .layer(axum::middleware::from_fn_with_state(
            (config.max_payload, state.metrics.clone()),
            legacy_polling::repair,
        ))
        .layer(axum::middleware::from_fn_with_state(
            sessions::SessionLimit {
                slots: limit::Slots::new(config.max_connections, config.max_per_source),
                proxies: proxies(config),
                stats: state.stats.clone(),
                metrics: state.metrics.clone(),
            },
            sessions::admit,
        ))
        .layer(axum::middleware::from_fn(detach::detach))
        .layer(axum::middleware::from_fn_with_state(
            (policy, state.stats.clone(), state.metrics.clone()),
            origin::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (hosts, state.metrics.clone()),
            host::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (config.handshake_timeout(), state.metrics.clone()),
            deadline::bodies,
        ));
    Ok(App { router, io, state })
}

fn proxies(config: &Config) -> source::TrustedProxies {
    source::TrustedProxies::new(config.trusted_proxies.iter().copied())
}

/// `ok`, or in shared mode while Redis is unavailable `degraded` (still
/// 200: the node serves its own clients; a load balancer need not drop it).
async fn healthz(State(app): State<AppState>) -> &'static str {
    match &app.cluster {
        Some(cluster) if !cluster.healthy() => "degraded: redis unavailable\n",
        _ => "ok\n",
    }
}

/// Totals only (see [`stats::StatsView`]); the public presence list is on the socket.
async fn stats(State(app): State<AppState>) -> Json<stats::StatsView> {
    Json(
        app.stats
            .view(app.registry.connected(), app.registry.identified()),
    )
}

/// The Prometheus exposition (see [`metrics`]).
async fn metrics_text(
    State((app, io)): State<(AppState, SocketIo)>,
) -> impl axum::response::IntoResponse {
    let scrape = metrics::Scrape {
        metrics: &app.metrics,
        io: &io,
        users: (app.registry.connected(), app.registry.identified()),
        presence_bytes: app.fanout.sent_bytes(),
        redis: app.cluster.as_ref().map(|cluster| cluster.healthy()),
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        scrape.render(),
    )
}

/// A running server: where it listens and how to stop it.
pub struct Server {
    pub addr: SocketAddr,
    pub io: SocketIo,
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
    let (addr, io, state, task) = spawn(config, async {
        let _ = stopped.await;
    })
    .await?;
    Ok(Server {
        addr,
        io,
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
) -> Result<
    (
        SocketAddr,
        SocketIo,
        AppState,
        JoinHandle<std::io::Result<()>>,
    ),
    StartError,
> {
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
    let (io, state, task) = spawn_on(listener, config, signal)?;
    Ok((addr, io, state, task))
}

/// Serves every connection `listener` accepts, as [`spawn`] does on TCP:
/// the same limits, layers and shutdown. For a listener of in-memory pipes
/// (the whole-server fuzz driver) as much as for the TCP one.
pub fn spawn_on<L>(
    listener: L,
    config: &Config,
    signal: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketIo, AppState, JoinHandle<std::io::Result<()>>), StartError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: Send + 'static,
{
    let App { router, io, state } = build(config)?;
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
    Ok((io, state, task))
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
