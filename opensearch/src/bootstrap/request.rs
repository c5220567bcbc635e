//! One request as the bootstrap sends it and `plan` shows it.

use serde::Serialize;
use serde_json::Value;

/// A request body: JSON, or NDJSON text (the Dashboards import).
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON.
    Json(Value),
    /// NDJSON.
    Ndjson(String),
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Body::Json(v) => v.serialize(s),
            Body::Ndjson(t) => s.serialize_str(t),
        }
    }
}

/// One request: `{"method", "path", "body"}` in `plan --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Path and query; Dashboards paths carry their own prefix (`/_dashboards/api/...`).
    pub path: String,
    /// The body, or null.
    pub body: Option<Body>,
    /// What it does, for people (not part of the JSON plan): in a plan, what it creates; in apply,
    /// what is being done ("creating detector blocked-requests"), which an error repeats.
    #[serde(skip)]
    pub summary: String,
}

impl Request {
    /// A request with a JSON body.
    pub fn json(method: &str, path: impl Into<String>, body: Value, summary: impl Into<String>) -> Self {
        Request { method: method.into(), path: path.into(), body: Some(Body::Json(body)), summary: summary.into() }
    }

    /// A request without a body.
    pub fn bare(method: &str, path: impl Into<String>, summary: impl Into<String>) -> Self {
        Request { method: method.into(), path: path.into(), body: None, summary: summary.into() }
    }

    /// The same request, described as `summary`.
    pub fn doing(self, summary: impl Into<String>) -> Self {
        Request { summary: summary.into(), ..self }
    }
}
