//! `/metrics`: what an operator needs to see an attack or a fault, in the
//! Prometheus text exposition format (OpenMetrics), scraped by Prometheus.
//!
//! The counters are plain atomics, one `fetch_add` where something happens
//! and nothing allocated; gauges that the server already knows (sockets by
//! transport and generation, users) are read when scraped. Only a scrape
//! builds the exposition, with `prometheus-client`'s encoder.
//!
//! The alert worth setting for each metric is in `docs/SECURITY.md`
//! ("Watching it run").

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;

/// Why a connection or request was refused before any Socket.IO handler
/// saw it (`iss_refused_total{cause}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every connection slot taken (`--max-connections`): 503.
    ConnectionLimit,
    /// This source holds its `--max-per-source` connections: 503.
    SourceConnections,
    /// Every session slot taken: 503.
    SessionLimit,
    /// This source holds its `--max-per-source` sessions: 503.
    SourceSessions,
    /// A foreign `Origin`: 403.
    Origin,
    /// A foreign `Host`: 403.
    Host,
    /// No complete request head within `--handshake-timeout-secs`.
    HeadTimeout,
    /// A request head hyper could not read (too large, not HTTP/1, garbage).
    BadHead,
    /// A request body slower than `--handshake-timeout-secs`: 408.
    BodyTimeout,
    /// A polling body over `--max-payload`: 413.
    BodyTooLarge,
    /// An Engine.IO v3 polling body that is not a well-formed payload: 400.
    BadV3Body,
    /// An `identify` over the socket's rate limit.
    RateLimited,
}

impl Refusal {
    const ALL: [Refusal; 12] = [
        Refusal::ConnectionLimit,
        Refusal::SourceConnections,
        Refusal::SessionLimit,
        Refusal::SourceSessions,
        Refusal::Origin,
        Refusal::Host,
        Refusal::HeadTimeout,
        Refusal::BadHead,
        Refusal::BodyTimeout,
        Refusal::BodyTooLarge,
        Refusal::BadV3Body,
        Refusal::RateLimited,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::ConnectionLimit => "connection_limit",
            Refusal::SourceConnections => "source_connection_limit",
            Refusal::SessionLimit => "session_limit",
            Refusal::SourceSessions => "source_session_limit",
            Refusal::Origin => "origin",
            Refusal::Host => "host",
            Refusal::HeadTimeout => "head_timeout",
            Refusal::BadHead => "bad_head",
            Refusal::BodyTimeout => "body_timeout",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::BadV3Body => "bad_v3_body",
            Refusal::RateLimited => "rate_limited",
        }
    }
}

/// Why a Socket.IO socket on `/iss` was closed (`iss_closed_total{cause}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The client left (closed its transport or its namespace).
    ClientLeft,
    /// No pong within the heartbeat timeout.
    Heartbeat,
    /// A write stayed pending past `--ping-timeout-ms` (a client that does
    /// not read): cut by the connection, seen here as a transport error.
    TransportError,
    /// A frame that is not Socket.IO, or too large.
    BadPacket,
    /// The server closed it: a flooder, a session resumed elsewhere, or a
    /// shutdown.
    Server,
}

impl Close {
    const ALL: [Close; 5] = [
        Close::ClientLeft,
        Close::Heartbeat,
        Close::TransportError,
        Close::BadPacket,
        Close::Server,
    ];

    fn label(self) -> &'static str {
        match self {
            Close::ClientLeft => "client_left",
            Close::Heartbeat => "heartbeat_timeout",
            Close::TransportError => "transport_error",
            Close::BadPacket => "bad_packet",
            Close::Server => "server",
        }
    }
}

/// Which client event arrived (`iss_events_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A known event of the contract, by its index in
    /// `ClientEventKind::ALL`.
    Known(usize),
    /// An event name the contract does not know.
    Unknown,
}

impl EventKind {
    /// A contract event's counter.
    pub fn of(kind: shared::events::ClientEventKind) -> Self {
        let all = shared::events::ClientEventKind::ALL;
        all.iter()
            .position(|k| *k == kind)
            .map_or(EventKind::Unknown, EventKind::Known)
    }
}

