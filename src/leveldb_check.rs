//! A block-by-block checker of LevelDB's on-disk files, for deep backup verification.
//!
//! rusty-leveldb's table iterator silently skips a data block whose checksum fails
//! (`TableIterator::advance`), so reading every record back cannot prove a copy intact.
//! This module re-checks every checksum itself and reports each damaged spot with its
//! file offset, going on after a bad block instead of stopping at the first. Files are
//! read a block at a time through reused buffers, so memory does not grow with file size.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use std::collections::HashSet;
use std::sync::Mutex;

use once_cell::sync::Lazy;

use crate::durable::FileStamp;
use crate::{Error, ErrorCode, Result};

/// Tables whose every block passed, by identity. A table never changes once written, so one
/// check per file and process is enough for scans, whichever store or copy (hard links share
/// the identity) reads it; [`check_file`] itself always reads.
static SOUND_TABLES: Lazy<Mutex<HashSet<FileStamp>>> = Lazy::new(Mutex::default);

/// Added to the rotated crc: LevelDB masks stored crcs so a crc of data that holds crcs stays strong.
const CRC_MASK_DELTA: u32 = 0xa282_ead8;
/// The last eight bytes of every table, little-endian.
const TABLE_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// Metaindex and index handles padded to 40 bytes, then the magic.
const FOOTER_LEN: u64 = 48;
/// The part of the footer that holds the two block handles and their zero padding.
const FOOTER_HANDLES_LEN: usize = 40;
/// Compression type byte plus masked crc32c, after every table block.
const BLOCK_TRAILER_LEN: u64 = 5;
/// Table block compression types rusty-leveldb can read (upstream's Zstd = 2 it cannot).
const NO_COMPRESSION: u8 = 0;
const SNAPPY: u8 = 1;
/// Table blocks are checksummed in slices of this size, so a garbled handle naming a
/// huge block costs no more memory than a genuine one.
const CRC_CHUNK_LEN: usize = 64 * 1024;
/// Log files (write-ahead logs and manifests) are written in blocks of this size.
const LOG_BLOCK_LEN: usize = 32 * 1024;
/// crc32c (4 bytes), payload length (u16), record type (u8).
const LOG_HEADER_LEN: usize = 7;
/// Log record types; zero with length zero marks preallocated, never-written space.
const ZERO_TYPE: u8 = 0;
const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;
/// CURRENT holds one short line; a garbage CURRENT must not make us read a big file.
const CURRENT_MAX_LEN: u64 = 256;

/// One unreadable spot in a LevelDB file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockProblem {
    /// The damaged file.
    pub file: PathBuf,
    /// Byte offset in `file` of the block, record or footer that fails.
    pub offset: u64,
    /// What is wrong, for a person.
    pub reason: String,
}

impl BlockProblem {
    fn new(file: &Path, offset: u64, reason: impl Into<String>) -> Self {
        BlockProblem {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for BlockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

/// Checks every file of a LevelDB directory that holds data (`*.ldb`/`*.sst` tables, `*.log`, `MANIFEST-*`) and that `CURRENT` names an existing manifest; ignores `LOCK`, `LOG`, `LOG.old`. Corruption comes back as problems; `Err` only when the directory or a file cannot be listed or opened.
pub fn check_dir(dir: &Path) -> Result<Vec<BlockProblem>> {
    let files = data_files(dir)?;
    let mut problems = check_current(dir)?;
    for path in files {
        problems.extend(check_file(&path)?);
    }
    Ok(problems)
}

/// Checks one file by its name's kind (table, log, manifest); other names give no problems.
pub fn check_file(path: &Path) -> Result<Vec<BlockProblem>> {
    match file_kind(path) {
        Some(FileKind::Table) => check_table(path),
        Some(FileKind::Log(kind)) => check_log(path, kind),
        None => Ok(Vec::new()),
    }
}

/// What a LevelDB file holds, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Table,
    Log(LogKind),
}

/// The two users of the log format differ only in how a cut-off last record is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogKind {
    /// A write-ahead log: a cut-off last record is what a crash leaves, and LevelDB recovers.
    WriteAhead,
    /// A manifest: a cut-off record loses the description of the table files.
    Manifest,
}

/// Whether a file name is a LevelDB table (`.ldb`, or `.sst` from older writers): the files LevelDB never rewrites.
pub fn is_table_name(name: &str) -> bool {
    name.ends_with(".ldb") || name.ends_with(".sst")
}

/// Whether a file name is a write-ahead log as LevelDB names them: `<number>.log`.
pub fn is_log_name(name: &str) -> bool {
    name.strip_suffix(".log")
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

fn file_kind(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    if is_table_name(name) {
        Some(FileKind::Table)
    } else if name.ends_with(".log") {
        Some(FileKind::Log(LogKind::WriteAhead))
    } else if name.starts_with("MANIFEST-") {
        Some(FileKind::Log(LogKind::Manifest))
    } else {
        None
    }
}

/// The regular files of `dir`, sorted by name so reports come in a stable order.
fn data_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::read_io(dir, &e))? {
        let path = entry.map_err(|e| Error::read_io(dir, &e))?.path();
        if path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Opens a file and reads its length: the only failures that are errors, not problems.
fn open(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).map_err(|e| Error::read_io(path, &e))?;
    let len = file.metadata().map_err(|e| Error::read_io(path, &e))?.len();
    Ok((file, len))
}

/// The masked form in which LevelDB stores a crc32c.
fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(CRC_MASK_DELTA)
}

