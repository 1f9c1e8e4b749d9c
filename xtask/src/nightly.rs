//! `cargo xtask size --nightly`: the same page built with nightly's size
//! options (`-Zbuild-std`, so LTO and `opt-level = "z"` reach into std, and
//! `panic = immediate-abort`), weighed beside the stable build. A
//! measurement, not the shipped build: it needs components (`rust-src`, the
//! nightly wasm target) that rustup downloads from outside the package
//! registries. Output in `target/nightly-dist`, built in its own target
//! folder so that neither build invalidates the other.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use crate::process::{repo_root, run, took};

/// The nightly toolchain the machine image carries (rustup's name).
const TOOLCHAIN: &str = "nightly";

pub fn build() -> Result<PathBuf> {
    components()?;
    let root = repo_root();
    let dist = root.join("target/nightly-dist");
    println!("xtask: ── trunk build --release with {TOOLCHAIN}, -Zbuild-std and immediate-abort");
    let started = Instant::now();
    let build = ["build", "--release", "--dist"].map(std::ffi::OsStr::new);
    let build = build.into_iter().chain([dist.as_os_str()]);
    run(&crate::toolchain::trunk(&root, build)
        .env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
        .env("CARGO_TARGET_DIR", root.join("target/nightly"))
        .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
        .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort"))?;
    took("the nightly build", started);
    crate::toolchain::precompress(&dist)?;
    Ok(dist)
}

/// `rust-src` and the wasm target for the nightly toolchain (rustup does
/// nothing when they are there).
fn components() -> Result<()> {
    let rustup = |args: &str| run(&duct::cmd("rustup", args.split(' ')));
    rustup(&format!("component add rust-src --toolchain {TOOLCHAIN}"))?;
    rustup(&format!(
        "target add wasm32-unknown-unknown --toolchain {TOOLCHAIN}"
    ))
}
