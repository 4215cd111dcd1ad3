//! Durable storage for RDB files: a directory on the real file system, or an
//! in-memory disk for simulated nodes.
//!
//! Writes are atomic (write a temporary file, then rename), as Redis saves
//! its RDB. The in-memory disk separates what was written from what was
//! synced, so that a simulated crash can lose unsynced data.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
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

/// The OS's text for a storage error, as `strerror` gives it ("No space
/// left on device"), without Rust's " (os error N)".
pub fn os_error_text(error: &StorageError) -> String {
    let StorageError::Io { source, .. } = error;
    let text = source.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// A file opened for reading in pieces.
pub struct OpenedFile {
    /// Its length when opened.
    pub len: u64,
    /// Its bytes.
    pub reader: Box<dyn Read + Send>,
}

/// Named files that survive a restart.
pub trait Storage: Send + Sync {
    /// Reads a whole file; `None` when it does not exist.
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// Opens a file to read it in pieces, with its length; `None` when it
    /// does not exist. A replica loads a full sync's RDB this way, so the
    /// file never sits whole in memory.
    fn open(&self, name: &str) -> Result<Option<OpenedFile>, StorageError>;

    /// Replaces a file atomically and makes it durable.
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError>;

    /// Appends to a file, creating it when missing. Not durable until
    /// [`rename_durable`](Self::rename_durable): a replica streams a full
    /// sync's RDB to a temp file this way, so the payload never sits
    /// whole in memory.
    fn append(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError>;

    /// Makes `from` durable and renames it over `to`, atomically.
    fn rename_durable(&self, from: &str, to: &str) -> Result<(), StorageError>;

    /// Removes a file; a missing file is not an error.
    fn remove(&self, name: &str) -> Result<(), StorageError>;

    /// The process id Redis puts in temp file names (`temp-<unixtime>.<pid>.rdb`).
    fn pid(&self) -> u32;
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

/// Turns an I/O error of operation `op` on `path` into a [`StorageError`].
fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.display().to_string();
    move |source| StorageError::Io { op, path, source }
}

impl Storage for DirStorage {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(io("read", &path)(source)),
        }
    }

    fn open(&self, name: &str) -> Result<Option<OpenedFile>, StorageError> {
        let path = self.dir.join(name);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io("open", &path)(source)),
        };
        let len = file.metadata().map_err(io("stat", &path))?.len();
        Ok(Some(OpenedFile {
            len,
            reader: Box::new(file),
        }))
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.dir.join(name);
        let temp = self
            .dir
            .join(format!("temp-{}-{}", std::process::id(), name));
        let mut file = std::fs::File::create(&temp).map_err(io("create", &temp))?;
        file.write_all(bytes).map_err(io("write", &temp))?;
        file.sync_all().map_err(io("fsync", &temp))?;
        std::fs::rename(&temp, &path).map_err(io("rename", &path))?;
        Ok(())
    }

    fn append(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("open", &path))?;
        file.write_all(bytes).map_err(io("write", &path))
    }

    fn rename_durable(&self, from: &str, to: &str) -> Result<(), StorageError> {
        let from_path = self.dir.join(from);
        let to_path = self.dir.join(to);
        let file = std::fs::File::open(&from_path).map_err(io("open", &from_path))?;
        file.sync_all().map_err(io("fsync", &from_path))?;
        std::fs::rename(&from_path, &to_path).map_err(io("rename", &to_path))
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let path = self.dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(io("remove", &path)(source)),
        }
    }

    fn pid(&self) -> u32 {
        std::process::id()
    }
}

/// What is wrong with a simulated disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFault {
    /// Every write fails with ENOSPC.
    Full,
    /// Every write fails with EIO.
    Failing,
    /// The next write stops halfway, as one cut off by a power loss does:
    /// half its bytes reach the file, the write fails with EIO, and so does
    /// every later write (the disk is gone until the fault is lifted).
    Torn,
}

impl DiskFault {
    fn error(self, op: &'static str, path: &str) -> StorageError {
        let errno = match self {
            DiskFault::Full => 28,
            DiskFault::Failing | DiskFault::Torn => 5,
        };
        StorageError::Io {
            op,
            path: path.to_string(),
            source: std::io::Error::from_raw_os_error(errno),
        }
    }
}

