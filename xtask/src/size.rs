//! `cargo xtask size`: what the page costs to load, file by file, raw and
//! compressed, against the page it replaces and the size budget.

use std::path::Path;

use crate::process::read_file;
use anyhow::{ensure, Result};
pub use bench::tables::thousands;

use crate::compress::{brotli, files_under, gzip, is_twin, with_suffix};

/// What the original page loaded, gzip -9: angular.min.js 1.4.8 (52,400 B)
/// plus socket.io.js 1.4.4 (46,102 B).
pub const ORIGINAL_GZIP: u64 = 98_502;

/// The most the whole page may weigh, gzip -9: the page-weight issue's
/// target, lighter than `angular.min.js` 1.4.8 on its own (an earlier
/// issue's budget was 45,000 B).
pub const BUDGET_GZIP: u64 = 52_400;

/// One file the page loads, with its sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeRow {
    /// The path inside `dist/`, with `/` separators.
    pub file: String,
    pub raw: u64,
    /// gzip, level 9.
    pub gzip: u64,
    /// brotli, quality 11.
    pub brotli: u64,
}

/// `cargo xtask size [--no-build | --nightly]`: builds the page first when
/// `build`; with `nightly`, builds and weighs the nightly page too.
pub fn run(build: bool, nightly: bool) -> Result<()> {
    let dist = if build {
        crate::setup::wasm_toolchain()?;
        crate::toolchain::build_frontend_release()?
    } else {
        let dist = crate::process::repo_root().join("dist");
        ensure!(
            dist.join("index.html").exists(),
            "{} has no index.html: run `cargo xtask size` without --no-build",
            dist.display()
        );
        dist
    };
    let rows = measure(&dist)?;
    print!("{}", format_table(&rows));
    println!("{}", summary(total(&rows).gzip));
    if nightly {
        let nightly_rows = measure(&crate::nightly::build()?)?;
        println!("\nthe same page built with nightly (target/nightly-dist; not shipped):");
        print!("{}", format_table(&nightly_rows));
        println!("{}", summary(total(&nightly_rows).gzip));
    }
    Ok(())
}

/// Every file the page loads from `dist` (all files except the `.gz`/`.br`
/// twins), sorted by path, with raw, gzip -9 and brotli q11 sizes.
///
/// A compressed size is the length of the file's twin (what the server
/// sends) when the twin is at least as new as the file; otherwise the file is
/// compressed here with the same settings.
pub fn measure(dist: &Path) -> Result<Vec<SizeRow>> {
    let mut rows = Vec::new();
    for path in files_under(dist)? {
        if is_twin(&path) {
            continue;
        }
        let data = read_file(&path)?;
        let relative = path.strip_prefix(dist).unwrap_or(&path);
        let file = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        rows.push(SizeRow {
            file,
            raw: data.len() as u64,
            gzip: compressed_len(&path, &data, "gz", gzip),
            brotli: compressed_len(&path, &data, "br", brotli),
        });
    }
    rows.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(rows)
}

/// The length of `file`'s fresh `.suffix` twin, else of `compress(data)`.
fn compressed_len(file: &Path, data: &[u8], suffix: &str, compress: fn(&[u8]) -> Vec<u8>) -> u64 {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let twin = with_suffix(file, suffix);
    if let (Some(twin_time), Some(file_time)) = (modified(&twin), modified(file)) {
        if twin_time >= file_time {
            if let Ok(meta) = std::fs::metadata(&twin) {
                return meta.len();
            }
        }
    }
    compress(data).len() as u64
}

/// The sum of the rows, named `total`.
pub fn total(rows: &[SizeRow]) -> SizeRow {
    let sum = |size: fn(&SizeRow) -> u64| rows.iter().map(size).sum();
    SizeRow {
        file: "total".to_owned(),
        raw: sum(|r| r.raw),
        gzip: sum(|r| r.gzip),
        brotli: sum(|r| r.brotli),
    }
}

/// The rows and a total row as an aligned plain-text table, one line each,
/// numbers with thousands separators.
pub fn format_table(rows: &[SizeRow]) -> String {
    let header = ["file", "raw B", "gzip -9 B", "brotli 11 B"].map(str::to_owned);
    let total = total(rows);
    let cells = rows.iter().chain([&total]).map(|r| {
        let n = thousands;
        [r.file.clone(), n(r.raw), n(r.gzip), n(r.brotli)]
    });
    let lines: Vec<[String; 4]> = std::iter::once(header).chain(cells).collect();
    let width = |i: usize| lines.iter().map(|l| l[i].len()).max().unwrap_or(0);
    let w = [0, 1, 2, 3].map(width);
    let rule = w.map(|w| "-".repeat(w)).join("  ") + "\n";
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        // Rules under the header and above the total.
        if i == 1 || i == lines.len() - 1 {
            out.push_str(&rule);
        }
        let cells = l.iter().zip(w).enumerate().map(|(i, (cell, w))| match i {
            0 => format!("{cell:<w$}"),
            _ => format!("{cell:>w$}"),
        });
        out.push_str(&(cells.collect::<Vec<_>>().join("  ") + "\n"));
    }
    out
}