/// The checksum a log record stores: the masked crc32c of its type byte, then its payload.
fn log_record_crc(kind: u8, payload: &[u8]) -> u32 {
    mask(crc32c::crc32c_append(crc32c::crc32c(&[kind]), payload))
}

/// Where a writer may continue the write-ahead log at `path`: where rusty-leveldb's recovery
/// stops reading it, after the last whole record before the first thing it cannot read (a
/// torn record, a bad checksum, zeros written ahead), or the file's end. Records written
/// after an unreadable spot would never be read back, so the log is continued over it.
/// Errors: ErrorCode::Corrupt when a whole record follows that spot (Google LevelDB would
/// still recover it): continuing there would overwrite it.
pub fn log_recovery_end(path: &Path) -> Result<u64> {
    let log = fs::read(path).map_err(|e| Error::read_io(path, &e))?;
    let mut pos = 0;
    let mut end = 0;
    while let Some((kind, len)) = readable_record(&log, skip_block_padding(pos)) {
        pos = skip_block_padding(pos) + LOG_HEADER_LEN + len;
        if kind == FULL || kind == LAST {
            end = pos;
        }
    }
    match whole_record_from(&log, end) {
        None => Ok(end as u64),
        Some(at) => Err(Error::new(
            ErrorCode::Corrupt,
            format!(
                "write-ahead log {} is unreadable at offset {end}, yet a whole record follows at \
                 offset {at}: writing on would overwrite it; nothing was changed; restore the \
                 database from a verified backup (lookcoin-state rollback --dry-run shows how)",
                path.display()
            ),
        )
        .with_path(path)),
    }
}

/// Where the record after `pos` starts: a block's last bytes are padding when no header fits.
fn skip_block_padding(pos: usize) -> usize {
    let left_in_block = LOG_BLOCK_LEN - pos % LOG_BLOCK_LEN;
    if left_in_block < LOG_HEADER_LEN {
        pos + left_in_block
    } else {
        pos
    }
}

/// The type and payload length of the record at `pos` if it is whole and its checksum holds.
fn readable_record(log: &[u8], pos: usize) -> Option<(u8, usize)> {
    let (&[c0, c1, c2, c3, l0, l1, kind], body) =
        log.get(pos..)?.split_first_chunk::<LOG_HEADER_LEN>()?;
    let payload = body.get(..usize::from(u16::from_le_bytes([l0, l1])))?;
    let computed = log_record_crc(kind, payload);
    (u32::from_le_bytes([c0, c1, c2, c3]) == computed).then_some((kind, payload.len()))
}

/// The offset of the first record from `start` on that Google LevelDB's reader would
/// return whole: it drops the rest of a block after a bad record and goes on with the next.
fn whole_record_from(log: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    let mut first = None;
    while pos < log.len() {
        pos = skip_block_padding(pos);
        let block_end = (pos / LOG_BLOCK_LEN + 1) * LOG_BLOCK_LEN;
        match readable_record(&log[..block_end.min(log.len())], pos) {
            Some((FULL, _)) => return Some(pos),
            Some((LAST, _)) if first.is_some() => return first,
            Some((kind, len)) => {
                first = match kind {
                    FIRST => Some(pos),
                    MIDDLE => first,
                    _ => None,
                };
                pos += LOG_HEADER_LEN + len;
            }
            None => {
                first = None;
                pos = block_end;
            }
        }
    }
    None
}

/// Checks that `CURRENT` is one line naming an existing `MANIFEST-<number>` (a missing CURRENT is a problem too); `Err` only when it cannot be opened.
pub fn check_current(dir: &Path) -> Result<Vec<BlockProblem>> {
    let path = dir.join("CURRENT");
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let reason = "CURRENT is missing, so LevelDB cannot open this directory";
            return Ok(vec![BlockProblem::new(&path, 0, reason)]);
        }
        Err(e) => return Err(Error::read_io(&path, &e)),
    };
    let mut text = Vec::new();
    let reason = match file.take(CURRENT_MAX_LEN).read_to_end(&mut text) {
        Ok(_) => current_problem(dir, &text),
        Err(e) => Some(format!("CURRENT: read failed: {e}")),
    };
    Ok(reason
        .map(|reason| BlockProblem::new(&path, 0, reason))
        .into_iter()
        .collect())
}

/// Why CURRENT's text is not one line naming an existing manifest, if it is not.
fn current_problem(dir: &Path, text: &[u8]) -> Option<String> {
    let name = text
        .strip_suffix(b"\n")
        .and_then(|line| std::str::from_utf8(line).ok())
        .filter(|line| is_manifest_name(line));
    match name {
        None => Some(format!(
            "CURRENT should be one line naming a MANIFEST-<number> file, but holds {:?}",
            String::from_utf8_lossy(text)
        )),
        Some(name) if !dir.join(name).is_file() => Some(format!(
            "CURRENT names {name}, which does not exist in the directory"
        )),
        Some(_) => None,
    }
}

/// `MANIFEST-` and digits only, which also keeps a garbled CURRENT from naming a path elsewhere.
fn is_manifest_name(name: &str) -> bool {
    name.strip_prefix("MANIFEST-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

// ---- tables ----

/// Where a table block lives; its 5-byte trailer follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handle {
    offset: u64,
    size: u64,
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {} (size {})", self.offset, self.size)
    }
}