/// A simulated node's disk: survives restarts; a crash may drop what was
/// written but not yet synced; a fault makes writes fail.
#[derive(Debug, Default)]
pub struct MemDisk {
    synced: BTreeMap<String, Vec<u8>>,
    unsynced: BTreeMap<String, Vec<u8>>,
    fault: Option<DiskFault>,
}

impl MemDisk {
    /// Makes every write fail as `fault` says, or work again (`None`).
    /// What the disk holds is kept either way.
    pub fn set_fault(&mut self, fault: Option<DiskFault>) {
        self.fault = fault;
    }

    fn check_writable(&self, op: &'static str, path: &str) -> Result<(), StorageError> {
        match self.fault {
            Some(DiskFault::Torn) | None => Ok(()),
            Some(fault) => Err(fault.error(op, path)),
        }
    }

    /// Appends `bytes` to the unsynced `name`, or, on a disk whose next
    /// write tears, half of them before failing.
    fn write_unsynced(&mut self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let torn = self.fault == Some(DiskFault::Torn);
        let kept = if torn { bytes.len() / 2 } else { bytes.len() };
        let current = match self.unsynced.get(name) {
            Some(_) => None,
            None => self.synced.get(name).cloned(),
        };
        self.unsynced
            .entry(name.to_string())
            .or_insert_with(|| current.unwrap_or_default())
            .extend_from_slice(&bytes[..kept]);
        if torn {
            self.fault = Some(DiskFault::Failing);
            return Err(DiskFault::Torn.error("write", name));
        }
        Ok(())
    }

    /// The size of a file (written or synced), for tests that watch a
    /// transfer grow on disk.
    pub fn file_len(&self, name: &str) -> Option<usize> {
        self.unsynced
            .get(name)
            .or_else(|| self.synced.get(name))
            .map(Vec::len)
    }

    /// The names of the files on the disk, in order.
    pub fn file_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.synced.keys().cloned().collect();
        names.extend(self.unsynced.keys().cloned());
        names.sort();
        names.dedup();
        names
    }

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

    fn open(&self, name: &str) -> Result<Option<OpenedFile>, StorageError> {
        // A simulated disk is memory already: a copy is what a read gives.
        Ok(self.read(name)?.map(|bytes| OpenedFile {
            len: bytes.len() as u64,
            reader: Box::new(std::io::Cursor::new(bytes)),
        }))
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let mut disk = self.disk.lock().expect("disk lock");
        // As Redis saves: a temp file, fsynced, renamed over the old one. A
        // write that fails or tears leaves the old file as it was.
        disk.check_writable("write", name)?;
        let temp = format!("temp-{}.rdb", self.pid());
        disk.unsynced.remove(&temp);
        disk.synced.remove(&temp);
        disk.write_unsynced(&temp, bytes)?;
        disk.unsynced.remove(&temp);
        disk.unsynced.remove(name);
        disk.synced.insert(name.to_string(), bytes.to_vec());
        Ok(())
    }

    fn append(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let mut disk = self.disk.lock().expect("disk lock");
        disk.check_writable("write", name)?;
        disk.write_unsynced(name, bytes)
    }

    fn rename_durable(&self, from: &str, to: &str) -> Result<(), StorageError> {
        let mut disk = self.disk.lock().expect("disk lock");
        disk.check_writable("fsync", from)?;
        let bytes = match disk.unsynced.remove(from) {
            Some(bytes) => Some(bytes),
            None => disk.synced.remove(from),
        };
        disk.synced.remove(from);
        let Some(bytes) = bytes else {
            return Err(StorageError::Io {
                op: "rename",
                path: from.to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        };
        disk.unsynced.remove(to);
        disk.synced.insert(to.to_string(), bytes);
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let mut disk = self.disk.lock().expect("disk lock");
        disk.unsynced.remove(name);
        disk.synced.remove(name);
        Ok(())
    }

    /// A fixed pid: temp file names must not depend on the host process.
    fn pid(&self) -> u32 {
        1
    }
}
