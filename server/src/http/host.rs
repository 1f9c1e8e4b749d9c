//! DNS-rebinding defence: the `Host` header must name this server.
//!
//! A page on `evil.test` can make its own name resolve to 127.0.0.1 once it
//! is loaded; the visitor's browser then sends the page's requests to our
//! loopback server with `Host: evil.test:3000`. To the browser that is
//! same-origin, and so it is to the origin guard (which compares `Origin`
//! with `Host`). Checking `Host` against the names the server is known by
//! closes that door, as Vite's `allowedHosts` and Jupyter do.
//!
//! Allowed by default: `localhost`, `127.0.0.1`, `[::1]`, the bind address
//! (unless it is `0.0.0.0` or `::`), and the host of every
//! `--allowed-origin`; more with `--allowed-host`, or any with
//! `--allowed-host '*'`. Ports are not compared. A request without `Host`
//! (not a browser) passes.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::observe::metrics::{Metrics, Refusal};

/// The host names this server answers to, lower case, without ports.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// `--allowed-host '*'`: no check.
    any: bool,
    names: Arc<Vec<String>>,
    /// Whether a refusal was logged already (only the first is).
    logged: Arc<AtomicBool>,
}

/// An `--allowed-host` that is not a host name.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid allowed host {0:?}: expected a host name or address such as chat.example.com, or *"
)]
pub struct BadHost(String);

impl HostPolicy {
    /// The default names (see the module documentation) plus `extra`.
    pub fn new(
        bind: SocketAddr,
        allowed_origins: &[String],
        extra: &[String],
    ) -> Result<Self, BadHost> {
        let any = extra.iter().any(|host| host.trim() == "*");
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        if !bind.ip().is_unspecified() {
            names.push(ip_name(bind.ip()));
        }
        names.extend(
            allowed_origins
                .iter()
                .filter_map(|origin| origin.split_once("://"))
                .map(|(_, authority)| hostname(authority.trim_end_matches('/'))),
        );
        for host in extra.iter().filter(|host| host.trim() != "*") {
            let name = hostname(host.trim());
            if name.is_empty() || name.contains(['/', '?', '#', '@', ' ', '*']) {
                return Err(BadHost(host.clone()));
            }
            names.push(name);
        }
        Ok(HostPolicy {
            any,
            names: Arc::new(names),
            logged: Arc::default(),
        })
    }

    /// Whether a request with this `Host` (or URI authority) may be served.
    pub fn permits(&self, host: Option<&str>) -> bool {
        match host {
            _ if self.any => true,
            None => true,
            Some(host) => self.names.contains(&hostname(host)),
        }
    }
}

/// An IP address as it appears in a `Host` header.
fn ip_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `Chat.Example.com.:443` → `chat.example.com`; `[::1]:3000` → `[::1]`.
fn hostname(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    let name = if authority.starts_with('[') {
        authority
            .split_once(']')
            .map_or(authority.clone(), |(v6, _)| format!("{v6}]"))
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(name, _port)| name)
            .to_owned()
    };
    name.trim_end_matches('.').to_owned()
}

/// axum middleware: 403 for a request whose `Host` is not this server's.
pub async fn guard(
    State((policy, metrics)): State<(HostPolicy, Arc<Metrics>)>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    if policy.permits(host) {
        return next.run(request).await;
    }
    metrics.refused(Refusal::Host);
    if !policy.logged.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "refused a request for a host this server is not known by (DNS rebinding?); \
             if it is yours, start the server with --allowed-host NAME (further ones are not logged)"
        );
    }
    (
        StatusCode::FORBIDDEN,
        "host not allowed: start the server with --allowed-host NAME to serve it\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bind: &str, origins: &[&str], extra: &[&str]) -> HostPolicy {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        HostPolicy::new(bind.parse().unwrap(), &own(origins), &own(extra)).unwrap()
    }

    #[test]
    fn loopback_names_and_the_bind_address_pass_on_any_port() {
        let p = policy("127.0.0.1:3000", &[], &[]);
        for host in [
            "127.0.0.1:3000",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:3000",
            "localhost.",
        ] {
            assert!(p.permits(Some(host)), "{host}");
        }
        assert!(p.permits(None), "no Host: not a browser");
        let p = policy("10.1.2.3:3000", &[], &[]);
        assert!(p.permits(Some("10.1.2.3:3000")));
    }

    #[test]
    fn rebinding_names_are_refused() {
        let p = policy("127.0.0.1:3000", &[], &[]);
        for host in [
            "evil.test:3000",
            "evil.test",
            "127.0.0.1.evil.test",
            "localhost.evil.test",
        ] {
            assert!(!p.permits(Some(host)), "{host}");
        }
        assert!(!policy("0.0.0.0:3000", &[], &[]).permits(Some("0.0.0.0:3000")));
    }

    #[test]
    fn allowed_origins_and_hosts_extend_the_list() {
        let p = policy(
            "0.0.0.0:3000",
            &["https://chat.example.com"],
            &["Internal.Example.net"],
        );
        assert!(p.permits(Some("chat.example.com")));
        assert!(p.permits(Some("internal.example.net:3000")));
        assert!(!p.permits(Some("other.example.com")));
        assert!(policy("127.0.0.1:3000", &[], &["*"]).permits(Some("anything.test")));
        assert!(HostPolicy::new("127.0.0.1:1".parse().unwrap(), &[], &["a/b".into()]).is_err());
    }
}