/// The two handles a table's footer holds.
#[derive(Debug, Clone, Copy)]
struct Footer {
    metaindex: Handle,
    index: Handle,
}

/// A table file being checked, with the buffers reused from block to block.
struct Table<'a> {
    path: &'a Path,
    file: File,
    len: u64,
    chunk: Vec<u8>,
    raw: Vec<u8>,
    plain: Vec<u8>,
}

/// Like [`check_file`] for a table, but skipped when this very file (same [`FileStamp`]) was found sound before in this process.
pub fn check_table_once(path: &Path) -> Result<Vec<BlockProblem>> {
    let stamp = FileStamp::read(path)?;
    if sound_tables().contains(&stamp) {
        return Ok(Vec::new());
    }
    check_table(path)
}

fn sound_tables() -> std::sync::MutexGuard<'static, HashSet<FileStamp>> {
    SOUND_TABLES.lock().unwrap_or_else(|p| p.into_inner())
}

fn check_table(path: &Path) -> Result<Vec<BlockProblem>> {
    // Stamped before reading: a change during the check gives a new stamp, checked again later.
    let stamp = FileStamp::read(path)?;
    let problems = check_table_blocks(path)?;
    if problems.is_empty() {
        sound_tables().insert(stamp);
    }
    Ok(problems)
}

fn check_table_blocks(path: &Path) -> Result<Vec<BlockProblem>> {
    let mut table = Table::open(path)?;
    let footer = match table.footer() {
        Ok(footer) => footer,
        Err(problem) => return Ok(vec![problem]),
    };
    let mut problems = Vec::new();
    // The metaindex points at meta blocks (the filter), the index at data blocks; both
    // hold block handles, and every block they name carries a checksummed trailer.
    let parents = [
        ("metaindex", footer.metaindex, "meta"),
        ("index", footer.index, "data"),
    ];
    for (parent, handle, child) in parents {
        match table.child_handles(parent, handle) {
            Ok(children) => problems.extend(
                children
                    .into_iter()
                    .filter_map(|h| table.check_block(child, h).err()),
            ),
            Err(problem) => problems.push(problem),
        }
    }
    Ok(problems)
}

/// A problem with the table block `h`, named `what` ("data", "index", ...).
fn block_problem(path: &Path, what: &str, h: Handle, reason: &str) -> BlockProblem {
    BlockProblem::new(path, h.offset, format!("{what} block {h}: {reason}"))
}

impl<'a> Table<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        let (file, len) = open(path)?;
        Ok(Table {
            path,
            file,
            len,
            chunk: vec![0; CRC_CHUNK_LEN],
            raw: Vec::new(),
            plain: Vec::new(),
        })
    }

    /// Blocks and their trailers must end before the footer.
    fn data_end(&self) -> u64 {
        self.len.saturating_sub(FOOTER_LEN)
    }

    fn footer(&self) -> Result<Footer, BlockProblem> {
        let problem = |offset, reason: String| BlockProblem::new(self.path, offset, reason);
        if self.len < FOOTER_LEN {
            let reason = format!(
                "table is {} bytes, shorter than its 48-byte footer",
                self.len
            );
            return Err(problem(0, reason));
        }
        let at = self.data_end();
        let mut buf = [0; FOOTER_LEN as usize];
        self.file
            .read_exact_at(&mut buf, at)
            .map_err(|e| problem(at, format!("footer: read failed: {e}")))?;
        let (handles, magic) = buf.split_at(FOOTER_HANDLES_LEN);
        let mut magic_bytes = [0; 8];
        magic_bytes.copy_from_slice(magic);
        let magic = u64::from_le_bytes(magic_bytes);
        if magic != TABLE_MAGIC {
            let reason = format!(
                "footer magic is {magic:#018x}, not {TABLE_MAGIC:#018x}: the table is truncated or not a table"
            );
            return Err(problem(self.len - 8, reason));
        }
        let mut cursor = Cursor::new(handles);
        let (Some(metaindex), Some(index)) = (
            cursor.handle(self.data_end()),
            cursor.handle(self.data_end()),
        ) else {
            let reason =
                "footer: the metaindex and index handles are garbled or point past the table data";
            return Err(problem(at, reason.to_string()));
        };
        if cursor.rest().iter().any(|&b| b != 0) {
            return Err(problem(
                at,
                "footer: padding after the handles is not zero".to_string(),
            ));
        }
        Ok(Footer { metaindex, index })
    }

    /// Checks the block's checksum by streaming it through the chunk buffer; returns its compression type.
    fn verify(&mut self, what: &str, h: Handle) -> Result<u8, BlockProblem> {
        let mut trailer = [0; BLOCK_TRAILER_LEN as usize];
        let read = crc_of_range(&self.file, &mut self.chunk, h).and_then(|crc| {
            self.file.read_exact_at(&mut trailer, h.offset + h.size)?;
            Ok(crc)
        });
        let crc =
            read.map_err(|e| block_problem(self.path, what, h, &format!("read failed: {e}")))?;
        let [kind, c0, c1, c2, c3] = trailer;
        let stored = u32::from_le_bytes([c0, c1, c2, c3]);
        let computed = mask(crc32c::crc32c_append(crc, &[kind]));
        if stored != computed {
            let reason =
                format!("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})");
            return Err(block_problem(self.path, what, h, &reason));
        }
        if kind != NO_COMPRESSION && kind != SNAPPY {
            let reason =
                format!("compression type {kind} is not readable (only 0 none and 1 snappy)");
            return Err(block_problem(self.path, what, h, &reason));
        }
        Ok(kind)
    }

    /// Reads a block whose checksum passed (so its size is genuine) and decompresses it.
    fn load(&mut self, what: &str, h: Handle, kind: u8) -> Result<&[u8], BlockProblem> {
        let path = self.path;
        let bad = |reason: String| block_problem(path, what, h, &reason);
        let size = usize::try_from(h.size).map_err(|_| bad("too large for memory".into()))?;
        self.raw.resize(size, 0);
        self.file
            .read_exact_at(&mut self.raw, h.offset)
            .map_err(|e| bad(format!("read failed: {e}")))?;
        if kind != SNAPPY {
            return Ok(&self.raw);
        }
        let len = snap::raw::decompress_len(&self.raw).map_err(|e| bad(format!("snappy: {e}")))?;
        self.plain.resize(len, 0);
        let len = snap::raw::Decoder::new()
            .decompress(&self.raw, &mut self.plain)
            .map_err(|e| bad(format!("snappy: {e}")))?;
        Ok(&self.plain[..len])
    }

    /// The block handles an index or metaindex block holds, after checking the block.
    fn child_handles(&mut self, what: &str, h: Handle) -> Result<Vec<Handle>, BlockProblem> {
        let kind = self.verify(what, h)?;
        let (path, data_end) = (self.path, self.data_end());
        let block = self.load(what, h, kind)?;
        parse_handles(block, data_end).map_err(|reason| block_problem(path, what, h, &reason))
    }

    /// A data or meta block needs only its checksum; a compressed one must also decompress.
    fn check_block(&mut self, what: &str, h: Handle) -> Result<(), BlockProblem> {
        if self.verify(what, h)? == SNAPPY {
            self.load(what, h, SNAPPY)?;
        }
        Ok(())
    }
}

