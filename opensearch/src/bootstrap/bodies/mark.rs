//! How wafwatch marks what it creates, and how it recognises its mark on what it finds.
//!
//! Objects the server may re-serialise (templates, policies, detectors, monitors) carry a
//! fingerprint of the body wafwatch sent, so `apply` can tell "unchanged" from "changed" without
//! depending on how the server normalises what it stores. Where an object has a metadata field the
//! mark sits there (`_meta`, `ui_metadata.wafwatch`); elsewhere it ends the description.

use serde_json::{Value, json};
use wafwatch_config::hash::fnv1a_hex;

/// Marks what wafwatch manages: `_meta.managed_by`, `ui_metadata.wafwatch.managed_by`, and the end
/// of descriptions.
pub const MANAGED_BY: &str = "wafwatch";

/// The words a description carries when it has no metadata field for [`MANAGED_BY`].
const MANAGED_BY_TEXT: &str = "managed by wafwatch";

/// The marker appended to descriptions of objects without a metadata field.
pub fn managed_suffix(fingerprint: &str) -> String {
    format!(" [{MANAGED_BY_TEXT}, fingerprint {fingerprint}]")
}

/// FNV-1a, 64 bits, of the body's canonical JSON text (keys sorted): stable across runs and
/// machines.
pub fn fingerprint(body: &Value) -> String {
    fnv1a_hex(body.to_string().as_bytes())
}

/// The fingerprint an object carries, wherever this kind of object keeps it.
pub fn carried_fingerprint(live: &Value) -> Option<&str> {
    live.pointer("/_meta/fingerprint")
        .or_else(|| live.pointer("/ui_metadata/wafwatch/fingerprint"))
        .and_then(Value::as_str)
        .or_else(|| {
            live.pointer("/policy/description")
                .or_else(|| live.get("description"))
                .and_then(Value::as_str)
                .and_then(|d| d.rsplit_once("fingerprint ").map(|(_, f)| f.trim_end_matches(']')))
        })
}

/// Whether two bodies carry the same fingerprint: the body wafwatch would send now is the one it
/// sent then.
pub fn same_fingerprint(desired: &Value, live: &Value) -> bool {
    carried_fingerprint(desired) == carried_fingerprint(live)
}

/// Whether an object found on the cluster or in Dashboards carries wafwatch's mark, wherever this
/// kind of object keeps it.
pub fn is_managed(live: &Value) -> bool {
    live.pointer("/_meta/managed_by").and_then(Value::as_str) == Some(MANAGED_BY)
        || live.pointer("/ui_metadata/wafwatch/managed_by").and_then(Value::as_str) == Some(MANAGED_BY)
        || ["/description", "/policy/description", "/attributes/description"]
            .iter()
            .any(|p| live.pointer(p).and_then(Value::as_str).is_some_and(|d| d.contains(MANAGED_BY_TEXT)))
}

/// Marks a detector or monitor body: `ui_metadata.wafwatch` gets [`MANAGED_BY`] and the
/// fingerprint of the body as it was before.
pub fn sign_ui_metadata(mut body: Value) -> Value {
    let fp = fingerprint(&body);
    body["ui_metadata"]["wafwatch"] = json!({"managed_by": MANAGED_BY, "fingerprint": fp});
    body
}
