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
//! Holding a slot must also cost the holder something: a connection that has
//! not finished its first request head (`\r\n\r\n`) within the handshake
//! timeout (slowloris, or an upgrade request that never completes) is
//! closed. Once the head is in, the deadline is gone: a long-poll may wait
//! for its answer as long as Engine.IO says.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// The reply to a connection over the limit.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nThe server is at its connection limit\n";

/// A listener that admits at most `max` connections at a time, each with a
/// deadline for its first answer.
pub struct Limited<L> {
    inner: L,
    permits: Arc<Semaphore>,
    refused: Arc<AtomicU64>,
    handshake_timeout: Duration,
}

impl<L> Limited<L> {
    pub fn new(inner: L, max: usize, handshake_timeout: Duration) -> Self {
        Limited {
            inner,
            permits: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            refused: Arc::new(AtomicU64::new(0)),
            handshake_timeout,
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
                            deadline: Some(Box::pin(tokio::time::sleep(self.handshake_timeout))),
                            tail: [0; 3],
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
    /// Until the first request head is complete: when to give up on it.
    deadline: Option<Pin<Box<Sleep>>>,
    /// The last 3 bytes read, to find `\r\n\r\n` across reads.
    tail: [u8; 3],
}

impl<Io> Admitted<Io> {
    /// Looks for the end of the request head in newly read bytes (also
    /// where it straddles two reads).
    fn saw(&mut self, bytes: &[u8]) {
        let mut joint = self.tail.to_vec();
        joint.extend_from_slice(&bytes[..bytes.len().min(3)]);
        if contains_head_end(&joint) || contains_head_end(bytes) {
            self.deadline = None;
        }
        joint.extend_from_slice(&bytes[bytes.len().min(3)..]);
        let n = joint.len();
        self.tail.copy_from_slice(&joint[n - 3..]);
    }
}

fn contains_head_end(bytes: &[u8]) -> bool {
    bytes.windows(HEAD_END.len()).any(|w| w == HEAD_END)
}

/// The end of an HTTP/1 request head.
const HEAD_END: &[u8] = b"\r\n\r\n";

impl<Io: AsyncRead + Unpin> AsyncRead for Admitted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                self.deadline = None;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no complete request within the handshake timeout",
                )));
            }
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        if self.deadline.is_some() && matches!(read, Poll::Ready(Ok(()))) {
            let new = buf.filled()[before..].to_vec();
            self.saw(&new);
        }
        read
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

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted() -> Admitted<()> {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        Admitted {
            io: (),
            _permit: permit,
            deadline: Some(Box::pin(tokio::time::sleep(Duration::from_secs(60)))),
            tail: [0; 3],
        }
    }

    #[tokio::test]
    async fn the_head_end_is_found_in_one_read_or_across_reads() {
        let mut whole = admitted();
        whole.saw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(whole.deadline.is_none());

        for split in 1..4 {
            let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            let (a, b) = head.split_at(head.len() - split);
            let mut pieces = admitted();
            pieces.saw(a);
            assert!(pieces.deadline.is_some(), "not yet at split {split}");
            pieces.saw(b);
            assert!(
                pieces.deadline.is_none(),
                "found across reads at split {split}"
            );
        }

        let mut byte_by_byte = admitted();
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\n" {
            byte_by_byte.saw(&[*byte]);
        }
        assert!(
            byte_by_byte.deadline.is_some(),
            "a single CRLF is not the end"
        );
        byte_by_byte.saw(b"\r");
        byte_by_byte.saw(b"\n");
        assert!(byte_by_byte.deadline.is_none());
    }
}
