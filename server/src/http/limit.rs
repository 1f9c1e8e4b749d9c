//! The connection limits: at most `--max-connections` open TCP connections,
//! and at most `--max-per-source` of them from any one source.
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
//! because descriptors are what runs out. Engine.IO sessions, which outlive
//! the connections of a polling client, are counted by [`crate::http::sessions`]
//! with the same [`Slots`].
//!
//! The total alone would let one client take every slot; the per-source cap
//! keeps the rest for everyone else. A trusted proxy's connections are not
//! capped per source (they carry many clients); its clients' sessions are.
//!
//! Holding a slot must also cost the holder something: that is hyper's
//! header-read timeout, set in [`crate::http::serve`] (every request head, and the
//! wait for the next one on an idle keep-alive connection).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::source::{Source, TrustedProxies};
use crate::http::stall::WriteStall;
use crate::observe::metrics::{Metrics, Refusal};

/// The reply to a connection over the limit.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nThe server is at its connection limit\n";

/// A bounded pool of slots: at most `total` held at once, and at most
/// `per_source` by any one [`Source`] (0 = no per-source cap).
#[derive(Debug, Clone)]
pub struct Slots {
    total: Arc<Semaphore>,
    per_source: usize,
    held: Arc<Mutex<HashMap<Source, usize>>>,
}

/// Which limit refused a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every slot is taken.
    Total,
    /// This source holds its maximum.
    Source,
}

impl Slots {
    pub fn new(total: usize, per_source: usize) -> Self {
        Slots {
            total: Arc::new(Semaphore::new(total.min(Semaphore::MAX_PERMITS))),
            per_source,
            held: Arc::default(),
        }
    }

    /// Takes a slot for `source` (`None`: not counted per source).
    pub fn take(&self, source: Option<Source>) -> Result<Slot, Full> {
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Full::Total)?;
        let source = match source {
            Some(source) if self.per_source > 0 => {
                let mut held = self.held();
                let count = held.entry(source).or_default();
                if *count >= self.per_source {
                    return Err(Full::Source);
                }
                *count += 1;
                Some(source)
            }
            _ => None,
        };
        Ok(Slot {
            _permit: permit,
            source,
            held: self.held.clone(),
        })
    }

    /// Plain counters: a panic elsewhere cannot leave them invalid.
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<Source, usize>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One held slot; dropping it frees the slot (and its source's count).
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    source: Option<Source>,
    held: Arc<Mutex<HashMap<Source, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(source) = self.source else { return };
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&source) {
            *count -= 1;
            if *count == 0 {
                // Only sources holding something stay in the map.
                held.remove(&source);
            }
        }
    }
}

/// A listener that admits a connection only when [`Slots`] has one for it.
pub struct Limited<L> {
    inner: L,
    slots: Slots,
    proxies: TrustedProxies,
    write_stall: Duration,
    refused: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
}

impl<L> Limited<L> {
    /// Admits connections `slots` has room for; each is cut when a write
    /// stays pending longer than `write_stall` (see [`crate::http::stall`]).
    pub fn new(
        inner: L,
        slots: Slots,
        proxies: TrustedProxies,
        write_stall: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Limited {
            inner,
            slots,
            proxies,
            write_stall,
            refused: Arc::new(AtomicU64::new(0)),
            metrics,
        }
    }
}

impl<L> Listener for Limited<L>
where
    L: Listener<Addr = SocketAddr>,
{
    type Io = Admitted<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, addr) = self.inner.accept().await;
            let source = (!self.proxies.trusts(addr.ip())).then(|| Source::of(addr.ip()));
            match self.slots.take(source) {
                Ok(slot) => {
                    let stall = WriteStall::new(self.write_stall);
                    return (
                        Admitted {
                            io,
                            _slot: slot,
                            stall,
                        },
                        addr,
                    );
                }
                Err(full) => self.refuse(io, full),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl<L> Limited<L> {
    /// Answers 503 and closes, off the accept loop.
    fn refuse<Io>(&self, mut io: Io, full: Full)
    where
        Io: AsyncWrite + Unpin + Send + 'static,
    {
        self.metrics.refused(match full {
            Full::Total => Refusal::ConnectionLimit,
            Full::Source => Refusal::SourceConnections,
        });
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if refused == 1 || refused.is_multiple_of(1000) {
            let which = match full {
                Full::Total => "--max-connections",
                Full::Source => "--max-per-source",
            };
            tracing::warn!(
                refused,
                "connection limit reached ({which}): refusing new connections with 503"
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
    _slot: Slot,
    stall: WriteStall,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Admitted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.stall.tripped() {
            return Poll::Ready(Err(WriteStall::error()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Admitted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.stall.tripped() {
            return Poll::Ready(Err(WriteStall::error()));
        }
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.stall.watch(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.stall.tripped() {
            return Poll::Ready(Err(WriteStall::error()));
        }
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.stall.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.stall.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.stall.tripped() {
            return Poll::Ready(Err(WriteStall::error()));
        }
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.stall.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
