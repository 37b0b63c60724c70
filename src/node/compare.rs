//! Node glue of counting and comparing: `countContracts`, `compareBackends` over [`crate::compare`].

use std::path::PathBuf;

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::{Map, Value};

use super::args::path_value;
use super::invalid_arg;
use super::job::{process_env, root_task, JobTask};
use crate::backend::BackendKind;
use crate::compare;

/// Contracts per chain and network, production and dev apart; reads only.
#[napi(
    ts_args_type = "options: { root: string; backend?: 'leveldb' | 'unified-json'; leveldbDir?: string }",
    ts_return_type = "Promise<ContractCounts>"
)]
pub fn count_contracts(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    let keys = ["backend", "leveldbDir"];
    root_task(&env, options, "countContracts", &keys, |root, values| {
        let backend = match values.get("backend") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(BackendKind::parse(name)?),
            Some(other) => {
                return Err(invalid_arg(&format!(
                    "backend must be a string, got {other}"
                )))
            }
        };
        let dir = optional_path(&values, "leveldbDir")?;
        Ok(Box::new(move |_| {
            let counts = match dir {
                Some(dir) => compare::count_leveldb_dir(&dir),
                None => compare::count_contracts(&root, backend, &process_env),
            };
            counts.map(|c| c.to_json())
        }))
    })
}

/// LevelDB against the live unified files, per (chainId, canonical name); reads only.
#[napi(
    ts_args_type = "options: { root: string; leveldbDir?: string }",
    ts_return_type = "Promise<BackendComparison>"
)]
pub fn compare_backends(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    root_task(
        &env,
        options,
        "compareBackends",
        &["leveldbDir"],
        |root, values| {
            let dir = optional_path(&values, "leveldbDir")?;
            Ok(Box::new(move |_| {
                compare::compare_backends(&root, dir.as_deref()).map(|c| c.to_json())
            }))
        },
    )
}

fn optional_path(values: &Map<String, Value>, key: &str) -> crate::Result<Option<PathBuf>> {
    match values.get(key) {
        None | Some(Value::Null) => Ok(None),
        other => path_value(other.cloned(), key).map(Some),
    }
}
