//! Benchmark S5's timing half: how soon each page is `Connected` on a cold
//! load, ours against the page we replace, both served compressed by our
//! server. The e2e crate's `first_load` binary does the loads; this module
//! prepares its folder: our release page and, in `seed/`, the original page
//! unchanged, every file with its gzip -9 and brotli twin.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use duct::cmd;

use crate::process::{cargo, create_dir, run};

/// Cold loads per page and network profile (the issue asks for ≥ 10).
pub const LOADS: usize = 10;

/// Runs the loads against `server` (a built server binary) and returns the
/// Markdown table with the verdict lines. `dist/` must hold the release page.
pub fn table(root: &Path, server: &Path) -> Result<String> {
    crate::setup::chromium()?;
    crate::interop::node_peers(root)?;
    let seed = crate::interop::install_seed_page(root)?;
    let pages = pages_folder(root, &seed)?;
    run(&cargo(["build", "-p", "e2e", "--bin", "first_load"]).dir(root))?;
    println!("xtask: ── S5 first loads: {LOADS} cold loads per page and profile in Chromium");
    let output = cmd!(root.join("target/debug/first_load"))
        .env("CHROMEDRIVER", crate::setup::CHROMEDRIVER)
        .env("ISS_E2E_SERVER_BIN", server)
        .env("ISS_E2E_DIST", &pages)
        .env("ISS_S5_LOADS", LOADS.to_string())
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .context("cannot run first_load")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "first_load failed ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

/// `target/bench/s5-pages`: `dist/` with the original page in `seed/`, all
/// precompressed.
fn pages_folder(root: &Path, seed: &Path) -> Result<PathBuf> {
    let pages = root.join("target/bench/s5-pages");
    if pages.exists() {
        std::fs::remove_dir_all(&pages)
            .with_context(|| format!("cannot remove {}", pages.display()))?;
    }
    copy_files(&root.join("dist"), &pages)?;
    copy_files(seed, &pages.join("seed"))?;
    crate::toolchain::precompress(&pages)?;
    Ok(pages)
}

/// Copies the files of `from` (not its folders) into `to`.
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    create_dir(to)?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            let target = to.join(path.file_name().unwrap_or_default());
            std::fs::copy(&path, &target)
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::TempDir;

    #[test]
    fn the_pages_folder_has_both_pages_and_their_twins() {
        let root = TempDir::new("s5-pages");
        let dist = root.0.join("dist");
        let seed = root.0.join("seed-page");
        for (dir, file) in [
            (&dist, "index.html"),
            (&seed, "index.html"),
            (&seed, "angular.min.js"),
        ] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(file), "<!doctype html>".repeat(20)).unwrap();
        }
        let pages = pages_folder(&root.0, &seed).unwrap();
        for file in [
            "index.html",
            "index.html.gz",
            "index.html.br",
            "seed/index.html.gz",
            "seed/angular.min.js.br",
        ] {
            assert!(pages.join(file).exists(), "{file} missing");
        }
    }
}
