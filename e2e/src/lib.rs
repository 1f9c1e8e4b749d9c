//! End-to-end support: the server as a real process (so it can be SIGKILLed),
//! Chromium sessions over chromedriver (fantoccini), and waiting on what a
//! person would see, with deadlines.
//!
//! Inputs come from the environment, set by `cargo xtask test`:
//! `ISS_E2E_DIST` (the release page), `ISS_E2E_SERVER_BIN` (the server
//! binary), `CHROMEDRIVER` (default `/usr/bin/chromedriver`),
//! `ISS_E2E_SCREENSHOT` (where to save the README screenshot, optional).

pub mod browser;
pub mod first_load;
pub mod seed;
pub mod server;
pub mod wait;

pub use browser::{Browser, Cdp, NetworkResponse, Page};
pub use server::ServerProcess;
pub use wait::{eventually, DEADLINE};

/// A required environment variable, or a clear failure.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is unset: run the end-to-end tests with `cargo xtask test`")
    })
}
