//! `cargo xtask payload`: benchmark scenario S5, what the page costs on first
//! load next to what the page it replaces cost, both measured here rather
//! than quoted.
//!
//! The original page (the Flask-SocketIO write-up) loaded two libraries from
//! CDNs: `angular.min.js` of AngularJS 1.4.8 (ajax.googleapis.com) and
//! `socket.io.js` of socket.io-client 1.4.4 (cdnjs; the unminified bundle —
//! the 1.4.4 package ships no `.min.js`). Both are fetched at bench time from
//! the npm registry (`npm pack` into `target/bench/original/`, unpacked with
//! `tar`), never committed, and compressed with the same gzip -9 / brotli 11
//! as our `dist/` ([`crate::size`]).
//!
//! The quoted 98,502 B ([`size::ORIGINAL_GZIP`]) is GNU gzip 1.12 on these
//! two files by name (`gzip -9 -c FILE | wc -c`: 52,400 + 46,102 B), the
//! header holding each file name; through a pipe they are 52,385 + 46,089 B.
//! The table uses [`crate::compress::gzip`] (flate2 level 9, no name) for
//! both sides: 52,502 + 46,125 = 98,627 B, measured as our `dist/` is.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use duct::cmd;

use crate::process::{cargo, create_dir, read_file, repo_root, run, write_file};
use crate::size::{self, thousands, SizeRow};

/// One file the original page loaded, as published on npm.
struct Original {
    package: &'static str,
    version: &'static str,
    /// The path inside the package.
    file: &'static str,
    /// Its length in bytes: a check that we measure the files the issue's
    /// figure was made from.
    raw: u64,
}

const ORIGINALS: [Original; 2] = [
    Original {
        package: "angular",
        version: "1.4.8",
        file: "angular.min.js",
        raw: 148_199,
    },
    Original {
        package: "socket.io-client",
        version: "1.4.4",
        file: "socket.io.js",
        raw: 184_588,
    },
];

impl Original {
    /// `angular@1.4.8`, what `npm pack` is given.
    fn spec(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }

    /// `angular-1.4.8`: the name of the tarball `npm pack` writes, without
    /// `.tgz` (unscoped packages only).
    fn stem(&self) -> String {
        format!("{}-{}", self.package, self.version)
    }
}

/// `cargo xtask payload`: prints the S5 tables (bytes, then first-load
/// times against the release server) and writes them to
/// `bench/results/s5.md`.
pub fn s5() -> Result<()> {
    let root = repo_root();
    run(&cargo(["build", "--release", "-p", "server"]).dir(&root))?;
    let table = s5_report(&root, &root.join("target/release/server"))?;
    print!("{table}");
    let results = root.join("bench/results");
    create_dir(&results)?;
    let out = results.join("s5.md");
    write_file(&out, &table)?;
    println!("xtask: wrote {}", out.display());
    Ok(())
}

/// Both S5 tables: the bytes ([`s5_table`]) and the first-load times
/// ([`crate::first_load`]) with `server` serving both pages.
pub fn s5_report(root: &Path, server: &Path) -> Result<String> {
    let bytes = s5_table(root)?;
    let times = crate::first_load::table(root, server)?;
    Ok(format!("{bytes}\n{times}"))
}

/// The S5 table in Markdown: each original file, the original total, this
/// page's total (everything in `root/dist`), the ratio and the budget verdict.
/// Fails if `dist/` has not been built.
pub fn s5_table(root: &Path) -> Result<String> {
    let dist = root.join("dist");
    ensure!(
        dist.join("index.html").exists(),
        "{} has no index.html: build the page first with `cargo xtask size` \
             (it builds dist/ for release)",
        dist.display()
    );
    let ours = size::measure(&dist)?;
    let originals = fetch_originals(&root.join("target/bench/original"))?;
    let mut page = size::total(&ours);
    page.file = format!("this page (`dist/`, {} files)", ours.len());
    Ok(markdown(&originals, &page))
}

/// Fetches every original file into `dir` (reusing tarballs fetched before)
/// and measures it.
fn fetch_originals(dir: &Path) -> Result<Vec<SizeRow>> {
    create_dir(dir)?;
    ORIGINALS
        .iter()
        .map(|original| {
            let path = fetch(original, dir)?;
            let data = read_file(&path)?;
            ensure!(
                data.len() as u64 == original.raw,
                "{} is {} B, expected {} B: delete {} and run again",
                path.display(),
                data.len(),
                original.raw,
                dir.display()
            );
            let file = format!("{} `{}`", original.spec(), original.file);
            Ok(row(file, &data))
        })
        .collect()
}

