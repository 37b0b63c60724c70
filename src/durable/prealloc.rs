//! A file written front to back into space zero-filled ahead of the writes.
//!
//! A data sync after an append must also commit the file's new size, which on ext4 means a
//! journal commit: a second device round trip per durable write. Writing zeros ahead, in
//! chunks, makes most writes overwrites of blocks that are already allocated and inside the
//! committed size, so their `fdatasync` writes the data page and flushes, nothing else.
//! Measured on this project's CI disk: p50 of a 505-byte write + `fdatasync` 121–131 µs
//! over zeros against 158–169 µs appended. The zeros cost one bigger sync per chunk.
//!
//! Readers see the zero tail while the file is open, and after a crash: formats written
//! this way must read zeros as "nothing more here" (LevelDB logs do, see
//! `backend::leveldb_env`). Dropping the writer cuts the file back to what was written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The first zero fill; each next one doubles, up to [`MAX_FILL`]. A short deploy script
/// writing a few records pays a small fill; a long run pays a sync of zeros rarely.
const FIRST_FILL: u64 = 64 * 1024;
const MAX_FILL: u64 = 1024 * 1024;
/// Fills end on page boundaries, so no later write shares a page with unfilled space.
const PAGE: u64 = 4096;
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// A file written from a start offset onwards, front to back, over zeros written ahead.
pub struct PreallocatedFile {
    file: File,
    /// Where the next write goes: everything before it is the file's content.
    pos: u64,
    /// Everything from `pos` up to here is zeros this writer wrote.
    filled: u64,
    next_fill: u64,
}

impl PreallocatedFile {
    /// Opens `path` for writing at `start`: `create` makes a new empty file (truncating one
    /// that exists); otherwise the file must exist, and anything after `start` will be
    /// overwritten. Nothing on disk changes until the first write.
    pub fn open(path: &Path, start: u64, create: bool) -> io::Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create(create)
            .truncate(create)
            .open(path)?;
        Ok(PreallocatedFile {
            file,
            pos: start,
            filled: start,
            next_fill: FIRST_FILL,
        })
    }

    /// Zero-fills past `end`, from the first byte not yet filled (whatever stood there, a
    /// torn record or an earlier writer's zeros, is replaced).
    fn fill_to(&mut self, end: u64) -> io::Result<()> {
        let ahead = end.max(self.filled + self.next_fill).next_multiple_of(PAGE);
        match self.write_zeros(ahead) {
            // No room for a whole fill: the write itself may still fit.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                self.write_zeros(end.next_multiple_of(PAGE))
            }
            done => done,
        }?;
        self.next_fill = (self.next_fill * 2).min(MAX_FILL);
        Ok(())
    }

    fn write_zeros(&mut self, target: u64) -> io::Result<()> {
        while self.filled < target {
            // Bounded by ZEROS' length, so the cast cannot truncate.
            let n = (target - self.filled).min(ZEROS.len() as u64) as usize;
            self.file.write_all_at(&ZEROS[..n], self.filled)?;
            self.filled += n as u64;
        }
        Ok(())
    }
}

impl Write for PreallocatedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let end = self.pos + buf.len() as u64;
        if end > self.filled {
            self.fill_to(end)?;
        }
        self.file.write_all_at(buf, self.pos)?;
        self.pos = end;
        Ok(buf.len())
    }

    /// Reaches the disk: the data and, after a fill, the file's new size.
    fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Drop for PreallocatedFile {
    fn drop(&mut self) {
        // Cut the zeros this writer added, so a closed file holds only what was written. A
        // failure (or a crash before this) leaves zeros, which readers take as the end.
        if self.filled > self.pos && self.file.set_len(self.pos).is_ok() {
            let _ = self.file.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::test_dir;
    use std::fs;

    #[test]
    fn writes_land_in_order_over_zeros_and_drop_cuts_the_zeros() {
        let dir = test_dir("order");
        let path = dir.join("f");
        let mut file = PreallocatedFile::open(&path, 0, true).unwrap();
        file.write_all(b"hello ").unwrap();
        file.write_all(b"world").unwrap();
        file.flush().unwrap();
        let open_len = fs::metadata(&path).unwrap().len();
        assert_eq!(open_len, FIRST_FILL, "the first fill is written ahead");
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..11], b"hello world");
        assert!(bytes[11..].iter().all(|&b| b == 0));
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"hello world");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_larger_than_a_fill_and_many_fills_keep_every_byte() {
        let dir = test_dir("large");
        let path = dir.join("f");
        let mut file = PreallocatedFile::open(&path, 0, true).unwrap();
        let mut expected = Vec::new();
        for i in 0..40u32 {
            let chunk = vec![(i % 251 + 1) as u8; 70_000 + i as usize];
            file.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), expected);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopening_at_an_offset_replaces_what_follows_it_and_keeps_what_precedes() {
        let dir = test_dir("reopen");
        let path = dir.join("f");
        fs::write(&path, b"keep this|torn garbage").unwrap();
        let untouched = PreallocatedFile::open(&path, 10, false).unwrap();
        drop(untouched);
        assert_eq!(
            fs::read(&path).unwrap(),
            b"keep this|torn garbage",
            "no write, no change"
        );
        let mut file = PreallocatedFile::open(&path, 10, false).unwrap();
        file.write_all(b"new").unwrap();
        file.flush().unwrap();
        assert!(fs::read(&path).unwrap()[13..].iter().all(|&b| b == 0));
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"keep this|new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn opening_a_missing_file_without_create_fails() {
        let dir = test_dir("missing");
        let err = PreallocatedFile::open(&dir.join("absent"), 0, false)
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        fs::remove_dir_all(&dir).unwrap();
    }
}
