//! Node glue of the migrations: `migrateLevelDbToUnified`, `migrateUnifiedToLevelDb` and
//! `migrateLegacyToLevelDb` over [`crate::migrate`], options parsed by the core.

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use super::job::{root_task, JobTask};
use crate::migrate::{MigrateOptions, Migration};

/// LevelDB → unified JSON, merged into existing files (after a backup unless `dryRun`).
#[napi(
    ts_args_type = "options: MigrateToUnifiedOptions",
    ts_return_type = "Promise<MigrationReport>"
)]
pub fn migrate_level_db_to_unified(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    migration_task(
        &env,
        options,
        Migration::LevelDbToUnified,
        "migrateLevelDbToUnified",
    )
}

/// Unified JSON → LevelDB; existing keys are kept unless `overwrite` (after a backup unless `dryRun`).
#[napi(
    ts_args_type = "options: MigrateToLevelDbOptions",
    ts_return_type = "Promise<MigrationReport>"
)]
pub fn migrate_unified_to_level_db(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    migration_task(
        &env,
        options,
        Migration::UnifiedToLevelDb,
        "migrateUnifiedToLevelDb",
    )
}

/// Legacy v1 `deployments/<network>.json` → LevelDB (archive recovery); existing keys are kept unless `overwrite`.
#[napi(
    ts_args_type = "options: MigrateToLevelDbOptions",
    ts_return_type = "Promise<MigrationReport>"
)]
pub fn migrate_legacy_to_level_db(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    migration_task(
        &env,
        options,
        Migration::LegacyToLevelDb,
        "migrateLegacyToLevelDb",
    )
}

/// The task of one migration; bad options reject with `VALIDATION_FAILED` before any file is touched.
fn migration_task(
    env: &Env,
    options: Unknown,
    migration: Migration,
    js_name: &str,
) -> AsyncTask<JobTask> {
    root_task(
        env,
        options,
        js_name,
        migration.option_names(),
        |root, values| {
            let options = MigrateOptions::from_json(migration, &Value::Object(values))?;
            Ok(Box::new(move |_| {
                migration.run(&root, &options).map(|r| r.to_json())
            }))
        },
    )
}
