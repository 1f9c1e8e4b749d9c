//! Counters an operator (or an end-to-end test) can read at `/api/stats`.
//!
//! Only totals, nothing about any one user: presence is the public list.

use std::sync::atomic::{AtomicU64, Ordering};

pub use shared::stats::StatsView;

/// Monotonic event counters.
#[derive(Debug, Default)]
pub struct Stats {
    identify_events: AtomicU64,
    identify_refused: AtomicU64,
    resumed: AtomicU64,
    origin_refused: AtomicU64,
    flooders_disconnected: AtomicU64,
    sessions_refused: AtomicU64,
}

impl Stats {
    pub fn identify_received(&self) {
        self.identify_events.fetch_add(1, Ordering::Relaxed);
    }

    pub fn identify_was_refused(&self) {
        self.identify_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_resumed(&self) {
        self.resumed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a Socket.IO request refused for its origin; true for the
    /// first one, which is worth a line of its own (a misconfigured
    /// `--allowed-origin` shows at once), the rest are summed up by
    /// the periodic report.
    pub fn origin_was_refused(&self) -> bool {
        self.origin_refused.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Counts a socket disconnected for flooding `identify`; true for the
    /// first one (see [`Stats::origin_was_refused`]).
    pub fn flooder_disconnected(&self) -> bool {
        self.flooders_disconnected.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Counts a session refused at the session limit; true for the first
    /// one (see [`Stats::origin_was_refused`]).
    pub fn session_was_refused(&self) -> bool {
        self.sessions_refused.fetch_add(1, Ordering::Relaxed) == 0
    }

    pub fn identify_events(&self) -> u64 {
        self.identify_events.load(Ordering::Relaxed)
    }
}

impl Stats {
    pub fn view(&self, connected: usize, identified: usize) -> StatsView {
        StatsView {
            connected,
            identified,
            identify_events: self.identify_events.load(Ordering::Relaxed),
            identify_refused: self.identify_refused.load(Ordering::Relaxed),
            resumed: self.resumed.load(Ordering::Relaxed),
            origin_refused: self.origin_refused.load(Ordering::Relaxed),
            flooders_disconnected: self.flooders_disconnected.load(Ordering::Relaxed),
            sessions_refused: self.sessions_refused.load(Ordering::Relaxed),
        }
    }
}
