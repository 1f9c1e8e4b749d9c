//! What an operator sees: the counters behind `/api/stats` and the
//! Prometheus exposition at `/metrics`. The bottom of the server: every
//! other part counts into it, and it imports none of them.

pub mod metrics;
pub mod stats;