impl Close {
    /// The cause socketioxide gives for a disconnect.
    pub fn of(reason: socketioxide::socket::DisconnectReason) -> Self {
        use socketioxide::socket::DisconnectReason as R;
        match reason {
            R::TransportClose | R::ClientNSDisconnect => Close::ClientLeft,
            R::HeartbeatTimeout => Close::Heartbeat,
            R::TransportError | R::MultipleHttpPollingError => Close::TransportError,
            R::PacketParsingError => Close::BadPacket,
            R::ServerNSDisconnect | R::ClosingServer => Close::Server,
        }
    }
}

/// Upper bounds of the Redis latency buckets, seconds.
const REDIS_BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// The server's counters (see the module docs).
#[derive(Debug)]
pub struct Metrics {
    refused: [AtomicU64; Refusal::ALL.len()],
    closed: [AtomicU64; Close::ALL.len()],
    events: Vec<AtomicU64>,
    unknown_events: AtomicU64,
    connections: AtomicI64,
    redis_errors: AtomicU64,
    redis_latency: Latency,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            refused: Default::default(),
            closed: Default::default(),
            events: shared::events::ClientEventKind::ALL
                .iter()
                .map(|_| AtomicU64::new(0))
                .collect(),
            unknown_events: AtomicU64::new(0),
            connections: AtomicI64::new(0),
            redis_errors: AtomicU64::new(0),
            redis_latency: Latency::default(),
        }
    }
}

