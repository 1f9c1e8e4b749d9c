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

use crate::source::Peer;

use axum::serve::Listener;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

/// The largest request head accepted, in bytes (hyper's read buffer bound;
/// a larger head gets `431`). Browsers send 1–2 KiB; 16 KiB leaves room for
/// big cookies of a shared domain.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves `router` on every connection `listener` admits, until `shutdown`
/// completes; then stops accepting and waits for the open HTTP exchanges
/// (not upgraded websockets: those are socketioxide's to close).
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let builder = builder.http1_only();
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let io = tokio::select! {
            (io, addr) = listener.accept() => (io, addr),
            () = &mut shutdown => break,
        };
        let (io, addr) = io;
        // Per-source limits need the peer; every request of the connection carries it.
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: http::Request<_>| {
                req.extensions_mut().insert(Peer(addr));
                req
            },
        ));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out ends its own connection;
            // there is nothing to tell anyone.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
