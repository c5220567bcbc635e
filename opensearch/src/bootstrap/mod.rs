//! The bootstrap: turns `wafwatch.toml` into a working OpenSearch deployment and keeps it in step.
//!
//! - [`plan`]: no network. The requests a first `apply` sends to an empty cluster, in order.
//! - [`apply`]: an idempotent reconcile. It finds each object by name, creates what is missing,
//!   updates what differs (stopping and restarting a running detector where the plugin requires
//!   it), and leaves what is equal alone, so a second apply sends no write.
//! - [`status`](apply::status) and [`destroy`](apply::destroy).
//!
//! Order (contract §1): the index template before the first index; the ISM policy before the
//! first index (it attaches only to indices created after it); channels before the monitors that
//! name them; detectors only once the index holds documents, then their monitors; the Dashboards
//! saved objects last.

pub mod apply;
pub mod bodies;
pub mod client;
pub mod validate;

use serde::Serialize;
use serde_json::Value;
use wafwatch_config::Severity;

use wafwatch_config::channel::{Resolve, ResolvedChannel, valid_iam_role_arn};
use wafwatch_config::detection::Detection;
use wafwatch_config::expand::resolve_setting;
use wafwatch_config::index::Index;
use wafwatch_message::Site;

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
    /// What it does, for people (not part of the JSON plan).
    #[serde(skip)]
    pub summary: String,
}

impl Request {
    fn json(method: &str, path: impl Into<String>, body: Value, summary: impl Into<String>) -> Self {
        Request { method: method.into(), path: path.into(), body: Some(Body::Json(body)), summary: summary.into() }
    }
    fn bare(method: &str, path: impl Into<String>, summary: impl Into<String>) -> Self {
        Request { method: method.into(), path: path.into(), body: None, summary: summary.into() }
    }
}

/// Where Dashboards lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboards {
    /// The path prefix of its API on the Dashboards host (`/_dashboards` on Amazon OpenSearch
    /// Service, empty for a Dashboards on its own port).
    pub prefix: String,
    /// Its public URL for people, used in alert links; `None` shows a placeholder.
    pub public_url: Option<String>,
}

impl Default for Dashboards {
    fn default() -> Self {
        Dashboards { prefix: "/_dashboards".into(), public_url: None }
    }
}

/// Everything the bootstrap builds from.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `[index]`.
    pub index: Index,
    /// Detectors and monitors.
    pub detection: Detection,
    /// Channels, values resolved (placeholders in plans).
    pub channels: Vec<ResolvedChannel>,
    /// The transformer's rules (name, severity, description), for messages.
    pub rules: Vec<(String, Severity, String)>,
    /// With fine-grained access control: the role to create and the Firehose role ARN to map.
    pub firehose_access: Option<(String, String)>,
    /// Dashboards.
    pub dashboards: Dashboards,
}

