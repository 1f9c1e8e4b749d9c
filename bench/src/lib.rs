//! The load generator's parts. One tokio runtime drives every simulated
//! client (no thread per client); each client is the *same* sans-IO
//! [`app_client::Session`] the browser runs, behind a thin tokio shell.
//!
//! - [`shell`]: one Socket.IO client over tokio-tungstenite;
//! - [`closed_loop`]: scenario S1, identify-with-ack in a closed loop;
//! - [`lean`]: S1's measuring loop in raw frames, so the generator is not the bottleneck;
//! - [`open_loop`]: scenario S2, identify-with-ack on a fixed schedule;
//! - [`crowd`]: many identified clients at once, for S3 and S4;
//! - [`hold`]: scenario S3, thousands of connections held through heartbeats;
//! - [`fanout`]: scenario S4, one presence change reaching everyone;
//! - [`fault`]: page-like clients through a server kill or restart;
//! - [`churn`]: short sessions back to back, for leak checks;
//! - [`report`]: latency histogram, per-client counts, CPU and memory;
//! - [`summary`]: what every run prints, typed (serde only, always built);
//! - `tables`, `chart` (feature `report`): the report `cargo xtask bench`
//!   writes from those summaries.

#[cfg(feature = "report")]
pub mod chart;
#[cfg(feature = "run")]
pub mod churn;
#[cfg(feature = "run")]
pub mod closed_loop;
#[cfg(feature = "run")]
pub mod crowd;
#[cfg(feature = "run")]
pub mod fanout;
#[cfg(feature = "run")]
pub mod fault;
#[cfg(feature = "run")]
pub mod hold;
#[cfg(feature = "run")]
pub mod lean;
#[cfg(feature = "run")]
pub mod open_loop;
#[cfg(feature = "run")]
pub mod report;
#[cfg(feature = "run")]
pub mod shell;
pub mod summary;
#[cfg(feature = "report")]
pub mod tables;
