//! Backend selection: explicit option, else `.env.emergency`, else environment, else default.
//! Never silent: the choice comes with the reason.

use std::path::Path;

use crate::backend::BackendKind;
use crate::{Error, ErrorCode, Result};

/// The file the emergency rollback writes to switch every caller to LevelDB.
pub const EMERGENCY_ENV_FILE: &str = ".env.emergency";

/// Which backend was chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSelection {
    /// The chosen backend.
    pub kind: BackendKind,
    /// A sentence naming the option, file or variable that decided.
    pub reason: String,
}

/// Chooses the backend for a store rooted at `root`; `env` looks up environment variables.
pub fn select_backend(
    explicit: Option<BackendKind>,
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BackendSelection> {
    if let Some(kind) = explicit {
        return Ok(chosen(kind, "requested explicitly by the caller".into()));
    }
    let emergency = root.join(EMERGENCY_ENV_FILE);
    if let Some(vars) = read_env_file(&emergency)? {
        let lookup = |name: &str| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Some(selection) = from_vars(&lookup, &emergency.display().to_string())? {
            return Ok(selection);
        }
    }
    if let Some(selection) = from_vars(env, "the environment")? {
        return Ok(selection);
    }
    Ok(chosen(
        BackendKind::UnifiedJson,
        "default (no option, no .env.emergency, no STATE_BACKEND)".into(),
    ))
}

fn chosen(kind: BackendKind, reason: String) -> BackendSelection {
    BackendSelection { kind, reason }
}

/// `FORCE_LEVELDB` / `DISABLE_UNIFIED_JSON` win over `STATE_BACKEND`.
fn from_vars(
    lookup: &dyn Fn(&str) -> Option<String>,
    source: &str,
) -> Result<Option<BackendSelection>> {
    for flag in ["FORCE_LEVELDB", "DISABLE_UNIFIED_JSON"] {
        if lookup(flag).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(Some(chosen(
                BackendKind::LevelDb,
                format!("{flag}=true in {source}"),
            )));
        }
    }
    match lookup("STATE_BACKEND").filter(|v| !v.trim().is_empty()) {
        Some(value) => {
            let kind = BackendKind::parse(&value).map_err(|e| {
                Error::new(
                    ErrorCode::ValidationFailed,
                    format!("STATE_BACKEND in {source}: {}", e.message),
                )
            })?;
            Ok(Some(chosen(
                kind,
                format!("STATE_BACKEND={} in {source}", value.trim()),
            )))
        }
        None => Ok(None),
    }
}

/// `KEY=VALUE` lines (comments, blank lines, `export ` and quotes allowed); `None` when absent.
fn read_env_file(path: &Path) -> Result<Option<Vec<(String, String)>>> {
    let text = match crate::durable::read_regular_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(Error::new(
                ErrorCode::Corrupt,
                format!(
                    "{} is not UTF-8 text, so the backend it selects is unknown; fix or remove it",
                    path.display()
                ),
            )
            .with_path(path))
        }
        Err(e) => return Err(Error::read_io(path, &e)),
    };
    let vars = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(k, v)| {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            (k.trim().to_string(), v.to_string())
        })
        .collect();
    Ok(Some(vars))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::fs;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn temp_root(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lcs-sel-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn order_is_explicit_then_emergency_file_then_env_then_default() {
        let root = temp_root("order");
        let env = env_of(&[("STATE_BACKEND", "json")]);
        let sel = select_backend(Some(BackendKind::UnifiedJson), &root, &env).unwrap();
        assert_eq!(sel.kind, BackendKind::UnifiedJson);
        let sel = select_backend(None, &root, &env).unwrap();
        assert_eq!(
            (sel.kind, sel.reason.as_str()),
            (BackendKind::Json, "STATE_BACKEND=json in the environment")
        );
        fs::write(
            root.join(EMERGENCY_ENV_FILE),
            "# rollback\nSTATE_BACKEND=leveldb\nDISABLE_UNIFIED_JSON=true\n",
        )
        .unwrap();
        let sel = select_backend(None, &root, &env).unwrap();
        assert_eq!(sel.kind, BackendKind::LevelDb);
        assert!(sel.reason.contains(".env.emergency"), "{}", sel.reason);
        let empty = temp_root("empty");
        let sel = select_backend(None, &empty, &env_of(&[])).unwrap();
        assert_eq!(sel.kind, BackendKind::UnifiedJson);
        assert!(sel.reason.starts_with("default"));
        fs::remove_dir_all(root).unwrap();
        fs::remove_dir_all(empty).unwrap();
    }

    #[test]
    fn force_flags_win_and_bad_values_are_errors() {
        let root = temp_root("flags");
        let env = env_of(&[("STATE_BACKEND", "unified"), ("FORCE_LEVELDB", "true")]);
        assert_eq!(
            select_backend(None, &root, &env).unwrap().kind,
            BackendKind::LevelDb
        );
        let err = select_backend(None, &root, &env_of(&[("STATE_BACKEND", "mongo")])).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        assert!(err.message.contains("STATE_BACKEND"));
        fs::remove_dir_all(root).unwrap();
    }
}