/// crc32c of the block `h` (without its trailer), read through `chunk`.
fn crc_of_range(file: &File, chunk: &mut [u8], h: Handle) -> io::Result<u32> {
    let mut crc = 0;
    let mut done = 0;
    while done < h.size {
        // Bounded by the chunk length, so the cast cannot truncate.
        let n = (h.size - done).min(chunk.len() as u64) as usize;
        file.read_exact_at(&mut chunk[..n], h.offset + done)?;
        crc = crc32c::crc32c_append(crc, &chunk[..n]);
        done += n as u64;
    }
    Ok(crc)
}

/// Every entry value of a block, decoded as a block handle inside the table data.
fn parse_handles(block: &[u8], data_end: u64) -> std::result::Result<Vec<Handle>, String> {
    block_values(block)?
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            Cursor::new(value)
                .handle(data_end)
                .ok_or_else(|| format!("entry {i} is not a block handle inside the table data"))
        })
        .collect()
}

/// The values of a block's entries, after checking the restart array and each entry's framing.
fn block_values(block: &[u8]) -> std::result::Result<Vec<&[u8]>, String> {
    let (body, count) = block
        .split_last_chunk::<4>()
        .ok_or("block is shorter than its restart count")?;
    let restarts = u32::from_le_bytes(*count);
    let entries_len = (restarts as usize)
        .checked_mul(4)
        .and_then(|len| body.len().checked_sub(len))
        .ok_or_else(|| format!("{restarts} restart points do not fit in the block"))?;
    let mut cursor = Cursor::new(&body[..entries_len]);
    let mut values = Vec::new();
    let mut key_len = 0;
    while !cursor.rest().is_empty() {
        let at = cursor.pos;
        let value = cursor
            .entry(&mut key_len)
            .ok_or_else(|| format!("entry at byte {at} of the block is garbled"))?;
        values.push(value);
    }
    Ok(values)
}

/// Reads LevelDB's varints and slices from a buffer, failing instead of panicking at its end.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    fn varint(&mut self, max_len: usize) -> Option<u64> {
        let mut value = 0;
        for (i, &byte) in self.rest().iter().take(max_len).enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.pos += i + 1;
                return Some(value);
            }
        }
        None
    }

    fn varint32(&mut self) -> Option<usize> {
        let value = u32::try_from(self.varint(5)?).ok()?;
        usize::try_from(value).ok()
    }

    fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let slice = self.rest().get(..len)?;
        self.pos += len;
        Some(slice)
    }

    /// A handle whose block and trailer end by `data_end`: a garbled one is refused here.
    fn handle(&mut self, data_end: u64) -> Option<Handle> {
        let h = Handle {
            offset: self.varint(10)?,
            size: self.varint(10)?,
        };
        let end = h
            .offset
            .checked_add(h.size)?
            .checked_add(BLOCK_TRAILER_LEN)?;
        (end <= data_end).then_some(h)
    }

    /// One block entry (shared, unshared, value length, key delta, value); returns the value.
    fn entry(&mut self, key_len: &mut usize) -> Option<&'a [u8]> {
        let shared = self.varint32()?;
        let unshared = self.varint32()?;
        let value_len = self.varint32()?;
        if shared > *key_len {
            return None;
        }
        self.bytes(unshared)?;
        *key_len = shared + unshared;
        self.bytes(value_len)
    }
}

