//! The `/iss` server as a library, so tests and the fuzz driver can start it
//! in-process (on port 0, or on in-memory pipes).
//!
//! The face is small: a [`Config`], then [`start`] (tests: a [`Server`] to
//! stop), [`spawn`] (the binary: serve until a signal) or [`spawn_on`] (any
//! listener). Inside, folders, each importing only those below it:
//!
//! ```text
//!  main.rs, in_memory (the fuzz driver)
//!    └─ start (listen, serve, background tasks, shutdown) ─ router (routes + guard layers)
//!         ├─ app/      AppState, the identify use case, /iss handlers, periodic report
//!         ├─ cluster/  shared mode (--redis-url): presence stream, leases, tokens
//!         ├─ http/     the guards, in the order a request meets them
//!         ├─ state/    registry, presence book, fanout, resume tokens, rate limits
//!         └─ observe/  /api/stats counters and /metrics
//! ```
//!
//! A request's way through:
//!
//! ```text
//!  TCP ─▶ limit ─▶ serve (HTTP/1.1 only) ─▶ deadline ─▶ host ─▶ origin ─▶ detach ─▶ sessions ─▶ legacy_polling
//!      ─▶ socketioxide (/socket.io/, ns /iss; ns / for revision 4) ─▶ handlers ─▶ AppState ─┬─ Registry (users; rename limits)
//!                                                                                         ├─ Fanout ─▶ PresenceBook (budget, laggards)
//!                                                                                         ├─ ResumeBook (resume tokens)
//!                                                                                         ├─ Stats ─▶ /api/stats, report (periodic log line)
//!                                                                                         └─ Cluster (--redis-url) ─▶ Redis: presence stream, leases, tokens
//!      ─▶ /healthz, /api/stats, /metrics, static dist/ (cache rules, precompressed, no dot-paths)
//! ```

// The modules' docs are for maintainers (`cargo doc --document-private-items`)
// and link freely to what the small public face does not show.
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod app;
pub mod cluster;
mod config;
mod error;
pub(crate) mod http;
pub mod in_memory;
pub(crate) mod observe;
mod router;
mod start;
pub(crate) mod state;

pub use app::AppState;
pub use config::Config;
pub use error::StartError;
pub use start::{spawn, spawn_on, start, Server};
