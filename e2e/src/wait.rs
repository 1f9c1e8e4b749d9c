//! Waiting for conditions with a deadline: no sleeps as synchronisation.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long any one wait may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Re-evaluates `check` every 25 ms until it returns `Some`, or fails the
/// test after [`DEADLINE`] with the last value seen.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        let last = match check().await {
            Ok(Some(value)) => return value,
            Ok(None) => "condition not met".to_owned(),
            Err(err) => err,
        };
        if Instant::now() > deadline {
            panic!("timed out after {DEADLINE:?} waiting for {what}; last: {last}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
