//! Node glue of the emergency rollback and the validator: `emergencyRollback`,
//! `validateRollback`, `assessEmergency`, `regenerateUnified` over [`crate::rollback`], and
//! `validateState` over [`crate::validate`].

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use super::args::{bool_option, path_value, required};
use super::job::{process_env, root_task, Job, JobTask, Parsed, Reporter};
use crate::rollback::{self, Expectation, RollbackOptions};
use crate::validate::{self, ValidateOptions};

/// Runs (or with `dryRun`, plans) the emergency rollback to LevelDB. Steps arrive on `onProgress`; the plan comes with the `plan` event, before anything is written.
#[napi(
    ts_args_type = "options: EmergencyRollbackOptions",
    ts_return_type = "Promise<RollbackOutcome>"
)]
pub fn emergency_rollback(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    AsyncTask::new(JobTask::new(&env, rollback_args(options)))
}

/// The runbook's post-rollback checks; writes nothing.
#[napi(
    ts_args_type = "options: ValidateRollbackOptions",
    ts_return_type = "Promise<RollbackValidation>"
)]
pub fn validate_rollback(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    root_task(
        &env,
        options,
        "validateRollback",
        &["expect"],
        |root, values| {
            let expect = Expectation::from_json(values.get("expect").unwrap_or(&Value::Null))?;
            Ok(Box::new(move |_| {
                rollback::validate_rollback(&root, expect, &process_env).map(|v| v.to_json())
            }))
        },
    )
}

/// The runbook's assessment and decision; reads only.
#[napi(
    ts_args_type = "options: { root: string }",
    ts_return_type = "Promise<EmergencyAssessment>"
)]
pub fn assess_emergency(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    root_task(&env, options, "assessEmergency", &[], |root, _| {
        Ok(Box::new(move |_| {
            rollback::assess_emergency(&root, &process_env).map(|a| a.to_json())
        }))
    })
}

/// Rebuilds the unified JSON files from LevelDB (after a backup), keeping their other sections.
#[napi(
    ts_args_type = "options: { root: string; dryRun?: boolean }",
    ts_return_type = "Promise<RegenerateReport>"
)]
pub fn regenerate_unified(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    root_task(
        &env,
        options,
        "regenerateUnified",
        &["dryRun"],
        |root, values| {
            let dry_run = bool_option(&values, "dryRun", false)?;
            Ok(Box::new(move |_| {
                rollback::regenerate_unified(&root, dry_run).map(|r| r.to_json())
            }))
        },
    )
}

/// validateState: record and unified-file rules, cross-network consistency, counts; reads only.
#[napi(
    ts_args_type = "options: ValidateStateOptions",
    ts_return_type = "Promise<StateValidation>"
)]
pub fn validate_state(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    let keys = ["backend", "level", "expect"];
    root_task(&env, options, "validateState", &keys, |root, values| {
        let options = ValidateOptions::from_json(root, &Value::Object(values))?;
        Ok(Box::new(move |_| {
            validate::validate_state(&options, &process_env).map(|r| r.to_json())
        }))
    })
}

fn rollback_args(options: Unknown<'_>) -> Parsed<'_> {
    let mut o = required(options, "emergencyRollback")?;
    let root = path_value(o.values.remove("root"), "root")?;
    let options = RollbackOptions::from_json(root, &Value::Object(o.values))?;
    let job: Job = Box::new(move |r: &Reporter| {
        rollback::emergency_rollback(&options, &|e| r.step(e)).map(|o| o.to_json())
    });
    Ok((job, o.on_progress))
}
