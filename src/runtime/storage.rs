//! Durable storage for RDB files: a directory on the real file system, or an
//! in-memory disk for simulated nodes.
//!
//! Writes are atomic (write a temporary file, then rename), as Redis saves
//! its RDB. The in-memory disk separates what was written from what was
//! synced, so that a simulated crash can lose unsynced data.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The underlying file system failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Named files that survive a restart.
pub trait Storage: Send + Sync {
    /// Reads a whole file; `None` when it does not exist.
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// Replaces a file atomically and makes it durable.
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError>;
}

/// Files in a directory (`--dir`).
#[derive(Debug, Clone)]
pub struct DirStorage {
    dir: PathBuf,
}

impl DirStorage {
    /// Storage in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirStorage { dir: dir.into() }
    }
}

impl Storage for DirStorage {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Io {
                op: "read",
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.dir.join(name);
        let temp = self
            .dir
            .join(format!("temp-{}-{}", std::process::id(), name));
        let io = |op: &'static str, p: &PathBuf| {
            let path = p.display().to_string();
            move |source| StorageError::Io { op, path, source }
        };
        let mut file = std::fs::File::create(&temp).map_err(io("create", &temp))?;
        file.write_all(bytes).map_err(io("write", &temp))?;
        file.sync_all().map_err(io("fsync", &temp))?;
        std::fs::rename(&temp, &path).map_err(io("rename", &path))?;
        Ok(())
    }
}

/// A simulated node's disk: survives restarts; a crash may drop what was
/// written but not yet synced.
#[derive(Debug, Default)]
pub struct MemDisk {
    synced: BTreeMap<String, Vec<u8>>,
    unsynced: BTreeMap<String, Vec<u8>>,
}

impl MemDisk {
    /// Forgets every write that was not synced (a power loss).
    pub fn lose_unsynced(&mut self) {
        self.unsynced.clear();
    }

    /// Makes every pending write durable.
    pub fn sync_all(&mut self) {
        let pending = std::mem::take(&mut self.unsynced);
        self.synced.extend(pending);
    }

    /// Erases the disk.
    pub fn wipe(&mut self) {
        self.synced.clear();
        self.unsynced.clear();
    }
}

/// [`Storage`] over a shared [`MemDisk`]. `write_atomic` syncs, as Redis
/// fsyncs its RDB before the rename.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    disk: Arc<Mutex<MemDisk>>,
}

impl MemStorage {
    /// Storage over `disk`.
    pub fn new(disk: Arc<Mutex<MemDisk>>) -> Self {
        MemStorage { disk }
    }

    /// The disk, for the harness's crash faults.
    pub fn disk(&self) -> Arc<Mutex<MemDisk>> {
        self.disk.clone()
    }
}

impl Storage for MemStorage {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let disk = self.disk.lock().expect("disk lock");
        Ok(disk
            .unsynced
            .get(name)
            .or_else(|| disk.synced.get(name))
            .cloned())
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let mut disk = self.disk.lock().expect("disk lock");
        disk.unsynced.remove(name);
        disk.synced.insert(name.to_string(), bytes.to_vec());
        Ok(())
    }
}
