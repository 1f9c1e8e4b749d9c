//! Compression and the precompressed twins (`.gz`, `.br`), for `size` and
//! `toolchain`, which therefore do not depend on each other.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Extensions of the files written with `.gz`/`.br` twins (see
/// [`crate::toolchain::precompress`]).
pub const TWINNED: &[&str] = &["wasm", "js", "css", "html"];

/// `app.wasm` → `app.wasm.gz`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// gzip at level 9 (`gzip -9`).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .expect("writing to a Vec cannot fail")
}

/// brotli at quality 11 (`brotli -q 11`) with a 4 MiB window, larger than any
/// file the page loads.
pub fn brotli(data: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("in-memory brotli");
    out
}

pub fn is_twin(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("gz" | "br"))
}

/// Every regular file under `dir`, recursively, in no particular order.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let listing = || format!("cannot list {}", dir.display());
        for entry in std::fs::read_dir(&dir).with_context(listing)? {
            let entry = entry.with_context(listing)?;
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot stat {}", entry.path().display()))?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}
