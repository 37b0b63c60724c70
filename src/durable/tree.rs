//! Whole files and folders: hashed copies, exclusive folder creation, durable renames,
//! atomic directory exchange and crash-safe removal.
//!
//! Backups and the rollback build folders next to their final place, fsync everything,
//! then make them visible with one rename; these are the pieces they are built from.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::{split_target, sync_dir, NEW_FILE_MODE, TEMP_COUNTER};
use crate::{Error, ErrorCode, Result};

/// Mode of folders we create: nothing restored or backed up is made executable or private.
pub const DIR_MODE: u32 = 0o755;

/// Creates `dir` with mode 0755 (its parent must exist) and fsyncs the parent; fails with `STATE_CONFLICT` when `dir` already exists.
pub fn create_dir_new(dir: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "{} already exists; nothing was overwritten, pick another name or remove it",
                    dir.display()
                ),
            )
            .with_path(dir))
        }
        Err(e) => return Err(Error::write_io(dir, &e)),
    }
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
        .map_err(|e| Error::write_io(dir, &e))?;
    let (parent, _) = split_target(dir)?;
    sync_dir(parent)
}

/// Copies `from` into the new file `to` (mode 0644, must not exist), handing every chunk read to `observe` (to hash while copying), and fsyncs it. Returns the byte count. The caller fsyncs the directory of `to` once it holds all its files.
pub fn copy_file_new(
    from: &Path,
    to: &Path,
    buf: &mut [u8],
    observe: &mut dyn FnMut(&[u8]),
) -> Result<u64> {
    let mut source = File::open(from).map_err(|e| Error::read_io(from, &e))?;
    let mut target = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(NEW_FILE_MODE)
        .open(to)
        .map_err(|e| Error::write_io(to, &e))?;
    target
        .set_permissions(Permissions::from_mode(NEW_FILE_MODE))
        .map_err(|e| Error::write_io(to, &e))?;
    let mut total = 0u64;
    loop {
        let n = match source.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::read_io(from, &e)),
        };
        observe(&buf[..n]);
        target
            .write_all(&buf[..n])
            .map_err(|e| Error::write_io(to, &e))?;
        total += n as u64;
    }
    target.sync_all().map_err(|e| Error::write_io(to, &e))?;
    Ok(total)
}

/// What tells that a file still holds the bytes read earlier, without reading it again: the same
/// inode, size and modification time. A hard link keeps all three. A rewrite in place to the
/// same size within the filesystem's timestamp granularity would go unseen, so it is used only
/// for files nobody rewrites in place (LevelDB tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileStamp {
    /// The stamp of an open file or a path's metadata.
    pub fn of(meta: &fs::Metadata) -> FileStamp {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// The stamp of `path` itself (a symbolic link is not followed).
    pub fn read(path: &Path) -> Result<FileStamp> {
        fs::symlink_metadata(path)
            .map(|m| FileStamp::of(&m))
            .map_err(|e| Error::read_io(path, &e))
    }
}

/// Gives `existing` the new name `new` (a hard link) without syncing `new`'s folder: the caller
/// links many files, then syncs the folder once. `Ok(false)` when this filesystem or pair of
/// folders cannot link (another filesystem, no hard links): the caller copies instead.
pub fn hard_link_new(existing: &Path, new: &Path) -> Result<bool> {
    match fs::hard_link(existing, new) {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EXDEV | libc::EPERM | libc::EMLINK | libc::EOPNOTSUPP)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::write_io(new, &e)),
    }
}

/// Renames `from` to `to` and fsyncs both parent folders, so the move survives a crash.
pub fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| rename_error(from, to, &e))?;
    sync_parents(from, to)
}

/// Gives the file `existing` a second name `new` (a hard link, same filesystem) and fsyncs `new`'s folder: keeps old bytes reachable before a replace.
pub fn link_durable(existing: &Path, new: &Path) -> Result<()> {
    fs::hard_link(existing, new).map_err(|e| {
        Error::new(
            ErrorCode::WriteFailed,
            format!(
                "cannot keep {} as {}: {e}; nothing was replaced",
                existing.display(),
                new.display()
            ),
        )
        .with_path(existing)
    })?;
    let (parent, _) = split_target(new)?;
    sync_dir(parent)
}

/// Swaps two existing paths in one step (`renameat2` with `RENAME_EXCHANGE`) and fsyncs their parents. `Ok(false)` means this filesystem cannot exchange (nothing changed); the caller then falls back to a journaled pair of renames.
pub fn exchange(a: &Path, b: &Path) -> Result<bool> {
    let (ca, cb) = (c_path(a)?, c_path(b)?);
    // SAFETY: two valid NUL-terminated paths, relative paths resolved against the cwd.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Ok(false),
            _ => Err(rename_error(a, b, &err)),
        };
    }
    sync_parents(a, b)?;
    Ok(true)
}