impl Metrics {
    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self, why: Close) {
        self.closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn event(&self, kind: EventKind) {
        let counter = match kind {
            EventKind::Known(i) => self.events.get(i).unwrap_or(&self.unknown_events),
            EventKind::Unknown => &self.unknown_events,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A TCP connection was admitted (`+1`) or ended (`-1`).
    pub fn connections(&self, delta: i64) {
        self.connections.fetch_add(delta, Ordering::Relaxed);
    }

    /// One call to Redis took `took`; `ok` false when it failed.
    pub fn redis_call(&self, took: Duration, ok: bool) {
        if !ok {
            self.redis_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.redis_latency.observe(took);
    }

    /// A refusal counter's value (tests).
    pub fn refusals(&self, why: Refusal) -> u64 {
        self.refused[why as usize].load(Ordering::Relaxed)
    }
}

/// What a scrape shows besides the counters: read from the server then.
pub struct Scrape<'a, A: Adapter> {
    pub metrics: &'a Metrics,
    pub io: &'a SocketIo<A>,
    /// Sessions on `/iss`, and of those, identified.
    pub users: (usize, usize),
    /// Presence bytes sent so far.
    pub presence_bytes: u64,
    /// `Some(healthy)` in shared mode.
    pub redis: Option<bool>,
}

/// `(namespace, transport, generation)` of a socket.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SocketLabels {
    namespace: &'static str,
    transport: &'static str,
    generation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabel {
    cause: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

impl<A: Adapter> Scrape<'_, A> {
    /// The exposition, as `GET /metrics` answers it.
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("iss");
        self.gauges(&mut registry);
        self.counters(&mut registry);
        if let Some(healthy) = self.redis {
            self.redis(&mut registry, healthy);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    fn gauges(&self, registry: &mut Registry) {
        let connections = Gauge::<i64>::default();
        connections.set(self.metrics.connections.load(Ordering::Relaxed));
        registry.register("connections", "Open TCP connections", connections);
        let sockets = Family::<SocketLabels, Gauge>::default();
        for namespace in [shared::events::NAMESPACE, "/"] {
            let Some(ns) = self.io.of(namespace) else {
                continue;
            };
            for socket in ns.sockets() {
                let labels = SocketLabels {
                    namespace: if namespace == "/" {
                        "/"
                    } else {
                        shared::events::NAMESPACE
                    },
                    transport: match socket.transport_type() {
                        socketioxide::TransportType::Polling => "polling",
                        socketioxide::TransportType::Websocket => "websocket",
                    },
                    generation: match socket.protocol() {
                        socketioxide::ProtocolVersion::V4 => "eio3",
                        socketioxide::ProtocolVersion::V5 => "eio4",
                    },
                };
                sockets.get_or_create(&labels).inc();
            }
        }
        registry.register(
            "sockets",
            "Socket.IO sockets by namespace, transport and Engine.IO generation",
            sockets,
        );
        let (connected, identified) = self.users;
        let users = Gauge::<i64>::default();
        users.set(i64::try_from(connected).unwrap_or(i64::MAX));
        registry.register("sessions", "Sessions on /iss", users);
        let named = Gauge::<i64>::default();
        named.set(i64::try_from(identified).unwrap_or(i64::MAX));
        registry.register("identified", "Sessions on /iss with a name", named);
    }

    fn counters(&self, registry: &mut Registry) {
        let refused = Family::<CauseLabel, Counter>::default();
        for why in Refusal::ALL {
            let value = self.metrics.refusals(why);
            refused
                .get_or_create(&CauseLabel { cause: why.label() })
                .inc_by(value);
        }
        registry.register(
            "refused",
            "Connections and requests refused, by cause",
            refused,
        );
        let closed = Family::<CauseLabel, Counter>::default();
        for why in Close::ALL {
            let value = self.metrics.closed[why as usize].load(Ordering::Relaxed);
            closed
                .get_or_create(&CauseLabel { cause: why.label() })
                .inc_by(value);
        }
        registry.register("closed", "Sockets on /iss closed, by cause", closed);
        let events = Family::<KindLabel, Counter>::default();
        let kinds = shared::events::ClientEventKind::ALL.iter();
        for (kind, count) in kinds.zip(&self.metrics.events) {
            events
                .get_or_create(&KindLabel { kind: kind.name() })
                .inc_by(count.load(Ordering::Relaxed));
        }
        events
            .get_or_create(&KindLabel { kind: "unknown" })
            .inc_by(self.metrics.unknown_events.load(Ordering::Relaxed));
        registry.register("events", "Client events received, by kind", events);
        let bytes = Counter::<u64>::default();
        bytes.inc_by(self.presence_bytes);
        registry.register("presence_bytes", "Presence bytes sent to listeners", bytes);
    }

    fn redis(&self, registry: &mut Registry, healthy: bool) {
        let up = Gauge::<i64>::default();
        up.set(i64::from(healthy));
        registry.register("redis_healthy", "Shared mode: Redis answers", up);
        let errors = Counter::<u64>::default();
        errors.inc_by(self.metrics.redis_errors.load(Ordering::Relaxed));
        registry.register("redis_errors", "Shared mode: failed Redis calls", errors);
        registry.register(
            "redis_call_seconds",
            "Shared mode: Redis call latency",
            self.metrics.redis_latency.snapshot(),
        );
    }
}

/// A latency histogram of atomics: observing is a few `fetch_add`s.
#[derive(Debug, Default)]
struct Latency {
    buckets: [AtomicU64; REDIS_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Latency {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = REDIS_BUCKETS.iter().position(|le| secs <= *le) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LatencySnapshot {
        let count = self.count.load(Ordering::Relaxed);
        let mut buckets: Vec<(f64, u64)> = REDIS_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(le, n)| (*le, n.load(Ordering::Relaxed)))
            .collect();
        let within: u64 = buckets.iter().map(|(_, n)| n).sum();
        buckets.push((f64::INFINITY, count.saturating_sub(within)));
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        LatencySnapshot {
            buckets,
            count,
            sum,
        }
    }
}

/// One scrape's reading of a [`Latency`].
#[derive(Debug)]
struct LatencySnapshot {
    /// `(le, count in this bucket alone)`, the last one `+Inf` (the encoder
    /// sums them up).
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

impl TypedMetric for LatencySnapshot {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencySnapshot {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_lands_in_its_bucket() {
        let latency = Latency::default();
        for ms in [0.5, 3.0, 3.0, 2000.0] {
            latency.observe(Duration::from_secs_f64(ms / 1000.0));
        }
        let snapshot = latency.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(snapshot.buckets[0], (0.001, 1));
        assert_eq!(snapshot.buckets[2], (0.005, 2));
        assert_eq!(
            snapshot.buckets.last(),
            Some(&(f64::INFINITY, 1)),
            "2 s is past every bound"
        );
    }
}
