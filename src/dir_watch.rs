//! Knowing that nothing in a folder changed since a given moment, without a `stat` per read.
//!
//! A cached read must notice another process's atomic replace of the file it caches. A `stat`
//! per read does (size, mtime, inode), but its walk of the path is most of a cached read's
//! time. inotify queues an event for every change in a watched folder before the system call
//! that made the change returns, so draining the queue (one `read` that usually finds nothing)
//! tells just as surely that nothing changed. Used on local filesystems only: over a network
//! filesystem, a change made by another machine raises no event; and not in a child made by
//! `fork`, which shares its parent's queue.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use once_cell::sync::Lazy;

/// Anything that can change a file of the folder, or the folder itself.
const EVENTS: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;
/// The watched folder itself moved or went away: its path may now name another folder.
const SELF_GONE: u32 = libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_UNMOUNT;

/// `statfs` magic numbers of local filesystems, where every change raises an event.
const LOCAL_FILESYSTEMS: [i64; 7] = [
    0xEF53,      // ext2/3/4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0x794C_7630, // overlayfs
    0xF2F5_2010, // f2fs
    0x2FC1_2FC1, // zfs
];

/// One kernel watch as this process uses it.
struct Watch {
    /// Tells this watch from an earlier one the kernel gave the same descriptor.
    id: u64,
    /// [`DirWatch`]es sharing it (the kernel gives one descriptor per inode).
    users: usize,
    /// Events seen.
    changes: u64,
    /// The folder moved or went away.
    gone: bool,
}

/// The process's one inotify instance (their number per user is small) and its watches.
struct Inotify {
    fd: OwnedFd,
    watches: HashMap<i32, Watch>,
    next_id: u64,
}

/// Set in a child made by `fork`: it shares the parent's inotify queue, and an event one of
/// them reads is lost to the other. The child `stat`s and leaves the queue to the parent.
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn mark_forked() {
    FORKED.store(true, Ordering::Relaxed);
}

static INOTIFY: Lazy<Option<Mutex<Inotify>>> = Lazy::new(|| {
    // SAFETY: registers a handler that only stores to an atomic (async-signal-safe).
    if unsafe { libc::pthread_atfork(None, None, Some(mark_forked)) } != 0 {
        return None;
    }
    // SAFETY: plain system call; the descriptor it returns is owned from here on.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    // SAFETY: a fresh descriptor nobody else owns.
    (fd >= 0).then(|| {
        Mutex::new(Inotify {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            watches: HashMap::new(),
            next_id: 0,
        })
    })
});

/// Watches on a folder and on its parent (so a move of either is seen), while this lives.
pub struct DirWatch {
    /// (descriptor, watch id) per folder watched.
    watched: Vec<(i32, u64)>,
}

impl DirWatch {
    /// Watches `dir`; `None` when the filesystem is not local or inotify is unavailable.
    pub fn new(dir: &Path) -> Option<DirWatch> {
        let dir = dir.canonicalize().ok()?;
        if !is_local(&dir) {
            return None;
        }
        let mut inotify = lock()?;
        let mut watched = Vec::new();
        for folder in [Some(dir.as_path()), dir.parent()].into_iter().flatten() {
            match inotify.add(folder) {
                Some(watch) => watched.push(watch),
                None => {
                    // Released here, under the lock already held (a drop would take it again).
                    watched
                        .iter()
                        .for_each(|(wd, id)| inotify.release(*wd, *id));
                    return None;
                }
            }
        }
        Some(DirWatch { watched })
    }

    /// A count that grows whenever something in the folder may have changed; the same count
    /// twice means nothing changed in between. `None` once the folder moved or went away.
    pub fn changes(&self) -> Option<u64> {
        if FORKED.load(Ordering::Relaxed) {
            return None;
        }
        let mut inotify = lock()?;
        inotify.drain();
        self.watched.iter().try_fold(0u64, |sum, (wd, id)| {
            let watch = inotify.watches.get(wd).filter(|w| w.id == *id && !w.gone)?;
            Some(sum.wrapping_add(watch.changes))
        })
    }
}

impl Drop for DirWatch {
    fn drop(&mut self) {
        if let Some(mut inotify) = lock() {
            for (wd, id) in &self.watched {
                inotify.release(*wd, *id);
            }
        }
    }
}

impl Inotify {
    /// Adds (or shares) the watch on `dir`: (descriptor, watch id).
    fn add(&mut self, dir: &Path) -> Option<(i32, u64)> {
        let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: a valid NUL-terminated path and our own descriptor.
        let wd = unsafe {
            libc::inotify_add_watch(
                self.fd.as_raw_fd(),
                path.as_ptr(),
                EVENTS | libc::IN_ONLYDIR,
            )
        };
        if wd < 0 {
            return None;
        }
        let next_id = &mut self.next_id;
        let watch = self.watches.entry(wd).or_insert_with(|| {
            *next_id += 1;
            Watch {
                id: *next_id,
                users: 0,
                changes: 0,
                gone: false,
            }
        });
        watch.users += 1;
        Some((wd, watch.id))
    }

    /// One user less of a watch; the last one removes it from the kernel.
    fn release(&mut self, wd: i32, id: u64) {
        let Some(watch) = self.watches.get_mut(&wd).filter(|w| w.id == id) else {
            return;
        };
        watch.users -= 1;
        if watch.users == 0 {
            self.watches.remove(&wd);
            // SAFETY: our own descriptor; a watch the kernel already dropped just fails.
            unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
        }
    }

