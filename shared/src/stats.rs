//! `/api/stats`: the server's totals, typed for whoever reads them (the
//! server writes it; the end-to-end tests and the fault generator read it),
//! so a renamed field is a compile error, not a silently wrong zero.

use serde::{Deserialize, Serialize};

/// The JSON body of `/api/stats`, and what the periodic log line reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsView {
    /// Sockets joined to `/iss` right now.
    pub connected: usize,
    /// Of those, how many have a name.
    pub identified: usize,
    /// `identify` events received since start (accepted or not).
    pub identify_events: u64,
    /// Of those, how many were refused.
    pub identify_refused: u64,
    /// Sessions brought back with a resume token since start.
    pub resumed: u64,
    /// Socket.IO requests refused for a foreign origin since start.
    pub origin_refused: u64,
    /// Sockets disconnected for flooding `identify` since start.
    pub flooders_disconnected: u64,
    /// Sessions refused at `--max-connections` or `--max-per-source` since start.
    pub sessions_refused: u64,
}
