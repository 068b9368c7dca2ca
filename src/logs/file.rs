//! One open log file, shared by every task of a process that names it.
//!
//! The file is opened in append mode and never buffered in user space: a record is handed to
//! the kernel with one `write` call while the file's lock is held, so it is on its way to the
//! disk ("flushed") when the call returns and records written from many threads never
//! interleave. The file is closed when the last task (and report, and run) holding it is
//! dropped.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// An open, append-only log file.
pub(crate) struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
    /// Set once the first write failed, so the host's log hears about a broken file once.
    warned: AtomicBool,
}

impl LogFile {
    /// Opens (creating it if needed) the file at `path`, which should be canonical.
    pub(crate) fn open(path: &Path) -> io::Result<LogFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(LogFile {
            path: path.to_owned(),
            file: Mutex::new(file),
            warned: AtomicBool::new(false),
        })
    }

    /// The canonical path the file was opened at.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one whole record.
    pub(crate) fn append(&self, record: &[u8]) -> io::Result<()> {
        // A poisoned lock only means another writer panicked mid-call; the file is still fine.
        let file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = (&*file).write_all(record);
        drop(file);
        if let Err(error) = &result {
            if !self.warned.swap(true, Ordering::Relaxed) {
                log::warn!("cannot write log file {}: {error}", self.path.display());
            }
        }
        result
    }
}

/// The key under which a log file is shared: the canonical path of the file, or of its folder
/// joined with its name when the file does not exist yet.
pub(crate) fn canonical(path: &Path) -> io::Result<PathBuf> {
    match path.canonicalize() {
        Ok(found) => return Ok(found),
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        Err(_) => {}
    }
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not end in a file name",
        )
    })?;
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    Ok(folder.canonicalize()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("processes-logfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn spellings_of_one_file_share_a_key() {
        let path = scratch("same.log");
        let folder = path.parent().unwrap();
        let detour = folder
            .join("..")
            .join(folder.file_name().unwrap())
            .join("same.log");
        assert_eq!(canonical(&path).unwrap(), canonical(&detour).unwrap());
        std::fs::write(&path, "").unwrap();
        assert_eq!(canonical(&path).unwrap(), canonical(&detour).unwrap());
    }

    #[test]
    fn a_missing_folder_is_refused() {
        let error = canonical(Path::new("/no-such-folder-for-processes/x.log")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn records_are_appended() {
        let path = scratch("append.log");
        std::fs::write(&path, "old\n").unwrap();
        let file = LogFile::open(&path).unwrap();
        file.append(b"one\n").unwrap();
        file.append(b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\none\ntwo\n");
    }
}