    /// Reads every queued event into the counts.
    fn drain(&mut self) {
        // Aligned for `inotify_event`; room for many events per read.
        let mut buf = [0u64; 512];
        loop {
            // SAFETY: reading into our own buffer of the stated size.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buf),
                )
            };
            if n <= 0 {
                // EAGAIN: the queue is empty. Any other error cannot be told from a change.
                if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock
                {
                    self.watches.values_mut().for_each(|w| w.gone = true);
                }
                return;
            }
            self.count(&bytes_of(&buf)[..n as usize]);
        }
    }

    /// Counts the events in `bytes`, as the kernel wrote them.
    fn count(&mut self, mut bytes: &[u8]) {
        let header = std::mem::size_of::<libc::inotify_event>();
        while bytes.len() >= header {
            // SAFETY: the kernel writes whole events; read unaligned, as names pad unevenly.
            let event: libc::inotify_event =
                unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
            if event.mask & libc::IN_Q_OVERFLOW != 0 {
                // Events were lost: anything may have changed.
                self.watches.values_mut().for_each(|w| w.changes += 1);
            } else if event.mask & libc::IN_IGNORED != 0 {
                // The kernel dropped the watch; its descriptor may come back for another folder.
                self.watches.remove(&event.wd);
            } else if let Some(watch) = self.watches.get_mut(&event.wd) {
                watch.changes += 1;
                watch.gone |= event.mask & SELF_GONE != 0;
            }
            bytes = &bytes[(header + event.len as usize).min(bytes.len())..];
        }
    }
}

fn bytes_of(buf: &[u64]) -> &[u8] {
    // SAFETY: any u64 array is also valid bytes, of eight times its length.
    unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), std::mem::size_of_val(buf)) }
}

fn lock() -> Option<std::sync::MutexGuard<'static, Inotify>> {
    INOTIFY
        .as_ref()
        .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Whether `dir` is on a filesystem where every change raises an event.
fn is_local(dir: &Path) -> bool {
    let Ok(path) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills the zeroed struct we own, from a valid path.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut fs) } != 0 {
        return false;
    }
    LOCAL_FILESYSTEMS.contains(&(fs.f_type as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn folder(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("lcs-watch-{}-{name}", std::process::id()))
            .join("unified");
        let _ = fs::remove_dir_all(dir.parent().unwrap());
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_count_moves_with_every_kind_of_change_and_only_then() {
        let dir = folder("count");
        let Some(watch) = DirWatch::new(&dir) else {
            panic!("the temp folder is on a local filesystem with inotify");
        };
        let mut last = watch.changes().unwrap();
        assert_eq!(watch.changes(), Some(last), "nothing happened");
        let file = dir.join("bsctestnet.unified.json");
        let steps: [(&str, &dyn Fn()); 5] = [
            ("create", &|| fs::write(&file, "{}").unwrap()),
            ("rewrite in place", &|| fs::write(&file, "{ }").unwrap()),
            ("atomic replace", &|| {
                fs::write(dir.join(".tmp"), "{\"a\":1}").unwrap();
                fs::rename(dir.join(".tmp"), &file).unwrap();
            }),
            ("chmod", &|| {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap()
            }),
            ("delete", &|| fs::remove_file(&file).unwrap()),
        ];
        for (what, change) in steps {
            change();
            let now = watch.changes().unwrap();
            assert_ne!(now, last, "{what} went unseen");
            assert_eq!(watch.changes(), Some(now), "{what}: counted once");
            last = now;
        }
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_folder_that_cannot_be_watched_gives_none_and_leaves_the_others_working() {
        let dir = folder("unwatchable");
        let watch = DirWatch::new(&dir).unwrap();
        assert!(DirWatch::new(&dir.join("missing")).is_none());
        // A relative path is watched as the folder it names.
        assert!(DirWatch::new(Path::new(".")).is_some());
        fs::write(dir.join("x"), "1").unwrap();
        let before = watch.changes().unwrap();
        fs::write(dir.join("x"), "2").unwrap();
        assert_ne!(watch.changes().unwrap(), before);
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_forked_child_does_not_trust_the_shared_queue_and_the_parent_still_does() {
        let dir = folder("fork");
        let watch = DirWatch::new(&dir).unwrap();
        let before = watch.changes().unwrap();
        // SAFETY: the child only calls `changes` (an atomic load, then no lock) and `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let trusted = watch.changes().is_some();
            // SAFETY: ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(i32::from(trusted)) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(libc::WEXITSTATUS(status), 0, "the child gave up the watch");
        fs::write(dir.join("x"), "1").unwrap();
        assert_ne!(watch.changes(), Some(before));
        assert!(watch.changes().is_some());
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_moved_folder_or_parent_ends_what_the_watch_can_vouch_for() {
        for moved in ["folder", "parent"] {
            let dir = folder(&format!("moved-{moved}"));
            let watch = DirWatch::new(&dir).unwrap();
            let other = DirWatch::new(&dir).unwrap();
            drop(other);
            assert!(
                watch.changes().is_some(),
                "a second watch's end leaves the first"
            );
            let top = dir.parent().unwrap();
            let (from, to) = match moved {
                "folder" => (dir.clone(), top.join("unified.old")),
                _ => (top.to_path_buf(), top.with_extension("old")),
            };
            fs::rename(&from, &to).unwrap();
            assert_eq!(watch.changes(), None, "{moved} moved");
            fs::rename(&to, &from).unwrap();
            assert_eq!(
                watch.changes(),
                None,
                "{moved} moved back: still not vouched for"
            );
            drop(watch);
            fs::remove_dir_all(top).unwrap();
        }
    }
}
