//! Copies a Socket.IO request's URI and header values out of the
//! connection's read buffer before socketioxide keeps them.
//!
//! hyper parses a request without copying: header values and the URI are
//! slices of the connection's 8–16 KiB read buffer, so they keep the *whole*
//! buffer alive. socketioxide stores each socket's request parts (headers,
//! URI, extensions such as axum's `OriginalUri`) for the socket's lifetime,
//! which would pin that buffer for every
//! connected client — measured with heaptrack at ≈ 16 KiB of the server's
//! ≈ 45 KiB heap per connection. A few small copies at connect time free it.
//!
//! Only the headers the Socket.IO stack reads (and a proxy's forwarding
//! headers, for whoever reads the logs) are kept at all: anything else a
//! client sends (up to the 16 KiB head bound) would otherwise be held for
//! the socket's whole life.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use sio_proto::engineio::ENDPOINT_PATH;

/// Middleware: detaches Socket.IO requests from the read buffer.
pub async fn detach(mut req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(ENDPOINT_PATH) {
        detach_parts(&mut req);
    }
    next.run(req).await
}

/// The headers a Socket.IO request keeps: what the origin and host guards
/// and engineioxide read (`Content-Type` of a polling POST, the websocket
/// handshake), body framing, and the forwarding headers of a proxy.
const KEPT: &[&str] = &[
    "host",
    "origin",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "user-agent",
    "x-forwarded-for",
    "x-forwarded-proto",
];

/// Drops every header not in [`KEPT`]; replaces the rest, and the URI, with
/// owned copies.
fn detach_parts(req: &mut Request) {
    let unused: Vec<HeaderName> = req
        .headers()
        .keys()
        .filter(|name| !KEPT.contains(&name.as_str()))
        .cloned()
        .collect();
    for name in unused {
        req.headers_mut().remove(name);
    }
    for (name, value) in req.headers_mut().iter_mut() {
        let kept = bounded(name, value.as_bytes());
        if let Ok(mut owned) = HeaderValue::from_bytes(kept) {
            owned.set_sensitive(value.is_sensitive());
            *value = owned;
        }
    }
    if let Ok(owned) = req.uri().to_string().parse::<Uri>() {
        // axum keeps a copy of the URI as it arrived: that one too.
        if let Some(original) = req.extensions_mut().get_mut::<OriginalUri>() {
            original.0 = owned.clone();
        }
        *req.uri_mut() = owned;
    }
}

/// The most bytes of one header value a socket keeps. Real values are far
/// shorter (a browser's `User-Agent` is ≈ 150 B); a client's 15 KiB one
/// was held for the socket's whole life.
const MAX_KEPT_VALUE: usize = 256;

/// What is kept of a header value: all of it up to [`MAX_KEPT_VALUE`];
/// beyond it, the start, except for `X-Forwarded-For`, whose right end is
/// what counts (proxies append; [`crate::http::source`] reads it from the right):
/// its last entries that fit, cut at a comma.
fn bounded<'v>(name: &HeaderName, value: &'v [u8]) -> &'v [u8] {
    if value.len() <= MAX_KEPT_VALUE {
        return value;
    }
    if name.as_str() == "x-forwarded-for" {
        let tail = &value[value.len() - MAX_KEPT_VALUE..];
        let start = tail.iter().position(|b| *b == b',').map_or(0, |i| i + 1);
        return tail[start..].trim_ascii_start();
    }
    &value[..MAX_KEPT_VALUE]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use bytes::Bytes;

    /// After detaching, nothing refers to the original buffer any more: it is
    /// the last owner, so `try_into_mut` succeeds.
    #[test]
    fn values_and_uri_no_longer_share_the_buffer() {
        let raw = Bytes::from(b"/socket.io/?EIO=4&transport=websocketw3.example".to_vec());
        let uri = Uri::from_maybe_shared(raw.slice(0..37)).unwrap();
        let origin = HeaderValue::from_maybe_shared(raw.slice(37..)).unwrap();
        let mut req = Request::builder()
            .uri(uri.clone())
            .header("origin", origin)
            .extension(OriginalUri(uri))
            .body(Body::empty())
            .unwrap();
        assert!(raw.clone().try_into_mut().is_err(), "shared before");
        detach_parts(&mut req);
        assert_eq!(req.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(req.headers()["origin"], "w3.example");
        assert!(raw.try_into_mut().is_ok(), "no other owner after detaching");
    }

    /// A header the stack does not read is not kept for the socket's life.
    #[test]
    fn only_the_headers_in_use_are_kept() {
        let mut req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=polling")
            .header("origin", "http://a.test")
            .header("content-type", "text/plain")
            .header("x-filler", "a".repeat(10_000))
            .header("cookie", "session=secret")
            .body(Body::empty())
            .unwrap();
        detach_parts(&mut req);
        let names: Vec<&str> = req.headers().keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["origin", "content-type"]);
    }

    /// Large kept headers are cut (bad input #79: ≈ 15 KiB per socket).
    #[test]
    fn kept_values_are_bounded() {
        let agent = "a".repeat(15_000);
        let hops: Vec<String> = (0..2_000)
            .map(|i| format!("10.0.{}.{}", i / 250, i % 250))
            .collect();
        let forwarded = hops.join(", ");
        let mut req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header("user-agent", agent.as_str())
            .header("x-forwarded-for", forwarded.as_str())
            .header("sec-websocket-protocol", agent.as_str())
            .body(Body::empty())
            .unwrap();
        detach_parts(&mut req);
        let kept = |name: &str| req.headers()[name].as_bytes().to_vec();
        assert_eq!(kept("user-agent").len(), MAX_KEPT_VALUE);
        assert_eq!(kept("sec-websocket-protocol").len(), MAX_KEPT_VALUE);
        let forwarded = String::from_utf8(kept("x-forwarded-for")).unwrap();
        assert!(forwarded.len() <= MAX_KEPT_VALUE, "{forwarded}");
        assert!(
            forwarded.ends_with("10.0.7.249"),
            "the right end: {forwarded}"
        );
        assert!(forwarded.starts_with("10.0."), "whole entries: {forwarded}");
    }
}
