//! The periodic report: one `info` line now and then with the totals, in
//! place of a line per event.
//!
//! Per-event lines (each connect, identify, refusal) are `debug`: at the
//! default level they would cost throughput on the hot path and let any
//! client write the operator's disk. An operator still wants to see that the
//! server is alive and busy, so this task logs the same totals as
//! `/api/stats` every interval, and only when something changed (an idle
//! server stays quiet).

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::observe::stats::StatsView;

/// Spawns the report task; `None` when `every` is zero (reports off).
pub fn spawn(state: AppState, every: Duration) -> Option<JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate: nothing to say yet
        let mut last = None;
        loop {
            ticker.tick().await;
            let now = view(&state);
            if let Some(line) = line_if_changed(last.as_ref(), &now) {
                tracing::info!("{line}");
            }
            last = Some(now);
        }
    }))
}

fn view(state: &AppState) -> StatsView {
    state
        .stats
        .view(state.registry.connected(), state.registry.identified())
}

/// The report line for `now`, or `None` if nothing changed since `last`.
fn line_if_changed(last: Option<&StatsView>, now: &StatsView) -> Option<String> {
    if last == Some(now) {
        return None;
    }
    Some(format!(
        "{} connected ({} identified); since start: {} identify events ({} refused), \
         {} resumed, {} foreign-origin requests refused, {} flooders disconnected, \
         {} sessions refused at a limit",
        now.connected,
        now.identified,
        now.identify_events,
        now.identify_refused,
        now.resumed,
        now.origin_refused,
        now.flooders_disconnected,
        now.sessions_refused,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(connected: usize) -> StatsView {
        StatsView {
            connected,
            identified: 1,
            identify_events: 7,
            identify_refused: 2,
            resumed: 0,
            origin_refused: 3,
            flooders_disconnected: 0,
            sessions_refused: 4,
        }
    }

    #[test]
    fn first_report_always_says_something() {
        let line = line_if_changed(None, &sample(2)).expect("a line");
        assert!(line.starts_with("2 connected (1 identified)"), "{line}");
        assert!(line.contains("7 identify events (2 refused)"), "{line}");
        assert!(line.contains("3 foreign-origin requests refused"), "{line}");
        assert!(line.contains("4 sessions refused at a limit"), "{line}");
    }

    #[test]
    fn an_idle_server_stays_quiet() {
        assert_eq!(line_if_changed(Some(&sample(2)), &sample(2)), None);
        assert!(line_if_changed(Some(&sample(2)), &sample(3)).is_some());
    }
}
