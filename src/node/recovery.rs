//! Node glue of the recovery helpers and the runbook's reports: `recoverImplementationHashes`,
//! `recoverConstructorArgs`, `validateTimestamps` over [`crate::recovery`], and
//! `rollbackValidationReport`, `incidentReport` over [`crate::rollback`]; options parsed by the core.

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use super::job::{process_env, root_task, JobTask};
use crate::recovery::{self, RecoverOptions};
use crate::rollback::{self, ReportOptions};

/// Fills the implementation hashes a live store lacks from the other store, the files and the backups (after a backup unless `dryRun`).
#[napi(
    ts_args_type = "options: RecoverOptions",
    ts_return_type = "Promise<RecoveryReport>"
)]
pub fn recover_implementation_hashes(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    recovery_task(
        &env,
        options,
        "recoverImplementationHashes",
        recovery::recover_implementation_hashes,
    )
}

/// Fills the constructor arguments a live store lacks from the other store, the files and the backups (after a backup unless `dryRun`).
#[napi(
    ts_args_type = "options: RecoverOptions",
    ts_return_type = "Promise<RecoveryReport>"
)]
pub fn recover_constructor_args(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    recovery_task(
        &env,
        options,
        "recoverConstructorArgs",
        recovery::recover_constructor_args,
    )
}

/// Timestamps of the live stores: none in the future, none before the chain's first recorded deploy, LevelDB and unified agreeing; reads only.
#[napi(
    ts_args_type = "options: { root: string }",
    ts_return_type = "Promise<TimestampValidation>"
)]
pub fn validate_timestamps(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    root_task(&env, options, "validateTimestamps", &[], |root, _| {
        Ok(Box::new(move |_| {
            recovery::validate_timestamps(&root).map(|r| r.to_json())
        }))
    })
}

/// The runbook's post-rollback validation report (Markdown and JSON) of an incident; written into its folder only with `write`.
#[napi(
    ts_args_type = "options: IncidentReportOptions",
    ts_return_type = "Promise<RenderedReport>"
)]
pub fn rollback_validation_report(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    report_task(
        &env,
        options,
        "rollbackValidationReport",
        rollback::rollback_validation_report,
    )
}

/// The runbook's incident report (Markdown and JSON) of an incident; written into its folder only with `write`.
#[napi(
    ts_args_type = "options: IncidentReportOptions",
    ts_return_type = "Promise<RenderedReport>"
)]
pub fn incident_report(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    report_task(&env, options, "incidentReport", rollback::incident_report)
}

type Recover = fn(&std::path::Path, &RecoverOptions) -> crate::Result<recovery::RecoveryReport>;
type Report = fn(
    &std::path::Path,
    &ReportOptions,
    &dyn Fn(&str) -> Option<String>,
) -> crate::Result<rollback::RenderedReport>;

/// The task of one recovery; bad options reject with `VALIDATION_FAILED` before any file is touched.
fn recovery_task(env: &Env, options: Unknown, js_name: &str, run: Recover) -> AsyncTask<JobTask> {
    root_task(env, options, js_name, &["dryRun"], |root, values| {
        let options = RecoverOptions::from_json(&Value::Object(values))?;
        Ok(Box::new(move |_| run(&root, &options).map(|r| r.to_json())))
    })
}

/// The task of one report; bad options reject with `VALIDATION_FAILED` before any file is touched.
fn report_task(env: &Env, options: Unknown, js_name: &str, run: Report) -> AsyncTask<JobTask> {
    root_task(
        env,
        options,
        js_name,
        &["incidentId", "write"],
        |root, values| {
            let options = ReportOptions::from_json(&Value::Object(values))?;
            Ok(Box::new(move |_| {
                run(&root, &options, &process_env).map(|r| r.to_json())
            }))
        },
    )
}
