//! The session limit: every Engine.IO session holds a slot for its whole
//! life, whatever its transport.
//!
//! Counting TCP connections ([`crate::http::limit`]) is not enough: a polling
//! client's session outlives its requests, so four keep-alive connections
//! opened 3,000 polling sessions in four seconds with the connection limit
//! at 50. Here the request that *opens* a session (a Socket.IO request
//! without `sid`) must take a slot from the session [`Slots`] — at most
//! `--max-connections` in all and `--max-per-source` per client — or gets
//! `503`.
//!
//! socketioxide has no hook for "session opened/closed", but it keeps the
//! opening request's parts (extensions included) inside the session until
//! the session is dropped. So the slot travels in the request's extensions
//! and is freed exactly when the session is gone: disconnect, ping timeout,
//! or the connect timeout of a session that never joins a namespace.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sio_proto::engineio::ENDPOINT_PATH;

use crate::http::limit::{Full, Slot, Slots};
use crate::http::source::{Peer, Source, TrustedProxies};
use crate::observe::metrics::{Metrics, Refusal};
use crate::observe::stats::Stats;

/// A session's slot, kept by socketioxide with the opening request's parts.
#[derive(Debug, Clone)]
pub struct SessionSlot(#[allow(dead_code)] Arc<Slot>);

/// What the middleware needs: the pool, whom to believe, where to count.
#[derive(Debug, Clone)]
pub struct SessionLimit {
    pub slots: Slots,
    pub proxies: TrustedProxies,
    pub stats: Arc<Stats>,
    pub metrics: Arc<Metrics>,
}

/// Middleware: a request that opens a session must get a slot for it.
pub async fn admit(State(limit): State<SessionLimit>, mut req: Request, next: Next) -> Response {
    if !opens_session(&req) {
        return next.run(req).await;
    }
    let source = req
        .extensions()
        .get::<Peer>()
        .map(|peer| Source::of(limit.proxies.client_ip(peer.0.ip(), req.headers())));
    match limit.slots.take(source) {
        Ok(slot) => {
            req.extensions_mut().insert(SessionSlot(Arc::new(slot)));
            next.run(req).await
        }
        Err(full) => {
            limit.metrics.refused(match full {
                Full::Total => Refusal::SessionLimit,
                Full::Source => Refusal::SourceSessions,
            });
            refuse(&limit.stats, full)
        }
    }
}

/// A Socket.IO request without `sid` is a handshake: it opens a session.
fn opens_session(req: &Request) -> bool {
    req.uri().path().starts_with(ENDPOINT_PATH)
        && !req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .any(|pair| pair.starts_with("sid="))
}

fn refuse(stats: &Stats, full: Full) -> Response {
    let (flag, message) = match full {
        Full::Total => ("--max-connections", "The server is at its session limit\n"),
        Full::Source => ("--max-per-source", "Too many sessions from your address\n"),
    };
    if stats.session_was_refused() {
        tracing::warn!("session limit reached ({flag}): refusing new sessions with 503");
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        message,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(uri: &str) -> Request {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    #[test]
    fn only_handshakes_open_sessions() {
        assert!(opens_session(&request(
            "/socket.io/?EIO=4&transport=polling"
        )));
        assert!(opens_session(&request(
            "/socket.io/?EIO=4&transport=websocket"
        )));
        assert!(!opens_session(&request(
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        )));
        assert!(!opens_session(&request(
            "/socket.io/?sid=abc&EIO=4&transport=websocket"
        )));
        assert!(!opens_session(&request("/healthz")));
        assert!(!opens_session(&request("/?sid=x")));
    }
}
