//! The load generator's parts. One tokio runtime drives every simulated
//! client (no thread per client); each client is the *same* sans-IO
//! [`shared::client::Session`] the browser runs, behind a thin tokio shell.
//!
//! - [`shell`]: one Socket.IO client over tokio-tungstenite;
//! - [`closed_loop`]: scenario S1, identify-with-ack in a closed loop;
//! - [`report`]: latency histogram, per-client counts, CPU.

pub mod closed_loop;
pub mod report;
pub mod shell;
