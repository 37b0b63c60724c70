//! The task behind the file-level functions (backups, rollback): a job run off the JS
//! thread, the sink its progress goes to, and its result handed to JS as JSON.

use std::path::PathBuf;

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::{Env, Task};
use serde_json::{Map, Value};

use super::args::root_only;

use super::progress::{ProgressCallback, ProgressSink};
use super::{to_js_error, Reply};
use crate::backup::Progress;
use crate::rollback::Event;
use crate::{Error, ErrorCode};

/// The work itself, given where to report progress.
pub(super) type Job = Box<dyn FnOnce(&Reporter) -> crate::Result<Value> + Send>;

/// A job with its checked arguments, or why they were refused, and its `onProgress`.
pub(super) type Parsed<'a> = crate::Result<(Job, Option<ProgressCallback<'a>>)>;

/// Where a running job reports progress (nowhere without `onProgress`).
pub(super) struct Reporter<'a>(Option<&'a ProgressSink>);

impl Reporter<'_> {
    /// File progress of a backup phase.
    pub(super) fn files(&self, p: &Progress) {
        if let Some(sink) = self.0 {
            sink.report(p);
        }
    }

    /// A rollback step.
    pub(super) fn step(&self, e: &Event) {
        if let Some(sink) = self.0 {
            sink.report_step(e);
        }
    }
}

/// One job as an `AsyncTask`; a refused argument makes it reject with `VALIDATION_FAILED` before any file is touched.
pub struct JobTask {
    job: Option<crate::Result<Job>>,
    progress: Option<ProgressSink>,
}

impl Task for JobTask {
    type Output = crate::Result<Value>;
    type JsValue = Reply;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let job = self
            .job
            .take()
            .unwrap_or_else(|| Err(Error::new(ErrorCode::Internal, "a task ran twice")));
        let reporter = Reporter(self.progress.as_ref());
        Ok(job.and_then(|job| job(&reporter)))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        // Every progress event reaches JS before the promise settles.
        if let Some(sink) = &self.progress {
            sink.finish(&env);
        }
        output.map(Reply::Json).map_err(|e| to_js_error(&env, &e))
    }
}

impl JobTask {
    /// A task for `parsed`; an `onProgress` callback is wired up here, on the JS thread.
    pub(super) fn new(env: &Env, parsed: Parsed<'_>) -> Self {
        let (job, callback) = match parsed {
            Ok((job, callback)) => (Ok(job), callback),
            Err(e) => (Err(e), None),
        };
        match callback.map(|f| ProgressSink::new(env, f)).transpose() {
            Ok(progress) => JobTask {
                job: Some(job),
                progress,
            },
            Err(e) => JobTask {
                job: Some(Err(Error::new(
                    ErrorCode::Internal,
                    format!("cannot set up onProgress: {e}"),
                ))),
                progress: None,
            },
        }
    }

    /// `compute` + `resolve` on the calling thread.
    pub(super) fn run_sync(mut self, env: Env) -> napi::Result<Reply> {
        let output = self.compute()?;
        self.resolve(env, output)
    }
}

/// The task of a function taking `{ root, …keys }` and reporting no progress: `make` turns the
/// root and the other option values into the job, or refuses them (`VALIDATION_FAILED` before
/// any file is touched).
pub(super) fn root_task(
    env: &Env,
    options: Unknown,
    js_name: &str,
    keys: &[&str],
    make: impl FnOnce(PathBuf, Map<String, Value>) -> crate::Result<Job>,
) -> AsyncTask<JobTask> {
    let parsed = root_only(options, js_name, keys)
        .and_then(|(root, values)| Ok((make(root, values)?, None)));
    AsyncTask::new(JobTask::new(env, parsed))
}

/// The process environment, for backend selection.
pub(super) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
