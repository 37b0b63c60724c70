//! Checking JS arguments of the file-level functions: option objects, known keys, booleans, paths.

use std::path::PathBuf;

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::ValueType;
use serde_json::{Map, Value};

use super::progress::ProgressCallback;
use super::{invalid_arg, js_to_json, shown};

/// An options object: its plain values (functions and undefined dropped) and its `onProgress`.
#[derive(Default)]
pub(super) struct JsOptions<'a> {
    /// Plain values.
    pub(super) values: Map<String, Value>,
    /// The `onProgress` function, if given.
    pub(super) on_progress: Option<ProgressCallback<'a>>,
}

/// `None` for undefined or null; an error for anything but a plain object.
pub(super) fn options_arg<'a>(
    value: Unknown<'a>,
    what: &str,
) -> crate::Result<Option<JsOptions<'a>>> {
    let not_object = || invalid_arg(&format!("{what} must be an object"));
    match value.get_type().map_err(|_| not_object())? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Object => {}
        _ => return Err(not_object()),
    }
    let Some(Value::Object(values)) = js_to_json(value)? else {
        return Err(not_object()); // an array
    };
    // SAFETY: the value was just checked to be an object.
    let object: Object = unsafe { value.cast() }.map_err(|_| not_object())?;
    let on_progress: Unknown = object
        .get_named_property("onProgress")
        .map_err(|e| invalid_arg(&format!("cannot read onProgress: {e}")))?;
    let on_progress = match on_progress.get_type() {
        Ok(ValueType::Undefined | ValueType::Null) => None,
        // SAFETY: checked to be a function.
        Ok(ValueType::Function) => Some(
            unsafe { on_progress.cast::<ProgressCallback>() }
                .map_err(|e| invalid_arg(&format!("onProgress: {e}")))?,
        ),
        _ => return Err(invalid_arg("onProgress must be a function")),
    };
    let mut values = values;
    values.remove("onProgress");
    Ok(Some(JsOptions {
        values,
        on_progress,
    }))
}

/// Refuses option names other than `known` (a misspelt `dryRun` must not go unnoticed).
pub(super) fn known_keys(
    values: &Map<String, Value>,
    known: &[&str],
    what: &str,
) -> crate::Result<()> {
    match values.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid_arg(&format!(
            "unknown {what} option {key:?} (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A boolean option, `default` when absent or null.
pub(super) fn bool_option(
    values: &Map<String, Value>,
    key: &str,
    default: bool,
) -> crate::Result<bool> {
    match values.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(invalid_arg(&format!(
            "{key} must be a boolean, got {}",
            shown(&other.cloned())
        ))),
    }
}

/// A non-empty path string argument.
pub(super) fn path_arg(value: Unknown<'_>, what: &str) -> crate::Result<PathBuf> {
    path_value(js_to_json(value)?, what)
}

/// A non-empty path string value.
pub(super) fn path_value(value: Option<Value>, what: &str) -> crate::Result<PathBuf> {
    match value {
        Some(Value::String(path)) if !path.is_empty() => Ok(path.into()),
        other => Err(invalid_arg(&format!(
            "{what} must be a non-empty path string, got {}",
            shown(&other)
        ))),
    }
}

/// An options object that must be given.
pub(super) fn required<'a>(options: Unknown<'a>, what: &str) -> crate::Result<JsOptions<'a>> {
    options_arg(options, &format!("{what} options"))?
        .ok_or_else(|| invalid_arg(&format!("{what} needs an options object with root")))
}

/// `root` plus the other allowed keys, for functions that report no progress.
pub(super) fn root_only(
    options: Unknown<'_>,
    what: &str,
    extra: &[&str],
) -> crate::Result<(PathBuf, Map<String, Value>)> {
    let mut o = required(options, what)?;
    if o.on_progress.is_some() {
        return Err(invalid_arg(&format!("{what} takes no onProgress")));
    }
    let keys: Vec<&str> = extra.iter().copied().chain(["root"]).collect();
    known_keys(&o.values, &keys, what)?;
    let root = path_value(o.values.remove("root"), "root")?;
    Ok((root, o.values))
}
