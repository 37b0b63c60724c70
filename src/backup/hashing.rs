//! Streaming SHA-256 of many files in parallel, with JSON files also parsed on the way.
//!
//! Memory stays bounded whatever the backup's size: each worker owns one read buffer and
//! holds a whole file only when it is JSON of at most [`JSON_IN_MEMORY_MAX`] bytes.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Progress, ProgressFn};
use crate::durable::FileStamp;
use crate::{Error, Result};

/// Read size per call; large enough that syscalls do not dominate.
const CHUNK: usize = 1 << 20;
/// JSON files up to this size are parsed from memory; larger ones while they stream through the hash.
const JSON_IN_MEMORY_MAX: u64 = 8 << 20;
/// Upper bound on hashing threads (disks rarely gain beyond it).
const MAX_WORKERS: usize = 8;

/// One file to read.
#[derive(Debug, Clone)]
pub struct HashJob {
    /// Absolute path.
    pub path: PathBuf,
    /// Also check that it parses as JSON.
    pub parse_json: bool,
}

/// What reading one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDigest {
    /// Read to the end.
    Read {
        /// Lower-case hex SHA-256.
        sha256: String,
        /// Bytes read.
        size: u64,
        /// The JSON parse error, when parsing was asked for and failed.
        json_error: Option<String>,
        /// The file's identity once read: a later check that it still matches proves the bytes are the ones hashed.
        stamp: FileStamp,
    },
    /// No such file.
    Missing,
    /// It exists but cannot be read; the reason.
    Unreadable(String),
}

/// Reads every job's file on up to [`MAX_WORKERS`] threads; results come back in job order.
pub fn hash_files(jobs: &[HashJob], phase: &'static str, progress: ProgressFn) -> Vec<FileDigest> {
    let sizes: Vec<u64> = jobs
        .iter()
        .map(|j| std::fs::symlink_metadata(&j.path).map_or(0, |m| m.len()))
        .collect();
    let tally = Tally::new(phase, jobs.len(), sizes.iter().sum());
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    par_map_in(jobs, &order, |job, buf| {
        let mut json = Vec::new();
        let digest = digest_file(job, buf, &mut json);
        if let FileDigest::Read { size, .. } = &digest {
            tally.add(*size, progress);
        } else {
            tally.add(0, progress);
        }
        digest
    })
}

/// Runs `f` over `items` on a few threads, each with its own [`CHUNK`]-sized buffer; results in item order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T, &mut [u8]) -> R + Sync) -> Vec<R> {
    let order: Vec<usize> = (0..items.len()).collect();
    par_map_in(items, &order, f)
}

/// [`par_map`], taking the items in `order` (largest first keeps the last worker from finishing alone on a big file).
fn par_map_in<T: Sync, R: Send>(
    items: &[T],
    order: &[usize],
    f: impl Fn(&T, &mut [u8]) -> R + Sync,
) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, MAX_WORKERS)
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let out = f(&items[i], &mut buf);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(out);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        // Every index in `order` was taken by exactly one worker, and scope joined them.
        .map(|r| r.expect("every item mapped"))
        .collect()
}

/// Progress counters shared by the workers of one phase.
pub struct Tally {
    phase: &'static str,
    files_total: u64,
    bytes_total: u64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
}

impl Tally {
    /// Counters for `files_total` files of `bytes_total` bytes.
    pub fn new(phase: &'static str, files_total: usize, bytes_total: u64) -> Self {
        Tally {
            phase,
            files_total: files_total as u64,
            bytes_total,
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
        }
    }

    /// Counts one more file of `size` bytes and reports.
    pub fn add(&self, size: u64, progress: ProgressFn) {
        let bytes_done = self.bytes_done.fetch_add(size, Ordering::Relaxed) + size;
        let files_done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        progress(&Progress {
            phase: self.phase,
            files_done,
            files_total: self.files_total,
            bytes_done,
            bytes_total: self.bytes_total.max(bytes_done),
        });
    }
}

/// Hashes one file (and parses it when asked), never following a symlink at its last step.
fn digest_file(job: &HashJob, buf: &mut [u8], json: &mut Vec<u8>) -> FileDigest {
    let file = match File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&job.path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return FileDigest::Missing,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return FileDigest::Unreadable("is a symbolic link; not followed".into())
        }
        Err(e) => return FileDigest::Unreadable(e.to_string()),
    };
    let small = file.metadata().is_ok_and(|m| m.len() <= JSON_IN_MEMORY_MAX);
    let result = match (job.parse_json, small) {
        (false, _) => stream_sha256(&file, buf, None).map(|(sha, size)| (sha, size, None)),
        (true, true) => {
            json.clear();
            stream_sha256(&file, buf, Some(json))
                .map(|(sha, size)| (sha, size, parse_error(serde_json::from_slice(json))))
        }
        (true, false) => hash_while_parsing(&file),
    };
    match result.and_then(|read| Ok((read, file.metadata()?))) {
        Ok(((sha256, size, json_error), meta)) => FileDigest::Read {
            sha256,
            size,
            json_error,
            stamp: FileStamp::of(&meta),
        },
        Err(e) => FileDigest::Unreadable(e.to_string()),
    }
}

