//! The whole server: arbitrary request sequences (EIO=3 and EIO=4 polling
//! bodies, raw heads, websocket frames) through the real limits, layers and
//! router, in-process over in-memory pipes. The grammar of an input is in
//! `server/src/in_memory.rs`; seeds in `fuzz/seeds/server/`, which
//! `server/tests/whole_server.rs` replays on stable.
//!
//! Invariants: no step misses its deadline (a hang, such as a task spinning
//! on the server's runtime); nothing panics on a server thread; `/healthz`
//! answers `200` after every input. One server per process, shared by the
//! inputs as clients share a server.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use server::in_memory::Driver;

static DRIVER: OnceLock<Mutex<Driver>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let driver = DRIVER.get_or_init(|| Mutex::new(Driver::new()));
    driver.lock().unwrap_or_else(|e| e.into_inner()).run(data);
});
