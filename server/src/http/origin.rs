//! Cross-site websocket hijacking defence.
//!
//! Browsers attach cookies and open websockets to any site, but they always
//! send `Origin`. A Socket.IO request (websocket upgrade or polling) whose
//! `Origin` is neither this server's own host nor explicitly allowed is
//! refused with 403 before socketioxide sees it. Requests without `Origin`
//! come from non-browser clients (scripts, load generators), which could
//! forge any header anyway, so they pass.
//!
//! Allowed foreign origins also get their CORS answer (the origin echoed,
//! credentials allowed, preflights answered): long-polling from another
//! origin needs it, websockets do not.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use sio_proto::engineio::ENDPOINT_PATH;

use crate::observe::metrics::{Metrics, Refusal};
use crate::observe::stats::Stats;

/// The origins allowed besides same-origin, normalised (`scheme://host[:port]`, lower case).
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    allowed: Arc<Vec<String>>,
}

/// A configured origin that is not of the form `scheme://host[:port]`.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid allowed origin {0:?}: expected scheme://host[:port], e.g. https://chat.example.com"
)]
pub struct BadOrigin(String);

impl OriginPolicy {
    /// Builds the policy, refusing malformed entries (and the `*` wildcard).
    pub fn new<I: IntoIterator<Item = String>>(allowed: I) -> Result<Self, BadOrigin> {
        let allowed = allowed
            .into_iter()
            .map(|origin| normalise(&origin).ok_or(BadOrigin(origin)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OriginPolicy {
            allowed: Arc::new(allowed),
        })
    }

    /// Whether a request with these headers may use Socket.IO.
    pub fn permits(&self, headers: &HeaderMap) -> bool {
        self.judge(headers) != Judgement::Foreign
    }

    /// The `Origin` to echo in CORS headers: that of an explicitly allowed
    /// foreign origin (same-origin requests need none).
    pub fn cors_origin<'h>(&self, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
        (self.judge(headers) == Judgement::Allowed)
            .then(|| headers.get(header::ORIGIN))
            .flatten()
    }

    fn judge(&self, headers: &HeaderMap) -> Judgement {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Judgement::Same;
        };
        let Some(origin) = origin.to_str().ok().and_then(normalise) else {
            return Judgement::Foreign; // "null", garbage, or a path where an origin should be.
        };
        let same_origin = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .is_some_and(|host| authority(&origin) == Some(host.to_ascii_lowercase().as_str()));
        if same_origin {
            Judgement::Same
        } else if self.allowed.contains(&origin) {
            Judgement::Allowed
        } else {
            Judgement::Foreign
        }
    }
}

/// Where a request comes from, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judgement {
    /// Same origin, or no `Origin` at all (not a browser).
    Same,
    /// An origin of `--allowed-origin`: served, with CORS headers.
    Allowed,
    /// Refused.
    Foreign,
}

/// `Scheme://Host:Port/` → `scheme://host:port`; `None` if it is not an origin.
fn normalise(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let valid_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let valid_authority = !rest.is_empty() && !rest.contains(['/', '?', '#', '*', '@', ' ']);
    (valid_scheme && valid_authority).then_some(origin)
}

fn authority(origin: &str) -> Option<&str> {
    origin.split_once("://").map(|(_, authority)| authority)
}

/// axum middleware: 403 for Socket.IO requests from a foreign origin.
///
/// The first refusal is logged (a misconfigured `--allowed-origin` shows at
/// once); the rest are only counted, so a hostile page cannot write the log.
pub async fn guard(
    State((policy, stats, metrics)): State<(OriginPolicy, Arc<Stats>, Arc<Metrics>)>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with(ENDPOINT_PATH) && !policy.permits(request.headers()) {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .map(|value| loggable(value.as_bytes()));
        metrics.refused(Refusal::Origin);
        if stats.origin_was_refused() {
            tracing::warn!(
                origin = origin.as_deref().unwrap_or("(none)"),
                "refused a Socket.IO request from a foreign origin (further ones are counted \
                 in /api/stats and the periodic report, not logged one by one)"
            );
        } else {
            tracing::debug!(
                origin = origin.as_deref().unwrap_or("(none)"),
                "refused a Socket.IO request from a foreign origin"
            );
        }
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let cors = request.uri().path().starts_with(ENDPOINT_PATH)
        && policy.cors_origin(request.headers()).is_some();
    if !cors {
        return next.run(request).await;
    }
    let origin = request.headers()[header::ORIGIN].clone();
    let mut response = if request.method() == Method::OPTIONS {
        preflight()
    } else {
        next.run(request).await
    };
    allow_credentials(response.headers_mut(), origin);
    response
}

/// The answer to a CORS preflight from an allowed origin: what Socket.IO
/// clients send (GET and POST polling requests, with a content type).
fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// CORS for an allowed origin: long-polling clients (socket.io-client 1.x
/// sends `withCredentials`) need the origin echoed and credentials allowed;
/// `Vary` keeps caches from serving one origin's answer to another.
fn allow_credentials(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The most of a header value a log line shows, in characters.
const LOGGED_PREFIX: usize = 80;

/// A header value as a log line may show it: its first [`LOGGED_PREFIX`]
/// characters, escaped (no control characters, no line breaks), with `…`
/// when cut. A client cannot make one line longer than a few hundred bytes.
fn loggable(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out: String = text
        .chars()
        .take(LOGGED_PREFIX)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().nth(LOGGED_PREFIX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        h
    }

    #[test]
    fn same_origin_and_no_origin_pass() {
        let policy = OriginPolicy::default();
        assert!(policy.permits(&headers(None, "127.0.0.1:3000")));
        assert!(policy.permits(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")));
        assert!(policy.permits(&headers(
            Some("HTTPS://Chat.Example.com"),
            "chat.example.com"
        )));
    }

    #[test]
    fn foreign_and_malformed_origins_are_refused() {
        let policy = OriginPolicy::default();
        assert!(!policy.permits(&headers(Some("http://evil.test"), "127.0.0.1:3000")));
        assert!(!policy.permits(&headers(Some("http://127.0.0.1:3001"), "127.0.0.1:3000")));
        assert!(!policy.permits(&headers(Some("null"), "127.0.0.1:3000")));
    }

    #[test]
    fn logged_origins_are_bounded_and_escaped() {
        assert_eq!(loggable(b"http://evil.test"), "http://evil.test");
        let long = "é".repeat(100_000);
        let logged = loggable(long.as_bytes());
        assert!(logged.len() < 1_000, "{} bytes", logged.len());
        assert!(logged.ends_with('…'));
        let sneaky = loggable("a\u{2028}b\r\nc\u{1b}[31m".as_bytes());
        assert!(
            !sneaky.contains(['\u{2028}', '\r', '\n', '\u{1b}']),
            "{sneaky}"
        );
    }

    #[test]
    fn allowed_list_is_exact() {
        let policy = OriginPolicy::new(["http://localhost:8080/".to_owned()]).unwrap();
        assert!(policy.permits(&headers(Some("http://localhost:8080"), "127.0.0.1:3000")));
        assert!(!policy.permits(&headers(Some("https://localhost:8080"), "127.0.0.1:3000")));
        assert!(OriginPolicy::new(["*".to_owned()]).is_err());
        assert!(OriginPolicy::new(["localhost:8080".to_owned()]).is_err());
        assert!(OriginPolicy::new(["http://a.test/path".to_owned()]).is_err());
    }
}
