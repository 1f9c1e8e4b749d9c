//! The write-stall deadline: a connection whose writes make no progress for
//! longer than the heartbeat's timeout is cut.
//!
//! A client that stops reading closes its TCP window; the server's writes
//! then wait for ever. Pings cannot help when the client answers them
//! blindly (a pong every few seconds, without reading). Worse, engineioxide
//! 0.17.9's websocket writer awaits the blocked write while holding the
//! session's queue lock, and closing the session waits for that lock: the
//! heartbeat does close the session, but its namespace socket, its presence
//! entry and its connection slot stayed for ever (the disconnect handler
//! never ran). Failing the stalled write with `TimedOut` frees the writer,
//! so the session ends as any dead connection does.
//!
//! Only a write that is *pending* counts; any progress resets the clock, so
//! a slow but live link is never cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// Tracks how long the current write has been pending.
#[derive(Debug)]
pub struct WriteStall {
    limit: Duration,
    pending_since: Option<Pin<Box<Sleep>>>,
    tripped: bool,
}

impl WriteStall {
    pub fn new(limit: Duration) -> Self {
        WriteStall {
            limit,
            pending_since: None,
            tripped: false,
        }
    }

    /// Whether the deadline passed: every later read or write fails.
    pub fn tripped(&self) -> bool {
        self.tripped
    }

    /// The error every operation gets once the deadline passed.
    pub fn error() -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer stopped reading (write stalled)",
        )
    }

    /// Passes a write's outcome through: progress resets the clock, and a
    /// write still pending past the limit becomes [`WriteStall::error`].
    pub fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.pending_since = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.limit;
                let timer = self
                    .pending_since
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_ready() {
                    self.tripped = true;
                    self.pending_since = None;
                    Poll::Ready(Err(Self::error()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

    async fn write_watched(
        io: &mut (impl AsyncWrite + Unpin),
        stall: &mut WriteStall,
        bytes: &[u8],
    ) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            let poll = Pin::new(&mut *io).poll_write(cx, bytes);
            stall.watch(cx, poll)
        })
        .await
    }

    /// A write to a peer that never reads fails after the limit.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_fails_after_the_limit() {
        let (mut near, _far) = tokio::io::duplex(64);
        near.write_all(&[0; 64]).await.unwrap();
        let mut stall = WriteStall::new(Duration::from_secs(20));
        let started = tokio::time::Instant::now();
        let result = write_watched(&mut near, &mut stall, &[0; 1]).await;
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(20));
        assert!(stall.tripped());
    }

    /// A slow reader is not cut: every bit of progress resets the clock.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_is_not_cut() {
        let (mut near, mut far) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut chunk = [0; 64];
            let mut total = 0;
            loop {
                // Reads 64 bytes every 15 s: slower than nothing, faster than the limit.
                tokio::time::sleep(Duration::from_secs(15)).await;
                match far.read(&mut chunk).await.unwrap() {
                    0 => return total,
                    n => total += n,
                }
            }
        });
        let mut stall = WriteStall::new(Duration::from_secs(20));
        let mut written = 0;
        while written < 640 {
            written += write_watched(&mut near, &mut stall, &[1; 64])
                .await
                .unwrap();
        }
        near.shutdown().await.unwrap();
        drop(near);
        assert_eq!(reader.await.unwrap(), written);
        assert!(!stall.tripped());
    }
}