/// Removes a folder tree. It is first renamed to a hidden `.trash-` sibling, so a crash mid-way never leaves a half-removed tree under its real name; [`remove_trash`] finishes such leftovers.
pub fn remove_tree(dir: &Path) -> Result<()> {
    let (parent, name) = split_target(dir)?;
    let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let trash = parent.join(format!(
        ".trash-{}-{}-{counter}",
        name.to_string_lossy(),
        std::process::id()
    ));
    rename_durable(dir, &trash)?;
    fs::remove_dir_all(&trash).map_err(|e| Error::write_io(&trash, &e))?;
    sync_dir(parent)
}

/// Deletes the `.trash-*` folders a crashed [`remove_tree`] left in `parent`; returns how many.
pub fn remove_trash(parent: &Path) -> Result<usize> {
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::read_io(parent, &e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::read_io(parent, &e))?;
        if entry.file_name().as_bytes().starts_with(b".trash-") {
            fs::remove_dir_all(entry.path()).map_err(|e| Error::write_io(entry.path(), &e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(parent)?;
    }
    Ok(removed)
}

/// A private temporary folder for read-only work on copies, removed with its content on drop.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `<temp dir>/lookcoin-state-<tag>-<pid>-<n>` with mode 0700, first removing those of `tag` that killed processes left.
    pub fn new(tag: &str) -> Result<ScratchDir> {
        remove_orphans(tag);
        let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "lookcoin-state-{tag}-{}-{counter}",
            std::process::id()
        ));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::write_io(&path, &e))?;
        Ok(ScratchDir { path })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts a copy of `file` in the folder under the same name: a hard link when `link` (for files nobody writes in place), else (or across filesystems) a byte copy.
    pub fn add(&self, file: &Path, link: bool) -> Result<()> {
        let (_, name) = split_target(file)?;
        let to = self.path.join(name);
        if link && fs::hard_link(file, &to).is_ok() {
            return Ok(());
        }
        fs::copy(file, &to)
            .map(|_| ())
            .map_err(|e| Error::read_io(file, &e))
    }
}

/// Scratch folders of `tag` whose process is gone (a `kill -9` skips `Drop`); best effort, they are only copies.
fn remove_orphans(tag: &str) {
    let prefix = format!("lookcoin-state-{tag}-");
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('-').next()?.parse::<i32>().ok());
        if pid.is_some_and(|pid| !super::process_alive(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Scratch data is a copy; failing to delete it loses nothing, so the error is dropped.
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn sync_parents(a: &Path, b: &Path) -> Result<()> {
    let (pa, _) = split_target(a)?;
    let (pb, _) = split_target(b)?;
    sync_dir(pa)?;
    if pa != pb {
        sync_dir(pb)?;
    }
    Ok(())
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("path {} contains a NUL byte", path.display()),
        )
    })
}

fn rename_error(from: &Path, to: &Path, err: &io::Error) -> Error {
    Error::new(
        ErrorCode::WriteFailed,
        format!(
            "cannot rename {} to {}: {err}; neither was changed",
            from.display(),
            to.display()
        ),
    )
    .with_path(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::durable::test_dir;

    #[test]
    fn copy_hands_every_byte_to_the_observer_and_refuses_to_overwrite() {
        let dir = test_dir("copy");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(dir.join("a"), &data).unwrap();
        let mut seen = Vec::new();
        let mut buf = vec![0u8; 4096];
        let n = copy_file_new(&dir.join("a"), &dir.join("b"), &mut buf, &mut |c| {
            seen.extend_from_slice(c)
        })
        .unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(seen, data);
        assert_eq!(fs::read(dir.join("b")).unwrap(), data);
        let mode = fs::metadata(dir.join("b")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let err = copy_file_new(&dir.join("a"), &dir.join("b"), &mut buf, &mut |_| {}).unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exchange_swaps_two_folders() {
        let dir = test_dir("swap");
        fs::create_dir(dir.join("x")).unwrap();
        fs::create_dir(dir.join("y")).unwrap();
        fs::write(dir.join("x/f"), "x").unwrap();
        fs::write(dir.join("y/f"), "y").unwrap();
        if exchange(&dir.join("x"), &dir.join("y")).unwrap() {
            assert_eq!(fs::read_to_string(dir.join("x/f")).unwrap(), "y");
            assert_eq!(fs::read_to_string(dir.join("y/f")).unwrap(), "x");
        } else {
            eprintln!("this filesystem has no RENAME_EXCHANGE; fallback path covered elsewhere");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn create_dir_new_refuses_an_existing_folder_and_remove_tree_leaves_nothing() {
        let dir = test_dir("mk");
        create_dir_new(&dir.join("b")).unwrap();
        let mode = fs::metadata(dir.join("b")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        fs::write(dir.join("b/f"), "1").unwrap();
        assert_eq!(
            create_dir_new(&dir.join("b")).unwrap_err().code,
            ErrorCode::Conflict
        );
        assert_eq!(fs::read_to_string(dir.join("b/f")).unwrap(), "1");
        remove_tree(&dir.join("b")).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::create_dir(dir.join(".trash-left")).unwrap();
        assert_eq!(remove_trash(&dir).unwrap(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