/// A large JSON file hashed and parsed in one streaming read: memory stays at one buffer.
fn hash_while_parsing(file: &File) -> io::Result<(String, u64, Option<String>)> {
    let mut hashing = HashingReader {
        inner: file,
        hasher: Sha256::new(),
        size: 0,
    };
    let parsed = serde_json::from_reader(BufReader::with_capacity(CHUNK, &mut hashing));
    // A parse error stops early: the rest of the file still counts for the hash.
    io::copy(&mut hashing, &mut io::sink())?;
    Ok((
        hex(&hashing.hasher.finalize()),
        hashing.size,
        parse_error(parsed),
    ))
}

/// Hashes everything read through it.
struct HashingReader<'a> {
    inner: &'a File,
    hasher: Sha256,
    size: u64,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.hasher.update(&out[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// SHA-256 of everything `reader` yields, optionally keeping the bytes.
pub fn stream_sha256(
    mut reader: impl Read,
    buf: &mut [u8],
    mut keep: Option<&mut Vec<u8>>,
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if let Some(kept) = keep.as_deref_mut() {
            kept.extend_from_slice(&buf[..n]);
        }
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// Whether the files at `a` and `b` hold the same bytes, read side by side in halves of `buf`.
pub fn same_bytes(a: &Path, b: &Path, buf: &mut [u8]) -> Result<bool> {
    // Pieces that stay in the cache while compared: a 1 MiB buffer was ~10% slower.
    const PIECE: usize = 128 << 10;
    let (left, right) = buf.split_at_mut(buf.len() / 2);
    let piece = PIECE.min(left.len());
    let (Some(mut fa), Some(mut fb)) = (open_regular(a)?, open_regular(b)?) else {
        return Ok(false);
    };
    loop {
        let n = read_full(&mut fa, &mut left[..piece]).map_err(|e| Error::read_io(a, &e))?;
        let m = read_full(&mut fb, &mut right[..piece]).map_err(|e| Error::read_io(b, &e))?;
        if n != m || left[..n] != right[..m] {
            return Ok(false);
        }
        if n < piece {
            return Ok(true);
        }
    }
}

/// Opens a regular file for reading; `None` for anything else (a link is not followed, and a
/// FIFO cannot hang the open: non-blocking).
fn open_regular(path: &Path) -> Result<Option<File>> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    match file {
        Ok(file) if file.metadata().is_ok_and(|m| m.is_file()) => Ok(Some(file)),
        Ok(_) => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Ok(None),
        Err(e) => Err(Error::read_io(path, &e)),
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn parse_error(result: serde_json::Result<serde::de::IgnoredAny>) -> Option<String> {
    result.err().map(|e| format!("not valid JSON: {e}"))
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(bytes: &[u8], name: &str) -> FileDigest {
        let dir = std::env::temp_dir().join(format!("lcs-hash-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, bytes).unwrap();
        let job = HashJob {
            path,
            parse_json: true,
        };
        let digest = digest_file(&job, &mut vec![0u8; CHUNK], &mut Vec::new());
        std::fs::remove_dir_all(&dir).unwrap();
        digest
    }

    #[test]
    fn a_large_json_file_is_hashed_whole_and_parsed_in_the_same_read() {
        let big = format!("[{}]", vec!["\"0123456789abcdef\""; 600_000].join(","));
        assert!(big.len() as u64 > JSON_IN_MEMORY_MAX);
        let expected = hex(&Sha256::digest(big.as_bytes()));
        let good = digest_of(big.as_bytes(), "good");
        let FileDigest::Read {
            sha256,
            size,
            json_error,
            ..
        } = good
        else {
            panic!("the good file is readable")
        };
        assert_eq!(
            (sha256, size, json_error),
            (expected, big.len() as u64, None)
        );
        let mut broken = big.into_bytes();
        broken[1] = b'}';
        let FileDigest::Read {
            sha256,
            size,
            json_error,
            ..
        } = digest_of(&broken, "broken")
        else {
            panic!("the broken file is readable")
        };
        assert_eq!(
            sha256,
            hex(&Sha256::digest(&broken)),
            "an early parse error still hashes every byte"
        );
        assert_eq!(size, broken.len() as u64);
        assert!(json_error.unwrap().contains("not valid JSON"));
    }

    #[test]
    fn same_bytes_tells_equal_files_from_a_change_anywhere_and_refuses_what_is_not_a_file() {
        let dir = std::env::temp_dir().join(format!("lcs-same-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Longer than two pieces, not a multiple of one: the last partial piece is compared too.
        let bytes: Vec<u8> = (0..300_001u32).map(|i| (i * 7 % 251) as u8).collect();
        let write = |name: &str, b: &[u8]| {
            std::fs::write(dir.join(name), b).unwrap();
            dir.join(name)
        };
        let a = write("a", &bytes);
        let same = |b: &Path| same_bytes(&a, b, &mut vec![0u8; CHUNK]).unwrap();
        assert!(same(&write("copy", &bytes)));
        for at in [0, 131_072, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            assert!(!same(&write("changed", &changed)), "a change at {at}");
        }
        assert!(!same(&write("shorter", &bytes[..bytes.len() - 1])));
        assert!(!same(&write("longer", &[&bytes[..], b"x"].concat())));
        let fifo = dir.join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        assert!(!same(&fifo), "a FIFO is not read (nor waited on)");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
