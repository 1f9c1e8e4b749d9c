//! The application as one axum router: Socket.IO on `/socket.io/` (the `/iss`
//! namespace, and `/` for revision-4 clients), `/healthz`, `/api/stats`,
//! `/metrics` and the static page, behind the HTTP guards in the order a
//! request meets them (see [`crate::http`]).

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use axum::Router;
use shared::events::NAMESPACE;
use socketioxide::adapter::Adapter;
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};
use socketioxide_core::adapter::{DefinedAdapter, Spawnable};

use crate::app::{handlers, AppState};
use crate::config::Config;
use crate::error::StartError;
use crate::http::host::{self, HostPolicy};
use crate::http::origin::{self, OriginPolicy};
use crate::http::{deadline, detach, legacy_polling, limit, sessions, source, static_files};
use crate::observe::{metrics, stats};

/// The websocket read buffer per connection, bytes.
const WS_READ_BUFFER: usize = 1024;

/// The assembled application: the router plus handles tests and `main` need.
pub struct App<A: Adapter> {
    pub router: Router,
    pub io: SocketIo<A>,
    pub state: AppState,
}

/// Builds the router: `/healthz`, Socket.IO behind the origin guard, and the static frontend.
/// `adapter` is the Socket.IO adapter's state: `()` for the single process,
/// the Redis adapter's constructor in shared mode (see [`crate::cluster::bus`]).
pub fn build<A: Adapter + DefinedAdapter>(
    config: &Config,
    adapter: A::State,
) -> Result<App<A>, StartError> {
    let policy = OriginPolicy::new(config.allowed_origins.iter().cloned())?;
    let hosts = HostPolicy::new(config.bind, &config.allowed_origins, &config.allowed_hosts)?;
    let state = AppState::new(config)?;
    let (layer, io) = SocketIo::builder()
        .with_adapter::<A>(adapter)
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
    // A namespace exists once its adapter is ready: at once in the single
    // process; in shared mode once subscribed on Redis (see `cluster::bus`).
    io.ns(
        NAMESPACE,
        handlers::on_connect::<A>.with(handlers::resume_session::<A>),
    )
    .spawn();
    // Socket.IO revision 4 joins every client to "/" unasked; without it
    // socketioxide closes each such session right after its handshake.
    io.ns(
        "/",
        handlers::on_main::<A>.with(handlers::only_revision_4::<A>),
    )
    .spawn();
    let router = Router::new()
        .route(
            "/healthz",
            get(healthz::<A>).with_state((state.clone(), io.clone())),
        )
        .route("/api/stats", get(stats).with_state(state.clone()))
        .route(
            "/metrics",
            get(metrics_text::<A>).with_state((state.clone(), io.clone())),
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

pub(crate) fn proxies(config: &Config) -> source::TrustedProxies {
    source::TrustedProxies::new(config.trusted_proxies.iter().copied())
}

/// `ok`, or in shared mode while Redis is unavailable `degraded` (still
/// 200: the node serves its own clients; a load balancer need not drop it).
/// `503 starting` until `/iss` exists: in shared mode socketioxide opens a
/// namespace only once its Redis adapter has subscribed, and a client let in
/// before that would be refused the namespace.
async fn healthz<A: Adapter>(
    State((app, io)): State<(AppState, SocketIo<A>)>,
) -> (axum::http::StatusCode, &'static str) {
    use axum::http::StatusCode;
    if io.of(NAMESPACE).is_none() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: /iss not ready yet\n",
        );
    }
    match &app.cluster {
        Some(cluster) if !cluster.healthy() => (StatusCode::OK, "degraded: redis unavailable\n"),
        _ => (StatusCode::OK, "ok\n"),
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
async fn metrics_text<A: Adapter>(
    State((app, io)): State<(AppState, SocketIo<A>)>,
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
