//! Rule 19: the Dashboards saved-objects import.

use std::collections::HashSet;

use serde_json::Value;

use super::check::{Check, str_at};

/// Dashboards import limits: at most this many bytes per import.
pub const MAX_IMPORT_BYTES: usize = 26_214_400;
/// At most this many saved objects per import.
pub const MAX_IMPORT_OBJECTS: usize = 10_000;

/// Rule 19: an import's NDJSON and query.
pub(super) fn saved_objects(text: &str, query: &str, c: &mut Check<'_>) {
    if text.len() > MAX_IMPORT_BYTES {
        c.fail(19, format!("the import is {} bytes; at most {MAX_IMPORT_BYTES}", text.len()));
    }
    let params: Vec<&str> = query.split('&').map(|p| p.split('=').next().unwrap_or("")).collect();
    if params.contains(&"overwrite") && params.contains(&"createNewCopies") {
        c.fail(19, "overwrite and createNewCopies cannot be used together");
    }
    let mut ids = HashSet::new();
    let mut objects = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => {
                for key in ["type", "id", "attributes"] {
                    if v.get(key).is_none() {
                        c.fail(19, format!("line {}: a saved object needs {key}", n + 1));
                    }
                }
                if let (Some(t), Some(id)) = (str_at(&v, "/type"), str_at(&v, "/id")) {
                    ids.insert((t.to_owned(), id.to_owned()));
                }
                objects.push(v);
            }
            _ => c.fail(19, format!("line {} is not a JSON object", n + 1)),
        }
    }
    if objects.len() > MAX_IMPORT_OBJECTS {
        c.fail(19, format!("{} objects; at most {MAX_IMPORT_OBJECTS} per import", objects.len()));
    }
    for o in &objects {
        for r in o.get("references").and_then(Value::as_array).into_iter().flatten() {
            let (t, id) = (str_at(r, "/type").unwrap_or(""), str_at(r, "/id").unwrap_or(""));
            if !ids.contains(&(t.to_owned(), id.to_owned())) {
                c.fail(
                    19,
                    format!("{} references {t} {id}, which is not in the file", str_at(o, "/id").unwrap_or("?")),
                );
            }
        }
    }
}
