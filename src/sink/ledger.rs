//! The ledger of files a run wrote (`OUT/.sluice-written`, one path relative to OUT per
//! line, appended before each file is created). The next run into the same directory deletes
//! exactly those files and nothing else, then refuses to write next to files it did not write:
//! a run never deletes what it did not write, and never mixes its shards with foreign ones.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// File name of the ledger inside the output directory.
pub const LEDGER: &str = ".sluice-written";

/// Directories a run writes into; each must hold only sluice's own files.
pub const OUTPUT_DIRS: [&str; 5] = ["train", "validation", "dropped", "quarantine", "duplicates"];

/// Appends the paths of the files a run creates.
pub struct Ledger {
    out_dir: PathBuf,
    file: Mutex<File>,
}

impl Ledger {
    /// Deletes the files an earlier run recorded, checks that the output directories hold no
    /// other file, and starts a new ledger.
    pub fn start(out_dir: &Path) -> Result<Ledger> {
        std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
        let path = out_dir.join(LEDGER);
        if let Ok(text) = std::fs::read_to_string(&path) {
            for rel in text.lines().filter(|l| !l.is_empty()) {
                let p = out_dir.join(rel);
                if rel.contains("..") || Path::new(rel).is_absolute() {
                    continue;
                }
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
        }
        for name in ["manifest.json", "stats.json"] {
            let p = out_dir.join(name);
            if p.exists() {
                return Err(foreign(out_dir, &p));
            }
        }
        for dir in OUTPUT_DIRS {
            let d = out_dir.join(dir);
            if let Ok(entries) = std::fs::read_dir(&d)
                && let Some(e) = entries.flatten().next()
            {
                return Err(foreign(out_dir, &e.path()));
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Ledger { out_dir: out_dir.to_path_buf(), file: Mutex::new(file) })
    }

    /// Opens the ledger to record more files, creating it if missing (tasks of one run share
    /// it; each line is one small append).
    pub fn open(out_dir: &Path) -> Result<Ledger> {
        std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
        let path = out_dir.join(LEDGER);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Ledger { out_dir: out_dir.to_path_buf(), file: Mutex::new(file) })
    }

    /// Records `path` (under the output directory) before it is created.
    pub fn record(&self, path: &Path) -> Result<()> {
        let rel = path.strip_prefix(&self.out_dir).unwrap_or(path);
        let mut f = self.file.lock().map_err(|_| Error::Internal("ledger lock poisoned".into()))?;
        writeln!(f, "{}", rel.display())
            .and_then(|()| f.flush())
            .map_err(|e| Error::io(self.out_dir.join(LEDGER), e))
    }
}

fn foreign(out_dir: &Path, p: &Path) -> Error {
    Error::Input {
        location: p.display().to_string(),
        message: format!(
            "the output directory {} holds files an earlier sluice run did not record as its \
             own (not listed in {LEDGER}); sluice never deletes files it did not write: remove \
             them by hand or choose another output directory",
            out_dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_only_recorded_files_and_refuses_foreign_ones() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        {
            let l = Ledger::start(out).unwrap();
            std::fs::create_dir_all(out.join("train")).unwrap();
            let p = out.join("train/a.parquet");
            l.record(&p).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        std::fs::write(out.join("mine.txt"), b"user file").unwrap();
        // a second run deletes its own shard and keeps the user's file
        Ledger::start(out).unwrap();
        assert!(!out.join("train/a.parquet").exists());
        assert!(out.join("mine.txt").exists());
        // a file it did not write, in a directory it writes into, stops it
        std::fs::write(out.join("train/theirs.parquet"), b"y").unwrap();
        let err = Ledger::start(out).err().unwrap().to_string();
        assert!(err.contains("theirs.parquet") && err.contains("never deletes"), "{err}");
        assert!(out.join("train/theirs.parquet").exists());
    }
}
