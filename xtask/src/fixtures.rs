//! Test fixtures shared by several modules' tests.

use std::path::PathBuf;

/// A fresh, empty folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn row(file: &str, raw: u64, gzip: u64, brotli: u64) -> crate::size::SizeRow {
    crate::size::SizeRow {
        file: file.to_owned(),
        raw,
        gzip,
        brotli,
    }
}