/// `npm pack`s one package into `dir` unless its tarball is there, and
/// unpacks the one file; returns that file's path.
fn fetch(original: &Original, dir: &Path) -> Result<PathBuf> {
    let tarball = dir.join(format!("{}.tgz", original.stem()));
    if !tarball.exists() {
        run(&cmd!("npm", "pack", "--silent", original.spec()).dir(dir))?;
    }
    let unpacked = dir.join(original.stem());
    create_dir(&unpacked)?;
    let member = format!("package/{}", original.file);
    run(&cmd!("tar", "-xzf", &tarball, "-C", &unpacked, &member))?;
    Ok(unpacked.join(member))
}

/// A row for `data`, compressed the way [`size::measure`] does.
fn row(file: String, data: &[u8]) -> SizeRow {
    SizeRow {
        file,
        raw: data.len() as u64,
        gzip: crate::compress::gzip(data).len() as u64,
        brotli: crate::compress::brotli(data).len() as u64,
    }
}

/// The table, the ratio line and the verdict.
fn markdown(originals: &[SizeRow], page: &SizeRow) -> String {
    let mut original = size::total(originals);
    original.file = "**original total**".to_owned();
    let mut out =
        String::from("| file | raw B | gzip -9 B | brotli 11 B |\n|---|---:|---:|---:|\n");
    for row in originals.iter().chain([&original, page]) {
        let [raw, gzip, brotli] = [row.raw, row.gzip, row.brotli].map(thousands);
        out.push_str(&format!("| {} | {raw} | {gzip} | {brotli} |\n", row.file));
    }
    out.push('\n');
    out.push_str(&ratio_line(page, &original));
    out.push_str(&format!("\nthis page: {}.\n", size::verdict(page.gzip)));
    out.push_str(&format!(
        "\nS5: first-load bytes. Originals from the npm registry (`npm pack`), \
         compressed with the same gzip -9 (flate2) and brotli 11 as `dist/`. \
         The issue quotes {} B gzip for the original (GNU `gzip -9 FILE`, \
         whose header also stores each file name; see `xtask/src/payload.rs`).\n",
        thousands(size::ORIGINAL_GZIP)
    ));
    out
}

/// e.g. `ours / original: 135.0% gzip -9, 130.3% brotli 11 (raw 102.7%)`.
fn ratio_line(ours: &SizeRow, original: &SizeRow) -> String {
    let percent = |a: u64, b: u64| {
        if b == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.1}%", a as f64 * 100.0 / b as f64)
        }
    };
    let gzip = percent(ours.gzip, original.gzip);
    let (brotli, raw) = (
        percent(ours.brotli, original.brotli),
        percent(ours.raw, original.raw),
    );
    format!("ours / original: {gzip} gzip -9, {brotli} brotli 11 (raw {raw})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{row, TempDir};

    #[test]
    fn names_what_npm_pack_takes_and_writes() {
        assert_eq!(ORIGINALS[0].spec(), "angular@1.4.8");
        assert_eq!(ORIGINALS[1].stem(), "socket.io-client-1.4.4");
    }

    #[test]
    fn sums_the_originals_and_compares() {
        let originals = [
            row("a", 148_199, 52_385, 46_000),
            row("b", 184_588, 46_089, 40_000),
        ];
        let page = row("this page", 100_000, 56_637, 43_000);
        let table = markdown(&originals, &page);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "| file | raw B | gzip -9 B | brotli 11 B |");
        assert_eq!(lines[2], "| a | 148,199 | 52,385 | 46,000 |");
        assert_eq!(
            lines[4],
            "| **original total** | 332,787 | 98,474 | 86,000 |"
        );
        assert_eq!(lines[5], "| this page | 100,000 | 56,637 | 43,000 |");
        assert_eq!(
            lines[7],
            "ours / original: 57.5% gzip -9, 50.0% brotli 11 (raw 30.0%)"
        );
        assert!(
            lines[8].starts_with("this page: OVER the 52,400 B gzip budget by 4,237 B"),
            "{table}"
        );
    }

    #[test]
    fn ratio_of_nothing_is_not_a_number() {
        let zero = row("x", 0, 0, 0);
        assert_eq!(
            ratio_line(&zero, &zero),
            "ours / original: n/a gzip -9, n/a brotli 11 (raw n/a)"
        );
    }

    #[test]
    fn an_unbuilt_dist_says_how_to_build_it() {
        let root = TempDir::new("payload");
        let error = s5_table(&root.0).unwrap_err().to_string();
        assert!(error.contains("cargo xtask size"), "{error}");
    }
}
