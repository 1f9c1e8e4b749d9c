//! Building the page for release with trunk, offline, with the pinned tools
//! (installed by [`crate::setup::wasm_toolchain`]), and precompressing it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use duct::Expression;

use crate::compress::{brotli, files_under, gzip, is_twin, with_suffix, TWINNED};
use crate::process::{cargo, read_file, repo_root, run, took, write_file};
use crate::setup::tool_path;

/// Builds the page with `trunk build --release` into `<repo>/dist` and writes
/// `.gz` (gzip -9) and `.br` (brotli q11) twins next to every
/// `.wasm`/`.js`/`.css`/`.html` file, which the server sends to browsers
/// that accept them. Returns the `dist` path.
///
/// trunk runs with the tools on [`tool_path`] and no update check; its
/// `offline = true` (Trunk.toml) also makes cargo offline, so the crates are
/// fetched first.
pub fn build_frontend_release() -> Result<PathBuf> {
    let root = repo_root();
    run(&cargo(["fetch"]).dir(&root))?;
    println!("xtask: ── trunk build --release");
    let started = Instant::now();
    run(&trunk(&root, ["build", "--release"]))?;
    took("trunk build --release", started);
    let dist = root.join("dist");
    ensure!(
        dist.join("index.html").exists(),
        "trunk build succeeded but {} has no index.html",
        dist.display()
    );
    let started = Instant::now();
    let written = precompress(&dist)?;
    took(&format!("precompressing {written} files"), started);
    Ok(dist)
}

/// `trunk ARGS` run in `root` with the pinned tools first on PATH and the
/// (blocked) update check off.
pub fn trunk<I: IntoIterator<Item = S>, S: Into<std::ffi::OsString>>(
    root: &Path,
    args: I,
) -> Expression {
    duct::cmd("trunk", args)
        .dir(root)
        .env("PATH", tool_path())
        .env("TRUNK_SKIP_VERSION_CHECK", "true")
}

/// Writes `<file>.gz` and `<file>.br` next to every file in `dist` whose
/// extension is in [`TWINNED`], and removes twins whose file is gone.
/// Returns how many files got twins.
pub fn precompress(dist: &Path) -> Result<usize> {
    let files = files_under(dist)?;
    for twin in files.iter().filter(|path| is_twin(path)) {
        if !twin.with_extension("").exists() {
            std::fs::remove_file(twin)
                .with_context(|| format!("cannot remove {}", twin.display()))?;
        }
    }
    let mut written = 0;
    for file in &files {
        let twinned = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|ext| TWINNED.contains(&ext));
        if !twinned {
            continue;
        }
        let data = read_file(file)?;
        write_file(&with_suffix(file, "gz"), gzip(&data))?;
        write_file(&with_suffix(file, "br"), brotli(&data))?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::TempDir;
    use std::io::Read;

    #[test]
    fn writes_twins_that_decompress_to_the_file() {
        let dir = TempDir::new("precompress");
        let dist = &dir.0;
        std::fs::create_dir_all(dist.join("snippets")).unwrap();
        let js = "export function f() { return 1; }\n".repeat(30);
        std::fs::write(dist.join("app.js"), &js).unwrap();
        std::fs::write(dist.join("app_bg.wasm"), [0u8, 97, 115, 109, 1, 0, 0, 0]).unwrap();
        std::fs::write(dist.join("style.css"), "body{margin:0}").unwrap();
        std::fs::write(dist.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dist.join("snippets/s.js"), "export {}").unwrap();
        std::fs::write(dist.join("favicon.png"), [1, 2, 3]).unwrap();
        std::fs::write(dist.join("old-hash.js.gz"), "stale").unwrap();
        std::fs::write(dist.join("old-hash.js.br"), "stale").unwrap();

        assert_eq!(precompress(dist).unwrap(), 5);

        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dist.join("app.js.gz")).unwrap())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, js);
        let mut unbrotlied = String::new();
        brotli::Decompressor::new(std::fs::File::open(dist.join("app.js.br")).unwrap(), 4096)
            .read_to_string(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, js);
        for twin in [
            "app_bg.wasm.gz",
            "app_bg.wasm.br",
            "style.css.gz",
            "style.css.br",
            "index.html.gz",
            "index.html.br",
            "snippets/s.js.gz",
            "snippets/s.js.br",
        ] {
            assert!(dist.join(twin).exists(), "{twin}");
        }
        assert!(!dist.join("favicon.png.gz").exists());
        assert!(!dist.join("old-hash.js.gz").exists());
        assert!(!dist.join("old-hash.js.br").exists());

        // Running it again replaces the twins instead of twinning them.
        assert_eq!(precompress(dist).unwrap(), 5);
        assert!(!dist.join("app.js.gz.gz").exists());
    }

    #[test]
    fn appends_the_suffix() {
        assert_eq!(
            with_suffix(Path::new("dist/app_bg.wasm"), "br"),
            PathBuf::from("dist/app_bg.wasm.br")
        );
    }
}