/// The comparison with the original page and the budget verdict.
pub fn summary(total_gzip: u64) -> String {
    let verdict = verdict(total_gzip);
    format!(
        "original page (AngularJS 1.4.8 + socket.io.js 1.4.4): {} B gzip\n\
         this page: {} B gzip ({:.0}% of the original), {verdict}",
        thousands(ORIGINAL_GZIP),
        thousands(total_gzip),
        total_gzip as f64 * 100.0 / ORIGINAL_GZIP as f64,
    )
}

/// Whether a page of `total_gzip` bytes (gzip -9) fits the budget, and by
/// how much.
pub fn verdict(total_gzip: u64) -> String {
    let budget = thousands(BUDGET_GZIP);
    if total_gzip <= BUDGET_GZIP {
        let spare = thousands(BUDGET_GZIP - total_gzip);
        format!("within the {budget} B gzip budget ({spare} B to spare)")
    } else {
        let over = thousands(total_gzip - BUDGET_GZIP);
        format!("OVER the {budget} B gzip budget by {over} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{row, TempDir};
    use std::io::Read;

    #[test]
    fn measures_every_loaded_file_but_not_the_twins() {
        let dir = TempDir::new("size");
        let dist = &dir.0;
        std::fs::create_dir_all(dist.join("snippets/x")).unwrap();
        let html = "<!doctype html><title>t</title>".repeat(20);
        std::fs::write(dist.join("index.html"), &html).unwrap();
        std::fs::write(dist.join("app.js"), "x".repeat(5_000)).unwrap();
        std::fs::write(dist.join("snippets/x/inline0.js"), "export {}").unwrap();
        // A stale twin (older than its file) is ignored; a fresh one is
        // what the server sends, so its length is the size.
        let stale = std::fs::File::create(dist.join("index.html.gz")).unwrap();
        stale.set_len(5).unwrap();
        stale
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
            .unwrap();
        std::fs::write(dist.join("app.js.br"), "fresh").unwrap();

        let rows = measure(dist).unwrap();
        let files: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(files, ["app.js", "index.html", "snippets/x/inline0.js"]);
        assert_eq!(rows[0].raw, 5_000);
        assert_eq!(rows[1].raw, html.len() as u64);
        assert_eq!(rows[2].raw, 9);
        // Repetitive input compresses well; the numbers are the real
        // compressed lengths.
        assert!(rows[0].gzip < 100, "{rows:?}");
        assert_eq!(rows[0].brotli, 5, "the fresh twin's length");
        assert_eq!(rows[1].gzip, gzip(html.as_bytes()).len() as u64);
        assert_eq!(rows[1].brotli, brotli(html.as_bytes()).len() as u64);

        let sum = total(&rows);
        assert_eq!(sum.file, "total");
        assert_eq!(sum.raw, 5_000 + html.len() as u64 + 9);
        assert_eq!(sum.gzip, rows.iter().map(|r| r.gzip).sum::<u64>());
        assert_eq!(sum.brotli, rows.iter().map(|r| r.brotli).sum::<u64>());
    }

    #[test]
    fn compressors_round_trip() {
        let data = b"hello hello hello hello, the page weighs little".repeat(50);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&data)[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, data);
        let mut unbrotlied = Vec::new();
        brotli::Decompressor::new(&brotli(&data)[..], 4096)
            .read_to_end(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, data);
    }

    #[test]
    fn formats_an_aligned_table_with_a_total() {
        let rows = [
            row("index.html", 1_010, 516, 400),
            row("frontend-1a2b_bg.wasm", 83_131, 34_779, 29_683),
        ];
        let table = format_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 6, "{table}");
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{table}");
        assert!(lines[0].starts_with("file"));
        assert!(lines[2].starts_with("index.html") && lines[2].ends_with("400"));
        assert!(lines[3].contains("83,131") && lines[3].contains("34,779"));
        assert!(lines[5].starts_with("total"), "{table}");
        assert!(lines[5].contains("84,141"), "{table}");
        assert!(lines[5].contains("35,295"), "{table}");
        assert!(lines[5].ends_with("30,083"), "{table}");
    }

    #[test]
    fn an_empty_dist_totals_zero() {
        let table = format_table(&[]);
        assert!(table.lines().last().unwrap().starts_with("total"));
        assert_eq!(total(&[]).gzip, 0);
    }

    #[test]
    fn summary_compares_and_checks_the_budget() {
        let within = summary(40_000);
        assert!(
            within.contains("original page (AngularJS 1.4.8 + socket.io.js 1.4.4): 98,502 B gzip")
        );
        assert!(within.contains("within the 52,400 B gzip budget (12,400 B to spare)"));
        assert!(summary(52_400).contains("within"));
        assert!(summary(52_401).contains("OVER the 52,400 B gzip budget by 1 B"));
    }
}
