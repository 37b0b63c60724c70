//! Progress (backup file work, rollback steps) from the worker threads to a JS `onProgress` callback.
//!
//! Workers never wait on JS. They queue an event (at most one per [`THROTTLE`], plus the
//! last of each phase) and wake the JS thread with a non-blocking call of a threadsafe
//! function; on the JS thread a native `deliver` function drains the queue in order into
//! the callback. The task's `resolve` drains it once more and closes it before the promise
//! settles, so every queued event reaches JS before the result and none arrives after it
//! (a wake-up still in flight then finds the queue empty).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{Function, FunctionRef, JsObjectValue, Object, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, JsValue, Status};

use crate::backup::Progress;
use crate::rollback::Event;

/// At most one event per this interval reaches JS (the last of a phase always does).
const THROTTLE: Duration = Duration::from_millis(50);

/// One event for `onProgress`: file progress (throttled) or a rollback step (always delivered).
#[derive(Clone)]
pub(super) enum Report {
    /// Files and bytes done in a phase.
    Files(Progress),
    /// A rollback step began, ended or said something.
    Step(Event),
}

/// The JS `onProgress` function, called with one `BackupProgress` or `RollbackEvent` object.
pub(super) type ProgressCallback<'a> = Function<'a, ProgressJs, Unknown<'static>>;

/// What a task holds to report progress; `report` is called from any thread.
pub(super) struct ProgressSink {
    queue: Arc<ProgressQueue>,
    /// Wakes the JS thread (weak: it never keeps the event loop alive by itself).
    wake: ThreadsafeFunction<(), bool, (), Status, false, true>,
}

/// Events not yet delivered, and the callback they go to.
struct ProgressQueue {
    state: Mutex<QueueState>,
    /// Only used on the JS thread.
    callback: FunctionRef<ProgressJs, Unknown<'static>>,
}

#[derive(Default)]
struct QueueState {
    pending: VecDeque<Report>,
    /// When the last event was queued, its phase, total and files done.
    last: Option<(Instant, &'static str, u64, u64)>,
    /// Set once the task has resolved: later reports are dropped.
    closed: bool,
}

impl ProgressSink {
    /// Prepares delivery to `callback`. Runs on the JS thread.
    pub(super) fn new(env: &Env, callback: ProgressCallback<'_>) -> napi::Result<Self> {
        let queue = Arc::new(ProgressQueue {
            state: Mutex::default(),
            callback: callback.create_ref()?,
        });
        let drained = queue.clone();
        let deliver = env
            .create_function_from_closure::<(), bool, _>("deliverBackupProgress", move |ctx| {
                Ok(drained.drain(ctx.env))
            })?;
        let wake = deliver
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(ProgressSink { queue, wake })
    }

    /// Queues `p` unless throttled or stale, and wakes the JS thread. Never blocks on JS.
    pub(super) fn report(&self, p: &Progress) {
        let mut state = self.queue.lock();
        if state.closed {
            return;
        }
        let last_of_phase = p.files_done >= p.files_total;
        if let Some((at, phase, total, done)) = state.last {
            // Workers count concurrently: one may report 99 of 100 after another reported 100.
            if (phase, total) == (p.phase, p.files_total) && p.files_done <= done {
                return;
            }
            if !last_of_phase && at.elapsed() < THROTTLE {
                return;
            }
        }
        state.last = Some((Instant::now(), p.phase, p.files_total, p.files_done));
        self.push(state, Report::Files(p.clone()));
    }

    /// Queues a rollback step event; steps are few, so none is throttled.
    pub(super) fn report_step(&self, event: &Event) {
        let state = self.queue.lock();
        if !state.closed {
            self.push(state, Report::Step(event.clone()));
        }
    }

    fn push(&self, mut state: MutexGuard<'_, QueueState>, report: Report) {
        state.pending.push_back(report);
        drop(state);
        // Not `ok` only while Node shuts down, when nobody listens any more.
        let _ = self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }

    /// Delivers what is still queued and closes the queue. Runs on the JS thread, in `resolve`.
    pub(super) fn finish(&self, env: &Env) {
        self.queue.drain(env);
        self.queue.lock().closed = true;
    }
}

impl ProgressQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls the callback with each queued event, oldest first; true if there was any.
    fn drain(&self, env: &Env) -> bool {
        let mut delivered = false;
        loop {
            // The guard dies with this statement: workers never wait while JS runs.
            let next = self.lock().pending.pop_front();
            let Some(p) = next else { break };
            delivered = true;
            if let Ok(callback) = self.callback.borrow_back(env) {
                // An exception thrown by onProgress is cleared by `call` and dropped here:
                // a progress display cannot stop (or half-stop) a backup.
                let _ = callback.call(ProgressJs(p));
            }
        }
        delivered
    }
}

/// `{ phase, filesDone, filesTotal, bytesDone, bytesTotal }` or `{ step, status, message, data? }`.
pub(super) struct ProgressJs(Report);

impl ToNapiValue for ProgressJs {
    unsafe fn to_napi_value(raw_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(raw_env);
        let mut obj = Object::new(&env)?;
        match val.0 {
            Report::Files(p) => {
                obj.set_named_property("phase", p.phase)?;
                // Counts beyond 2^53 are not a concern for files and bytes on one disk.
                obj.set_named_property("filesDone", p.files_done as f64)?;
                obj.set_named_property("filesTotal", p.files_total as f64)?;
                obj.set_named_property("bytesDone", p.bytes_done as f64)?;
                obj.set_named_property("bytesTotal", p.bytes_total as f64)?;
            }
            Report::Step(e) => {
                obj.set_named_property("step", e.step.as_str())?;
                obj.set_named_property("status", e.status)?;
                obj.set_named_property("message", e.message.as_str())?;
                if let Some(data) = e.data {
                    obj.set_named_property("data", super::Reply::Json(data))?;
                }
            }
        }
        Ok(obj.raw())
    }
}
