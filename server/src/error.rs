//! [`StartError`]: why the server could not start, from a bad configuration
//! (origins, hosts, the Redis URL) to a port it cannot bind.

use std::net::SocketAddr;

use crate::cluster;
use crate::http::{host, origin};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Origin(#[from] origin::BadOrigin),
    #[error(transparent)]
    Host(#[from] host::BadHost),
    #[error(transparent)]
    Redis(#[from] cluster::BadRedisUrl),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}
