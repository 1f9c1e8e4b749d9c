//! The connection limit: at most `--max-connections` open TCP connections.
//!
//! Every connection costs a file descriptor, and a process has a fixed number
//! of them (20,000 on the benchmark machine, hard limit). Without a limit, the
//! connection that hits the wall fails somewhere inside `accept` with EMFILE
//! and the server can no longer even answer `/healthz`. With it, the
//! connection over the limit gets a plain `503 Service Unavailable` and is
//! closed, everyone already connected is untouched, and Socket.IO clients
//! back off and retry.
//!
//! It counts TCP connections (websocket, polling and page requests alike),
//! because descriptors are what runs out.
//!
//! Holding a slot must also cost the holder something: that is hyper's
//! header-read timeout, set in [`crate::serve`] (every request head, and the
//! wait for the next one on an idle keep-alive connection).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The reply to a connection over the limit.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nThe server is at its connection limit\n";

/// A listener that admits at most `max` connections at a time.
pub struct Limited<L> {
    inner: L,
    permits: Arc<Semaphore>,
    refused: Arc<AtomicU64>,
}

impl<L> Limited<L> {
    pub fn new(inner: L, max: usize) -> Self {
        Limited {
            inner,
            permits: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            refused: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<L> Listener for Limited<L>
where
    L: Listener,
{
    type Io = Admitted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, addr) = self.inner.accept().await;
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    return (
                        Admitted {
                            io,
                            _permit: permit,
                        },
                        addr,
                    )
                }
                Err(_) => self.refuse(io),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl<L> Limited<L> {
    /// Answers 503 and closes, off the accept loop.
    fn refuse<Io>(&self, mut io: Io)
    where
        Io: AsyncWrite + Unpin + Send + 'static,
    {
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if refused == 1 || refused.is_multiple_of(1000) {
            tracing::warn!(
                refused,
                "connection limit reached (--max-connections): refusing new connections with 503"
            );
        }
        tokio::spawn(async move {
            let write = async {
                io.write_all(REFUSAL).await?;
                io.shutdown().await
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), write).await;
        });
    }
}

/// An admitted connection; its slot is freed when it is dropped.
pub struct Admitted<Io> {
    io: Io,
    _permit: OwnedSemaphorePermit,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Admitted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Admitted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