// ---- logs and manifests ----

/// Where the checker stands in a sequence of FIRST/MIDDLE/LAST fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fragments {
    /// Between records.
    Idle,
    /// Inside a record whose FIRST fragment starts at this offset.
    Open(u64),
    /// After damage: MIDDLE and LAST fragments of a record whose start was lost are
    /// skipped quietly, as LevelDB does, so one bad spot gives one problem.
    Resync,
}

/// A log file being checked.
struct LogCheck<'a> {
    path: &'a Path,
    kind: LogKind,
    fragments: Fragments,
    problems: Vec<BlockProblem>,
}

fn check_log(path: &Path, kind: LogKind) -> Result<Vec<BlockProblem>> {
    let (file, len) = open(path)?;
    let mut check = LogCheck {
        path,
        kind,
        fragments: Fragments::Idle,
        problems: Vec::new(),
    };
    let mut block = vec![0; LOG_BLOCK_LEN];
    for start in (0..len).step_by(LOG_BLOCK_LEN) {
        // Bounded by the block length, so the cast cannot truncate.
        let n = (len - start).min(LOG_BLOCK_LEN as u64) as usize;
        match file.read_exact_at(&mut block[..n], start) {
            Ok(()) => check.block(start, &block[..n]),
            Err(e) => check.damaged(
                start,
                format!("log block at offset {start}: read failed: {e}"),
            ),
        }
    }
    if let Fragments::Open(start) = check.fragments {
        check.cut_off(start, "its LAST fragment is missing");
    }
    Ok(check.problems)
}

