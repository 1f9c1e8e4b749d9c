//! The HTTP server loop: accept, serve each connection with hyper, stop
//! gracefully.
//!
//! `axum::serve` does the same but sets no timer, so hyper's header-read
//! timeout never runs, and its read buffer may grow to ≈ 400 KiB for one
//! request head. That let one client hold connection slots for ever (a
//! request head trickled byte by byte, or a keep-alive connection left idle
//! after one request) and made every socket keep a request head of any size.
//! Here every request head must arrive within the header-read timeout (also
//! the wait for the *next* request on an idle keep-alive connection, which
//! hyper starts as soon as the previous response is out), and may be at most
//! [`MAX_HEAD_BYTES`]. A websocket is the server's own once upgraded, and a
//! long-poll is a request whose head is complete: neither is cut.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tower::ServiceExt;

use std::sync::Arc;

use crate::http::source::Peer;
use crate::observe::metrics::{Metrics, Refusal};

use axum::serve::Listener;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{mpsc, watch};

/// The largest request head accepted, in bytes (hyper's read buffer bound;
/// a larger head gets `431`). Browsers send 1–2 KiB; 16 KiB leaves room for
/// big cookies of a shared domain.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves `router` on every connection `listener` admits, until `shutdown`
/// completes; then stops accepting and waits for the open HTTP exchanges
/// (not upgraded websockets: those are socketioxide's to close).
///
/// HTTP/1.1 only, on purpose. hyper-util's `auto` builder first reads up to
/// 24 bytes to tell HTTP/1 from HTTP/2 with no timer at all, and then serves
/// HTTP/2 (even when told `http1_only`) without any of the HTTP/1 timeouts:
/// a socket that sent nothing, part of the HTTP/2 preface, or the preface
/// and then nothing held its slot for ever. Nothing we serve needs HTTP/2
/// from this process: browsers speak it only over TLS, which the reverse
/// proxy terminates (and it speaks HTTP/1.1 to us: `docs/SECURITY.md`).
/// hyper's HTTP/1 reader starts its header timer before the first byte,
/// and answers the HTTP/2 preface with an error and a close.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    header_read_timeout: Duration,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    // Every connection task holds a sender; when the last is gone, every
    // connection has ended. `stopping` tells them to finish their exchange.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let (stopping_tx, stopping_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        // Per-source limits need the peer; every request of the connection carries it.
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: http::Request<_>| {
                req.extensions_mut().insert(Peer(addr));
                req
            },
        ));
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let open = open_tx.clone();
        let mut stopping = stopping_rx.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _open = open;
            metrics.connections(1);
            tokio::pin!(connection);
            let stop = async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stop => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            metrics.connections(-1);
            // A client that goes away ends its own connection; there is
            // nothing to tell anyone, but an operator counts the refusals.
            if let Err(err) = ended {
                if err.is_timeout() {
                    metrics.refused(Refusal::HeadTimeout);
                } else if err.is_parse() || err.is_parse_too_large() {
                    metrics.refused(Refusal::BadHead);
                }
            }
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    drop(open_tx);
    // `None` once every connection task has dropped its sender.
    let _ = open_rx.recv().await;
}
