//! A deadline on every request body.
//!
//! hyper's header-read timeout ([`crate::http::serve`]) covers a request's head
//! only. A body trickled one byte a second (a POST with a large
//! `Content-Length`) kept its connection, and its slot, for as long as the
//! client liked: still open at 14 s with a 2 s timeout. Here the whole body
//! must arrive within the deadline, counted from when its head was read;
//! reading it afterwards fails with [`BodyTooSlow`], which the reader turns
//! into `408` (ours) or a refused payload (socketioxide's), and hyper closes
//! a connection whose body was not read to its end.
//!
//! Bodies nobody reads cost nothing here: the timer starts only when a
//! reader waits.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::observe::metrics::{Metrics, Refusal};

/// A body that did not arrive within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTooSlow;

/// axum middleware: every request body must arrive within the state's
/// duration of the request head.
pub async fn bodies(
    State((limit, metrics)): State<(Duration, Arc<Metrics>)>,
    req: Request,
    next: Next,
) -> Response {
    let deadline = Instant::now() + limit;
    let req = req.map(|body| {
        let mut body = Deadline::new(body, deadline);
        body.metrics = Some(metrics);
        Body::new(body)
    });
    next.run(req).await
}

/// The answer to a body that was too slow, if `err` (from reading a body)
/// says so.
pub fn refusal(err: &axum::Error) -> Option<Response> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if e.is::<BodyTooSlow>() {
            return Some((StatusCode::REQUEST_TIMEOUT, "request body too slow\n").into_response());
        }
        cause = e.source();
    }
    None
}

/// `inner`, failing with [`BodyTooSlow`] once `deadline` has passed while a
/// reader waits for more.
struct Deadline {
    inner: Body,
    deadline: Instant,
    /// Created the first time a read has to wait.
    timer: Option<Pin<Box<Sleep>>>,
    /// Where a missed deadline is counted.
    metrics: Option<Arc<Metrics>>,
}

impl Deadline {
    fn new(inner: Body, deadline: Instant) -> Self {
        Deadline {
            inner,
            deadline,
            timer: None,
            metrics: None,
        }
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                if let Some(metrics) = &self.metrics {
                    metrics.refused(Refusal::BodyTimeout);
                }
                Poll::Ready(Some(Err(BodyTooSlow.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::to_bytes;
    use futures_util::stream;

    /// A body whose chunks come `gap` apart.
    fn trickle(chunks: usize, gap: Duration) -> Body {
        let chunks = stream::unfold(0, move |i| async move {
            if i == chunks {
                return None;
            }
            tokio::time::sleep(gap).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), i + 1))
        });
        Body::from_stream(chunks)
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_within_its_deadline_is_read_whole() {
        let start = Instant::now();
        let body = Body::new(Deadline::new(
            trickle(5, Duration::from_millis(100)),
            start + Duration::from_secs(1),
        ));
        assert_eq!(to_bytes(body, 100).await.unwrap(), "xxxxx");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_body_fails_at_its_deadline() {
        let start = Instant::now();
        let body = Body::new(Deadline::new(
            trickle(100, Duration::from_secs(1)),
            start + Duration::from_secs(2),
        ));
        let err = to_bytes(body, 1000).await.unwrap_err();
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
        let answer = refusal(&err).expect("recognised as too slow");
        assert_eq!(answer.status(), StatusCode::REQUEST_TIMEOUT);
    }
}