impl LogCheck<'_> {
    fn damaged(&mut self, offset: u64, reason: String) {
        self.problems
            .push(BlockProblem::new(self.path, offset, reason));
        self.fragments = Fragments::Resync;
    }

    /// A record cut off by the end of the file.
    fn cut_off(&mut self, offset: u64, how: &str) {
        // A crash mid-append leaves exactly this in a write-ahead log, and LevelDB
        // recovers by dropping the record, which was never acknowledged as durable.
        if self.kind == LogKind::Manifest {
            let reason = format!("MANIFEST record at offset {offset} is cut off: {how}");
            self.damaged(offset, reason);
        }
    }

    fn block(&mut self, start: u64, block: &[u8]) {
        // Only the file's final block can be short; anything cut off there is a torn append.
        let last = block.len() < LOG_BLOCK_LEN;
        let mut pos = 0;
        while block.len() - pos >= LOG_HEADER_LEN {
            match self.record(start + pos as u64, &block[pos..], last) {
                Some(used) => pos += used,
                None => return,
            }
        }
        let tail = &block[pos..];
        let offset = start + pos as u64;
        if last && !tail.is_empty() {
            self.cut_off(offset, "the file ends inside its header");
        } else if tail.iter().any(|&b| b != 0) {
            let reason = format!("log block padding at offset {offset} is not zero");
            self.damaged(offset, reason);
        }
    }

    /// Checks the record at the start of `rest`; returns its length, or `None` when the
    /// rest of the block must be skipped.
    fn record(&mut self, offset: u64, rest: &[u8], last: bool) -> Option<usize> {
        let (&[c0, c1, c2, c3, l0, l1, kind], body) = rest.split_first_chunk::<LOG_HEADER_LEN>()?;
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        let Some(payload) = body.get(..len) else {
            if last {
                self.cut_off(offset, "the file ends inside its payload");
            } else {
                let reason = format!(
                    "log record at offset {offset}: length {len} runs past the end of its 32 KiB block"
                );
                self.damaged(offset, reason);
            }
            return None;
        };
        if kind == ZERO_TYPE && len == 0 {
            // Preallocated, never-written space: LevelDB skips the rest of the block.
            return None;
        }
        let stored = u32::from_le_bytes([c0, c1, c2, c3]);
        let computed = log_record_crc(kind, payload);
        if stored != computed {
            let reason = format!(
                "log record at offset {offset} (type {kind}, length {len}): checksum mismatch (stored {stored:#010x}, computed {computed:#010x}); LevelDB drops the rest of this 32 KiB block"
            );
            self.damaged(offset, reason);
            return None;
        }
        self.fragment(offset, kind);
        Some(LOG_HEADER_LEN + len)
    }

    /// Follows the FIRST/MIDDLE/LAST sequence of a record with a good checksum.
    fn fragment(&mut self, offset: u64, kind: u8) {
        if let (FULL | FIRST, Fragments::Open(start)) = (kind, self.fragments) {
            let reason = format!("log record starting at offset {start} has no LAST fragment");
            self.problems
                .push(BlockProblem::new(self.path, start, reason));
        }
        self.fragments = match (kind, self.fragments) {
            (MIDDLE | LAST, Fragments::Idle) => {
                let reason =
                    format!("log record at offset {offset}: type {kind} fragment without a FIRST");
                return self.damaged(offset, reason);
            }
            (FULL | LAST, _) => Fragments::Idle,
            (FIRST, _) => Fragments::Open(offset),
            (MIDDLE, state) => state,
            _ => {
                let reason = format!("log record at offset {offset}: unknown record type {kind}");
                return self.damaged(offset, reason);
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusty_leveldb::{compressor::SnappyCompressor, CompressorId, Options, DB};
    use std::sync::atomic::{AtomicU64, Ordering};

    const BACKUP_DB: &str =
        "lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current";
    const LIVE_DB: &str = "lookcoin-leveldb-live";

    /// The read-only fixture tree, or `None` (after a loud skip line) when it is absent.
    fn fixtures() -> Option<PathBuf> {
        let dir = std::env::var_os("LOOKCOIN_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
        if dir.join(LIVE_DB).is_dir() {
            return Some(dir);
        }
        eprintln!(
            "SKIPPED: fixtures not found at {} (set LOOKCOIN_FIXTURES); leveldb_check fixture tests did not run",
            dir.display()
        );
        None
    }

    macro_rules! fixtures_or_skip {
        () => {
            match fixtures() {
                Some(dir) => dir,
                None => return,
            }
        };
    }

    /// A writable temp directory, removed on drop so a failing test cleans up too.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "lcs-leveldb-check-{tag}-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        /// A copy of a fixture directory (the fixtures are read-only; copies are writable).
        fn copy_of(from: &Path, tag: &str) -> TempDir {
            let copy = TempDir::new(tag);
            for entry in fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                fs::write(
                    copy.0.join(entry.file_name()),
                    fs::read(entry.path()).unwrap(),
                )
                .unwrap();
            }
            copy
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn flip(path: &Path, offset: u64) {
        let mut bytes = fs::read(path).unwrap();
        bytes[offset as usize] ^= 0x40;
        fs::write(path, bytes).unwrap();
    }

    fn tables(dir: &Path) -> Vec<PathBuf> {
        let files = data_files(dir).unwrap().into_iter();
        files
            .filter(|p| file_kind(p) == Some(FileKind::Table))
            .collect()
    }

    fn data_blocks(table: &Path) -> Vec<Handle> {
        let mut table = Table::open(table).unwrap();
        let footer = table.footer().unwrap();
        table.child_handles("index", footer.index).unwrap()
    }

    /// The header offsets of a log file's records, for files of one 32 KiB block.
    fn record_offsets(log: &[u8]) -> Vec<u64> {
        let mut offsets = Vec::new();
        let mut pos = 0;
        while pos + LOG_HEADER_LEN <= log.len() {
            offsets.push(pos as u64);
            pos += LOG_HEADER_LEN + usize::from(u16::from_le_bytes([log[pos + 4], log[pos + 5]]));
        }
        offsets
    }

    #[test]
    fn fixture_databases_check_clean_and_every_table_has_data_blocks() {
        let fixtures = fixtures_or_skip!();
        for db in [BACKUP_DB, LIVE_DB] {
            let dir = fixtures.join(db);
            assert_eq!(check_dir(&dir).unwrap(), vec![], "{db}");
            let tables = tables(&dir);
            assert!(tables.len() >= 6, "{db}: {tables:?}");
            for table in tables {
                assert!(!data_blocks(&table).is_empty(), "{}", table.display());
            }
        }
    }

    #[test]
    fn a_flipped_byte_in_any_data_block_is_one_problem_at_that_block() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "data-flip");
        let mut blocks = 0;
        for table in tables(&copy.0) {
            for h in data_blocks(&table) {
                let middle = h.offset + h.size / 2;
                flip(&table, middle);
                let problems = check_dir(&copy.0).unwrap();
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert_eq!((&problems[0].file, problems[0].offset), (&table, h.offset));
                let expected = format!(
                    "data block at offset {} (size {}): checksum mismatch (stored 0x",
                    h.offset, h.size
                );
                assert!(problems[0].reason.starts_with(&expected), "{}", problems[0]);
                flip(&table, middle);
                blocks += 1;
            }
        }
        assert!(blocks >= 6);
        assert_eq!(check_dir(&copy.0).unwrap(), vec![]);
    }

    #[test]
    fn every_single_byte_flip_of_a_table_is_reported_without_panicking() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "every-byte");
        let table = copy.0.join("000188.ldb");
        for offset in 0..fs::metadata(&table).unwrap().len() {
            flip(&table, offset);
            assert!(!check_file(&table).unwrap().is_empty(), "flip at {offset}");
            flip(&table, offset);
        }
        assert_eq!(check_file(&table).unwrap(), vec![]);
    }

    #[test]
    fn a_flipped_footer_magic_byte_is_reported() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "magic");
        let table = copy.0.join("000092.ldb");
        let len = fs::metadata(&table).unwrap().len();
        flip(&table, len - 3);
        let problems = check_dir(&copy.0).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((&problems[0].file, problems[0].offset), (&table, len - 8));
        assert!(
            problems[0].reason.contains("footer magic"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_truncated_table_is_reported() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "truncated-table");
        let table = copy.0.join("000084.ldb");
        let bytes = fs::read(&table).unwrap();
        for keep in [bytes.len() - 1, bytes.len() - 48, bytes.len() / 2, 47, 0] {
            fs::write(&table, &bytes[..keep]).unwrap();
            let problems = check_file(&table).unwrap();
            assert_eq!(problems.len(), 1, "kept {keep}: {problems:?}");
        }
    }

    #[test]
    fn garbled_footer_handles_are_a_problem_not_a_panic_or_huge_read() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "garbled-footer");
        let table = copy.0.join("000072.ldb");
        let mut bytes = fs::read(&table).unwrap();
        let footer = bytes.len() - 48;
        // Metaindex offset 0, size u64::MAX: inside the file only if lengths are unchecked.
        bytes[footer..footer + 11].copy_from_slice(&[
            0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
        fs::write(&table, &bytes).unwrap();
        let problems = check_file(&table).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].offset, footer as u64);
        assert!(problems[0].reason.contains("garbled"), "{}", problems[0]);
    }

    #[test]
    fn garbled_block_entries_are_refused() {
        // One entry: shared 0, key "k", value = handle (offset 5, size 2^40).
        let mut block = vec![0, 1, 7, b'k', 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        block.extend(0u32.to_le_bytes());
        block.extend(1u32.to_le_bytes());
        let err = parse_handles(&block, 1 << 20).unwrap_err();
        assert!(err.contains("entry 0 is not a block handle"), "{err}");
        assert_eq!(
            parse_handles(&block, 1 << 41).unwrap(),
            vec![Handle {
                offset: 5,
                size: 1 << 40
            }]
        );
        // A key sharing more bytes than the previous key had.
        block[0] = 1;
        assert!(parse_handles(&block, 1 << 41)
            .unwrap_err()
            .contains("entry at byte 0"));
        // More restart points than the block can hold.
        let restarts = block.len() - 4;
        block[restarts..].copy_from_slice(&1000u32.to_le_bytes());
        assert!(parse_handles(&block, 1 << 41)
            .unwrap_err()
            .contains("restart points"));
        assert!(parse_handles(&[1, 0], 1 << 41)
            .unwrap_err()
            .contains("restart count"));
    }

    #[test]
    fn a_corrupt_log_record_is_one_problem_at_its_offset() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "log-flip");
        let log = copy.0.join("000187.log");
        let offsets = record_offsets(&fs::read(&log).unwrap());
        assert_eq!(offsets.len(), 2);
        for record in offsets {
            let at = record + LOG_HEADER_LEN as u64 + 50;
            flip(&log, at);
            let problems = check_dir(&copy.0).unwrap();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!((&problems[0].file, problems[0].offset), (&log, record));
            let expected = format!("log record at offset {record} (type 1, length ");
            assert!(problems[0].reason.starts_with(&expected), "{}", problems[0]);
            assert!(
                problems[0].reason.contains("checksum mismatch"),
                "{}",
                problems[0]
            );
            flip(&log, at);
        }
    }

    #[test]
    fn a_cut_off_log_tail_is_no_problem_but_a_cut_off_manifest_is() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "log-tail");
        let (log, manifest) = (copy.0.join("000187.log"), copy.0.join("MANIFEST-000185"));
        let (log_bytes, manifest_bytes) = (fs::read(&log).unwrap(), fs::read(&manifest).unwrap());
        let last = record_offsets(&log_bytes)[1] as usize;
        for keep in [last + 3, last + LOG_HEADER_LEN + 100, log_bytes.len() - 1] {
            fs::write(&log, &log_bytes[..keep]).unwrap();
            assert_eq!(check_file(&log).unwrap(), vec![], "kept {keep}");
        }
        let last = *record_offsets(&manifest_bytes).last().unwrap() as usize;
        for keep in [last + 3, manifest_bytes.len() - 1] {
            fs::write(&manifest, &manifest_bytes[..keep]).unwrap();
            let problems = check_file(&manifest).unwrap();
            assert_eq!(problems.len(), 1, "kept {keep}: {problems:?}");
            assert_eq!(problems[0].offset, last as u64);
            assert!(problems[0].reason.contains("cut off"), "{}", problems[0]);
        }
    }

    #[test]
    fn log_recovery_stops_after_the_last_whole_record_before_anything_unreadable() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(LIVE_DB), "recovery-end");
        let log = copy.0.join("000187.log");
        let bytes = fs::read(&log).unwrap();
        let offsets = record_offsets(&bytes);
        assert_eq!(offsets.len(), 2, "{offsets:?}");
        let last = offsets[1] as usize;
        let end_with = |content: &[u8]| {
            fs::write(&log, content).unwrap();
            log_recovery_end(&log).unwrap()
        };
        let len = bytes.len() as u64;
        assert_eq!(end_with(&bytes), len, "a whole log is read to its end");
        let zeros = [bytes.clone(), vec![0; 70_000]].concat();
        assert_eq!(end_with(&zeros), len, "zeros written ahead are no record");
        for keep in [last + 3, last + LOG_HEADER_LEN + 1, bytes.len() - 1] {
            assert_eq!(
                end_with(&bytes[..keep]),
                last as u64,
                "torn after {keep} bytes"
            );
        }
        let mut flipped = bytes.clone();
        flipped[LOG_HEADER_LEN] ^= 0x40;
        assert_eq!(
            end_with(&flipped),
            0,
            "records after a bad one are never read back, so writing resumes at the bad one"
        );
        assert_eq!(end_with(&[]), 0);
        // Google LevelDB goes on at the next block: a whole record there must not be overwritten.
        let mut next_block = flipped.clone();
        next_block.resize(LOG_BLOCK_LEN, 0);
        next_block.extend_from_slice(&bytes[last..]);
        fs::write(&log, &next_block).unwrap();
        let err = log_recovery_end(&log).unwrap_err();
        assert_eq!(err.code, ErrorCode::Corrupt);
        assert!(err.message.contains("unreadable at offset 0"), "{err}");
        assert!(
            err.message
                .contains(&format!("follows at offset {LOG_BLOCK_LEN}")),
            "{err}"
        );
        // A torn record whose FIRST fragment survived is no whole record.
        let mut torn = bytes.clone();
        torn[last + 6] = FIRST;
        let crc = log_record_crc(FIRST, &bytes[last + LOG_HEADER_LEN..]);
        torn[last..last + 4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(end_with(&torn), last as u64);
    }

    #[test]
    fn current_must_name_an_existing_manifest() {
        let fixtures = fixtures_or_skip!();
        let copy = TempDir::copy_of(&fixtures.join(BACKUP_DB), "current");
        let current = copy.0.join("CURRENT");
        let cases = [
            (
                Some("MANIFEST-999999\n"),
                "CURRENT names MANIFEST-999999, which does not exist",
            ),
            (
                Some("MANIFEST-000198"),
                "one line naming a MANIFEST-<number> file",
            ),
            (
                Some("../MANIFEST-000198\n"),
                "one line naming a MANIFEST-<number> file",
            ),
            (None, "CURRENT is missing"),
        ];
        for (text, expected) in cases {
            match text {
                Some(text) => fs::write(&current, text).unwrap(),
                None => fs::remove_file(&current).unwrap(),
            }
            let problems = check_dir(&copy.0).unwrap();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!((&problems[0].file, problems[0].offset), (&current, 0));
            assert!(problems[0].reason.contains(expected), "{}", problems[0]);
        }
    }

    #[test]
    fn unreadable_paths_are_errors_and_other_names_are_ignored() {
        let missing = std::env::temp_dir().join("lcs-leveldb-check-no-such-dir");
        assert!(check_dir(&missing).is_err());
        assert!(check_file(&missing.join("000001.ldb")).is_err());
        assert_eq!(check_file(&missing.join("LOG")).unwrap(), vec![]);
        assert_eq!(check_file(&missing.join("LOG.old")).unwrap(), vec![]);
        assert_eq!(check_file(&missing.join("LOCK")).unwrap(), vec![]);
    }

    /// A database written by rusty-leveldb: many small snappy blocks in several tables,
    /// and a write-ahead log whose last record spans four 32 KiB blocks.
    fn write_database(dir: &Path) {
        let opts = Options {
            compressor: SnappyCompressor::ID,
            block_size: 256,
            write_buffer_size: 32 << 10,
            ..Options::default()
        };
        let mut db = DB::open(dir, opts).unwrap();
        for i in 0..2000 {
            let value = format!(
                "{{\"chainId\":{i},\"contractName\":\"LookCoin\",\"pad\":\"{}\"}}",
                "x".repeat(100)
            );
            db.put(format!("contract-{i:05}").as_bytes(), value.as_bytes())
                .unwrap();
        }
        // Incompressible, and larger than three log blocks.
        let big: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        db.put(b"big", &big).unwrap();
        db.close().unwrap();
    }

    #[test]
    fn a_database_written_by_rusty_leveldb_checks_clean_and_damage_spanning_blocks_is_one_problem()
    {
        let db = TempDir::new("generated");
        write_database(&db.0);
        assert_eq!(check_dir(&db.0).unwrap(), vec![]);
        let (mut data, mut snappy) = (0, 0);
        for path in tables(&db.0) {
            let handles = data_blocks(&path);
            let mut table = Table::open(&path).unwrap();
            snappy += handles
                .iter()
                .filter(|&&h| table.verify("data", h) == Ok(SNAPPY))
                .count();
            data += handles.len();
        }
        assert!(
            data > 100 && snappy > 0,
            "{data} data blocks, {snappy} snappy"
        );
        let log = data_files(&db.0)
            .unwrap()
            .into_iter()
            .find(|p| p.extension() == Some("log".as_ref()))
            .unwrap();
        let len = fs::metadata(&log).unwrap().len();
        assert!(len > 3 * LOG_BLOCK_LEN as u64, "{len}");
        // Inside a MIDDLE fragment: the record's later fragments must not add problems.
        let at = len - 40_000;
        flip(&log, at);
        let problems = check_file(&log).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].offset <= at && at - problems[0].offset < LOG_BLOCK_LEN as u64);
        flip(&log, at);
        // Cut at a block boundary, in a header, in a payload: fine for a log, not for a manifest.
        let bytes = fs::read(&log).unwrap();
        let manifest = db.0.join("MANIFEST-999999");
        for keep in [LOG_BLOCK_LEN, 2 * LOG_BLOCK_LEN + 3, bytes.len() - 1] {
            fs::write(&log, &bytes[..keep]).unwrap();
            assert_eq!(check_file(&log).unwrap(), vec![], "kept {keep}");
            fs::write(&manifest, &bytes[..keep]).unwrap();
            let problems = check_file(&manifest).unwrap();
            assert_eq!(problems.len(), 1, "kept {keep}: {problems:?}");
            assert!(problems[0].reason.contains("cut off"), "{}", problems[0]);
        }
        fs::write(&manifest, &bytes).unwrap();
        assert_eq!(check_file(&manifest).unwrap(), vec![]);
    }
}