impl Spec {
    /// What the bootstrap builds from a validated configuration. `mode` says how `${VAR}`s and
    /// secrets are read: live (apply, status, destroy) or as placeholders (plan, which must not
    /// need them); `env` looks variables up.
    pub fn from_config(
        config: &wafwatch_config::Config,
        mode: Resolve,
        env: &dyn Fn(&str) -> Option<String>,
        dashboards: Dashboards,
    ) -> Result<Spec, String> {
        let channels = config
            .channels
            .iter()
            .map(|c| c.resolve_with(mode, env).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let arn = match &config.access.firehose_role_arn {
            Some(raw) => resolve_setting(raw, mode, env).map_err(|e| format!("`access.firehose_role_arn`: {e}"))?,
            None => String::new(),
        };
        if !arn.is_empty() && !arn.starts_with("{{") && !valid_iam_role_arn(&arn) {
            return Err(format!(
                "`access.firehose_role_arn`: `{arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            ));
        }
        Ok(Spec {
            index: config.index.clone(),
            detection: config.detection.clone(),
            channels,
            rules: config
                .transform
                .rules()
                .iter()
                .map(|r| (r.name.clone(), r.severity, r.description.clone()))
                .collect(),
            firehose_access: (!arn.is_empty()).then(|| (config.access.role.clone(), arn)),
            dashboards,
        })
    }

    /// The link alert messages carry.
    pub fn dashboard_link(&self) -> String {
        let base = self.dashboards.public_url.clone().unwrap_or_else(|| "{{dashboards}}".into());
        format!("{}/app/dashboards#/view/{}", base.trim_end_matches('/'), bodies::dashboard_id(&self.index))
    }

    /// The message templates' surroundings.
    pub fn with_site<T>(&self, f: impl FnOnce(&Site<'_>) -> T) -> T {
        let rules: Vec<(&str, Severity, &str)> =
            self.rules.iter().map(|(n, s, d)| (n.as_str(), *s, d.as_str())).collect();
        let pattern = self.index.pattern();
        let link = self.dashboard_link();
        f(&Site { index_pattern: &pattern, link: Some(&link), rules: &rules })
    }

    /// The Dashboards import path.
    pub fn import_path(&self) -> String {
        format!("{}/api/saved_objects/_import?overwrite=true", self.dashboards.prefix)
    }
}

/// The requests a first `apply` sends to an empty cluster, in order (lookups left out).
pub fn plan(spec: &Spec) -> Vec<Request> {
    let index = &spec.index;
    let mut out = vec![
        Request::json(
            "PUT",
            format!("/_index_template/{}", bodies::template_name(index)),
            bodies::index_template(index),
            format!(
                "create index template {} for {} ({} fields mapped)",
                bodies::template_name(index),
                index.pattern(),
                index.fields.len()
            ),
        ),
        Request::json(
            "PUT",
            format!("/_plugins/_ism/policies/{}", bodies::policy_id(index)),
            bodies::ism_policy(index),
            format!(
                "create ISM policy {}: roll over at {} or {}, delete after {}",
                bodies::policy_id(index),
                index.rollover_size,
                index.rollover_age,
                index.retention
            ),
        ),
        Request::json(
            "PUT",
            format!("/{}", index.first_index()),
            bodies::first_index(index),
            format!("create index {} behind the write alias {}", index.first_index(), index.alias),
        ),
    ];
    if let Some((role, arn)) = &spec.firehose_access {
        out.push(Request::json(
            "PUT",
            format!("/_plugins/_security/api/roles/{role}"),
            bodies::firehose_role(index),
            format!("create security role {role}: write to {}* only", index.alias),
        ));
        out.push(Request::json(
            "PUT",
            format!("/_plugins/_security/api/rolesmapping/{role}"),
            bodies::firehose_role_mapping(arn),
            format!("map role {role} to the Firehose role {arn}"),
        ));
    }
    for c in &spec.channels {
        out.push(Request::json(
            "POST",
            "/_plugins/_notifications/configs",
            bodies::channel_create(c),
            format!("create {} channel {}", c.kind.as_str(), c.id),
        ));
    }
    for d in &spec.detection.detectors {
        out.push(Request::json(
            "POST",
            "/_plugins/_anomaly_detection/detectors",
            bodies::detector(d, &spec.detection, index),
            format!("create detector {} (once {} holds documents)", d.name, index.alias),
        ));
        out.push(Request::bare(
            "POST",
            format!("/_plugins/_anomaly_detection/detectors/{}/_start", bodies::detector_placeholder(&d.name)),
            format!("start detector {} (real-time)", d.name),
        ));
    }
    spec.with_site(|site| {
        for m in &spec.detection.monitors {
            let detector_id = match &m.kind {
                wafwatch_config::detection::MonitorKind::Anomaly { detector, .. } => {
                    bodies::detector_placeholder(&spec.detection.detectors[*detector].name)
                }
                _ => String::new(),
            };
            out.push(Request::json(
                "POST",
                "/_plugins/_alerting/monitors",
                bodies::monitor(m, &spec.detection, index, site, &detector_id),
                format!(
                    "create monitor {} (to {})",
                    m.name,
                    if m.channels.is_empty() { "no channel".into() } else { m.channels.join(", ") }
                ),
            ));
        }
    });
    let objects = bodies::saved_objects(&spec.detection, index);
    out.push(Request {
        method: "POST".into(),
        path: spec.import_path(),
        body: Some(Body::Ndjson(bodies::saved_objects_ndjson(&objects))),
        summary: format!(
            "import {} Dashboards saved objects (index patterns, charts, dashboard {})",
            objects.len(),
            bodies::dashboard_id(index)
        ),
    });
    out
}

/// The plan for people: one line per request.
pub fn render_plan(requests: &[Request]) -> String {
    let mut s = String::new();
    for (i, r) in requests.iter().enumerate() {
        s.push_str(&format!("{:>3}. {:<6} {}\n     {}\n", i + 1, r.method, r.path, r.summary));
    }
    s.push_str(&format!(
        "\n{} requests. Lookups are left out: apply reads before it writes, so a second apply sends none of these.\n\
         Placeholders: {{{{detector:NAME}}}} is the id the cluster gives the detector; {{{{env:NAME}}}} a variable\n\
         that is not set here; {{{{secret:NAME}}}} a secret apply reads from the environment or a file.\n",
        requests.len()
    ));
    s
}
