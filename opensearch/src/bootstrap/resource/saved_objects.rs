//! The Dashboards saved objects: imported together (one multipart request), each also readable and
//! deletable at its own path. Index patterns carry no mark; the others say "managed by wafwatch"
//! in their description.

use serde_json::{Value, json};

use crate::bootstrap::bodies::mark::is_managed;
use crate::bootstrap::bodies::saved_objects::{dashboard_id, saved_objects, saved_objects_ndjson};
use crate::bootstrap::compare::subset;
use crate::bootstrap::request::{Body, Request};
use crate::bootstrap::spec::Spec;

/// The saved objects, in import order.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedObjects {
    /// The objects (`type`, `id`, `attributes`, `references`).
    pub objects: Vec<Value>,
    /// The dashboard's id, which names them all in reports.
    pub dashboard: String,
    prefix: String,
}

impl SavedObjects {
    /// The saved objects of the detectors and the index.
    pub fn new(spec: &Spec) -> SavedObjects {
        SavedObjects {
            objects: saved_objects(&spec.detection, &spec.index),
            dashboard: dashboard_id(&spec.index),
            prefix: spec.dashboards.prefix.clone(),
        }
    }

    /// The import of all of them, as `plan` shows it.
    pub fn plan(&self) -> Request {
        self.import(&self.objects).doing(format!(
            "import {} Dashboards saved objects (index patterns, charts, dashboard {})",
            self.objects.len(),
            self.dashboard
        ))
    }

    /// The import of `objects`, overwriting what exists.
    pub fn import(&self, objects: &[Value]) -> Request {
        Request {
            method: "POST".into(),
            path: format!("{}/api/saved_objects/_import?overwrite=true", self.prefix),
            body: Some(Body::Ndjson(saved_objects_ndjson(objects))),
            summary: "importing Dashboards saved objects".into(),
        }
    }

    /// An object's type and id.
    pub fn key(object: &Value) -> (&str, &str) {
        (object["type"].as_str().unwrap_or(""), object["id"].as_str().unwrap_or(""))
    }

    /// Where the object of type `t` and id `id` lives.
    pub fn path(&self, t: &str, id: &str) -> String {
        format!("{}/api/saved_objects/{t}/{id}", self.prefix)
    }

    /// The delete of the object of type `t` and id `id`, saying why (`replacing`, `deleting`).
    pub fn delete(&self, t: &str, id: &str, why: &str) -> Request {
        Request::bare("DELETE", self.path(t, id), format!("{why} Dashboards {t} {id}"))
    }

    /// Whether the live object (the answer to a GET of its path) is `object` (member by member:
    /// Dashboards adds members of its own).
    pub fn same(object: &Value, live: &Value) -> bool {
        subset(&object["attributes"], &live["attributes"])
            && subset(&object["references"], live.get("references").unwrap_or(&json!([])))
    }

    /// Whether a live object of type `t` is wafwatch's: an index pattern of the names wafwatch
    /// gives, or an object whose description carries the mark.
    pub fn is_ours(t: &str, live: &Value) -> bool {
        t == "index-pattern" || is_managed(live)
    }
}
