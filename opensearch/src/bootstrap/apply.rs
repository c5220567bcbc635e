//! `apply`, `status` and `destroy` against a live cluster.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::bodies::{self, MANAGED_BY, carried_fingerprint};
use super::client::{Api, Reply, Target, Unreachable};
use super::{Body, Request, Spec, plan, validate};
use wafwatch_config::detection::MonitorKind;

/// The anomaly-detection plugin's detectors endpoint.
const DETECTORS: &str = "/_plugins/_anomaly_detection/detectors";

/// What apply did (or, with `--dry-run`, would do) to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created.
    Created,
    /// Updated in place.
    Updated,
    /// Deleted and created again (a change the plugin cannot make in place).
    Recreated,
    /// Already as configured.
    Unchanged,
    /// Started (a stopped detector).
    Started,
    /// Not created yet: it needs documents in the index.
    Waiting,
    /// Deleted (destroy).
    Deleted,
    /// Left alone (destroy: not created by wafwatch, or data).
    Kept,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// What kind of object.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// What happened.
    pub action: Action,
    /// More: the id, why it waits, what differs (dry run).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Per object, in order.
    pub outcomes: Vec<Outcome>,
    /// Write requests sent (or, with --dry-run, that would be).
    pub writes: usize,
    /// With --dry-run: the writes that would be sent.
    #[serde(skip)]
    pub would_send: Vec<Request>,
}

impl Report {
    /// The report for people.
    pub fn render(&self, dry_run: bool) -> String {
        let mut s = String::new();
        for o in &self.outcomes {
            let action = format!("{:?}", o.action).to_lowercase();
            let action = if dry_run && o.action != Action::Unchanged && o.action != Action::Waiting {
                format!("would be {action}")
            } else {
                action
            };
            s.push_str(&format!("{:<16} {:<36} {action}", o.kind, o.name));
            if !o.detail.is_empty() {
                s.push_str(&format!(": {}", o.detail));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "\n{} write request(s){}.\n",
            self.writes,
            if dry_run { " would be sent" } else { " sent" }
        ));
        s
    }
}

/// Options of `apply`.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Read only: report what would be written.
    pub dry_run: bool,
    /// Poll until the index holds documents (at most this long), then create the detectors.
    pub wait_for_data: Option<Duration>,
    /// How often to poll.
    pub poll: Duration,
    /// Also run a historical analysis over `[start, end)` (epoch ms) for every detector.
    pub historical: Option<(i64, i64)>,
    /// Skip the Dashboards saved objects.
    pub skip_dashboards: bool,
}

/// Why the bootstrap stopped.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The configuration would produce requests the contract forbids.
    #[error("the plan breaks the OpenSearch contract:\n{}", .0.iter().map(|p| format!("- {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<validate::Problem>),
    /// A service could not be reached.
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
    /// The server refused a request.
    #[error("{doing}: {explanation}")]
    Refused {
        /// What was being done ("creating detector blocked-requests").
        doing: String,
        /// The server's reason, or what to do.
        explanation: String,
    },
    /// A precondition does not hold.
    #[error("{0}")]
    Precondition(String),
}

/// Turns a failed answer into one sentence: 401, 403 and a missing plugin explained, others with
/// the server's reason.
pub fn refused(doing: impl Into<String>, url: &str, path: &str, reply: &Reply) -> BootstrapError {
    let reason = reply.reason();
    let plugin = [
        ("/_plugins/_anomaly_detection", "anomaly-detection"),
        ("/_plugins/_alerting", "alerting"),
        ("/_plugins/_notifications", "notifications"),
        ("/_plugins/_ism", "index-management"),
        ("/_plugins/_security", "security"),
    ]
    .into_iter()
    .find(|(p, _)| path.starts_with(p))
    .map(|(_, name)| name);
    let explanation = match reply.status {
        401 | 403 => crate::connection::explain_status(reply.status, url).unwrap_or(reason),
        400 | 404 | 405 if reason.contains("no handler found") => match plugin {
            Some(name) => format!(
                "the {name} plugin is not installed on {url} (no handler for {path}): install it, or use Amazon OpenSearch Service, which includes it"
            ),
            None => format!("{url} has no handler for {path}: {reason}"),
        },
        status => format!("{status} {reason}"),
    };
    BootstrapError::Refused { doing: doing.into(), explanation }
}

/// Whether every member of `desired` is in `live` with the same value (`live` may hold more: what
/// the server adds). Arrays must have the same length.
pub fn subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, v)| l.get(k).is_some_and(|lv| subset(v, lv))),
        (Value::Array(d), Value::Array(l)) => d.len() == l.len() && d.iter().zip(l).all(|(a, b)| subset(a, b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => desired == live,
    }
}

/// The paths where `live` differs from `desired` (for `--dry-run`).
pub fn differences(desired: &Value, live: &Value, at: &str, out: &mut Vec<String>) {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (k, v) in d {
                match l.get(k) {
                    Some(lv) => differences(v, lv, &format!("{at}/{k}"), out),
                    None => out.push(format!("{at}/{k} is missing")),
                }
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (a, b)) in d.iter().zip(l).enumerate() {
                differences(a, b, &format!("{at}/{i}"), out);
            }
        }
        _ if subset(desired, live) => {}
        _ => {
            let short = |v: &Value| {
                let t = v.to_string();
                if t.len() > 60 {
                    format!("{}...", &t[..t.char_indices().nth(57).map_or(t.len(), |(i, _)| i)])
                } else {
                    t
                }
            };
            out.push(format!("{} {} -> {}", if at.is_empty() { "/" } else { at }, short(live), short(desired)));
        }
    }
}

struct Ctx<'a, A: Api> {
    api: &'a A,
    url: &'a str,
    dry_run: bool,
    report: Report,
}

impl<A: Api> Ctx<'_, A> {
    async fn get(&self, target: Target, path: &str) -> Result<Reply, BootstrapError> {
        Ok(self.api.send(target, "GET", path, None).await?)
    }

    /// A read-only POST (a search).
    async fn search(&self, path: &str, body: Value) -> Result<Reply, BootstrapError> {
        Ok(self.api.send(Target::Cluster, "POST", path, Some(&Body::Json(body))).await?)
    }

    /// A write: sent, or with --dry-run recorded and answered with `dry`.
    async fn write(
        &mut self,
        target: Target,
        method: &str,
        path: &str,
        body: Option<Body>,
        doing: &str,
        dry: Value,
    ) -> Result<Reply, BootstrapError> {
        self.report.writes += 1;
        if self.dry_run {
            self.report.would_send.push(Request {
                method: method.into(),
                path: path.into(),
                body,
                summary: doing.into(),
            });
            return Ok(Reply { status: 200, body: dry });
        }
        let reply = self.api.send(target, method, path, body.as_ref()).await?;
        if reply.ok() { Ok(reply) } else { Err(refused(doing, self.url, path, &reply)) }
    }

    /// Creates a detector; its id (a placeholder in a dry run).
    async fn create_detector(&mut self, name: &str, body: Value) -> Result<String, BootstrapError> {
        let dry = json!({"_id": bodies::detector_placeholder(name)});
        let doing = format!("creating detector {name}");
        let created = self.write(Target::Cluster, "POST", DETECTORS, Some(Body::Json(body)), &doing, dry).await?;
        Ok(created.body.get("_id").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    /// Starts (`_start`) or stops (`_stop`) a detector's real-time job.
    async fn detector_job(&mut self, name: &str, id: &str, action: &str) -> Result<(), BootstrapError> {
        let doing = format!("{} detector {name}", if action == "_start" { "starting" } else { "stopping" });
        let path = format!("{DETECTORS}/{id}/{action}");
        self.write(Target::Cluster, "POST", &path, None, &doing, json!({"_id": id})).await.map(|_| ())
    }

    fn outcome(&mut self, kind: &'static str, name: impl Into<String>, action: Action, detail: impl Into<String>) {
        let o = Outcome { kind, name: name.into(), action, detail: detail.into() };
        tracing::info!(kind = o.kind, name = %o.name, action = ?o.action, detail = %o.detail, "Bootstrap.");
        self.report.outcomes.push(o);
    }

    fn fail(&self, doing: &str, path: &str, reply: &Reply) -> BootstrapError {
        refused(doing, self.url, path, reply)
    }
}

fn diff_detail(desired: &Value, live: &Value) -> String {
    let mut d = Vec::new();
    differences(desired, live, "", &mut d);
    d.truncate(6);
    d.join("; ")
}

/// Reconciles the cluster with the configuration. See the module documentation.
pub async fn apply<A: Api>(api: &A, url: &str, spec: &Spec, opts: &ApplyOptions) -> Result<Report, BootstrapError> {
    validate::validate(&plan(spec)).map_err(BootstrapError::Invalid)?;
    let mut cx = Ctx { api, url, dry_run: opts.dry_run, report: Report::default() };
    let root = cx.get(Target::Cluster, "/").await?;
    if !root.ok() {
        return Err(cx.fail("connecting", "/", &root));
    }
    let index = &spec.index;

    // 1. The index template.
    let name = bodies::template_name(index);
    let path = format!("/_index_template/{name}");
    let desired = bodies::index_template(index);
    let live = cx.get(Target::Cluster, &path).await?;
    let live_body = live.body.pointer("/index_templates/0/index_template").cloned();
    match (live.status, live_body) {
        (200, Some(l)) if carried_fingerprint(&l) == carried_fingerprint(&desired) => {
            cx.outcome("index template", &name, Action::Unchanged, "")
        }
        (200, Some(l)) => {
            let detail = diff_detail(&desired, &l);
            cx.write(
                Target::Cluster,
                "PUT",
                &path,
                Some(Body::Json(desired)),
                &format!("updating index template {name}"),
                json!({}),
            )
            .await?;
            cx.outcome("index template", &name, Action::Updated, detail);
        }
        (200 | 404, _) => {
            cx.write(
                Target::Cluster,
                "PUT",
                &path,
                Some(Body::Json(desired)),
                &format!("creating index template {name}"),
                json!({}),
            )
            .await?;
            cx.outcome("index template", &name, Action::Created, index.pattern());
        }
        _ => return Err(cx.fail(&format!("reading index template {name}"), &path, &live)),
    }

    // 2. The ISM policy (before the first index: it attaches only to indices created after it).
    let id = bodies::policy_id(index);
    let path = format!("/_plugins/_ism/policies/{id}");
    let desired = bodies::ism_policy(index);
    let live = cx.get(Target::Cluster, &path).await?;
    match live.status {
        404 => {
            cx.write(
                Target::Cluster,
                "PUT",
                &path,
                Some(Body::Json(desired)),
                &format!("creating ISM policy {id}"),
                json!({}),
            )
            .await?;
            cx.outcome("ISM policy", &id, Action::Created, "");
        }
        200 if carried_fingerprint(&live.body) == carried_fingerprint(&desired) => {
            cx.outcome("ISM policy", &id, Action::Unchanged, "")
        }
        200 => {
            let (seq, term) = (
                live.body.get("_seq_no").cloned().unwrap_or(json!(0)),
                live.body.get("_primary_term").cloned().unwrap_or(json!(1)),
            );
            let detail =
                diff_detail(&desired, &json!({"policy": live.body.get("policy").cloned().unwrap_or_default()}));
            let put = format!("{path}?if_seq_no={seq}&if_primary_term={term}");
            cx.write(
                Target::Cluster,
                "PUT",
                &put,
                Some(Body::Json(desired)),
                &format!("updating ISM policy {id}"),
                json!({}),
            )
            .await?;
            cx.outcome("ISM policy", &id, Action::Updated, detail);
        }
        _ => return Err(cx.fail(&format!("reading ISM policy {id}"), &path, &live)),
    }

    // 3. The first index behind the write alias.
    let alias = &index.alias;
    let live = cx.get(Target::Cluster, &format!("/_alias/{alias}")).await?;
    match live.status {
        200 => cx.outcome(
            "write alias",
            alias,
            Action::Unchanged,
            live.body.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default(),
        ),
        404 => {
            let concrete = cx.get(Target::Cluster, &format!("/{alias}")).await?;
            if concrete.ok() {
                return Err(BootstrapError::Precondition(format!(
                    "an index named {alias} exists, where the write alias {alias} belongs (Firehose probably wrote before the bootstrap \
                     and created it with a dynamic mapping): reindex its documents into {} and delete it, then apply again",
                    index.first_index()
                )));
            }
            let first = index.first_index();
            let path = format!("/{first}");
            let created = if cx.dry_run {
                cx.write(
                    Target::Cluster,
                    "PUT",
                    &path,
                    Some(Body::Json(bodies::first_index(index))),
                    "creating the first index",
                    json!({}),
                )
                .await?
            } else {
                cx.report.writes += 1;
                cx.api.send(Target::Cluster, "PUT", &path, Some(&Body::Json(bodies::first_index(index)))).await?
            };
            if created.ok() {
                cx.outcome("index", &first, Action::Created, format!("write index of {alias}"));
            } else if created.error_type() == Some("resource_already_exists_exception") {
                // The index exists without the alias (an earlier apply stopped halfway): add it.
                let body = json!({"actions": [{"add": {"index": first, "alias": alias, "is_write_index": true}}]});
                cx.write(
                    Target::Cluster,
                    "POST",
                    "/_aliases",
                    Some(Body::Json(body)),
                    &format!("adding alias {alias} to {first}"),
                    json!({}),
                )
                .await?;
                cx.outcome("write alias", alias, Action::Updated, format!("added to {first}"));
            } else {
                return Err(cx.fail(&format!("creating index {first}"), &path, &created));
            }
        }
        _ => return Err(cx.fail(&format!("reading alias {alias}"), "/_alias", &live)),
    }

    // 4. Fine-grained access control: Firehose's role and its mapping.
    if let Some((role, arn)) = &spec.firehose_access {
        for (kind, path, desired) in [
            ("security role", format!("/_plugins/_security/api/roles/{role}"), bodies::firehose_role(index)),
            (
                "role mapping",
                format!("/_plugins/_security/api/rolesmapping/{role}"),
                bodies::firehose_role_mapping(arn),
            ),
        ] {
            let live = cx.get(Target::Cluster, &path).await?;
            let current = live.body.get(role.as_str());
            let action = match (live.status, current) {
                (200, Some(c)) if subset(&desired, c) => None,
                (200, Some(_)) => Some(Action::Updated),
                (404, _) => Some(Action::Created),
                _ => return Err(cx.fail(&format!("reading {kind} {role}"), &path, &live)),
            };
            match action {
                None => cx.outcome(kind, role, Action::Unchanged, ""),
                Some(a) => {
                    let detail = current.map(|c| diff_detail(&desired, c)).unwrap_or_default();
                    cx.write(
                        Target::Cluster,
                        "PUT",
                        &path,
                        Some(Body::Json(desired)),
                        &format!("writing {kind} {role}"),
                        json!({}),
                    )
                    .await?;
                    cx.outcome(kind, role, a, detail);
                }
            }
        }
    }

    // 5. Notification channels, with config_id = the channel's id.
    for c in &spec.channels {
        let path = format!("/_plugins/_notifications/configs/{}", c.id);
        let desired = bodies::channel_config(c);
        let live = cx.get(Target::Cluster, &path).await?;
        let current = live.body.pointer("/config_list/0/config").cloned();
        match (live.status, current) {
            (200, Some(l)) if subset(&desired, &l) => cx.outcome("channel", &c.id, Action::Unchanged, c.kind.as_str()),
            (200, Some(l)) => {
                if l.get("config_type") != desired.get("config_type") {
                    return Err(BootstrapError::Precondition(format!(
                        "channel {} exists with type {}, and a channel's type cannot change: delete it or choose another id",
                        c.id,
                        l.get("config_type").and_then(Value::as_str).unwrap_or("?")
                    )));
                }
                let detail = diff_detail(&mask_secrets(&desired), &mask_secrets(&l));
                cx.write(
                    Target::Cluster,
                    "PUT",
                    &path,
                    Some(Body::Json(json!({"config": desired}))),
                    &format!("updating channel {}", c.id),
                    json!({}),
                )
                .await?;
                cx.outcome("channel", &c.id, Action::Updated, detail);
            }
            (404, _) => {
                let create = bodies::channel_create(c);
                cx.write(
                    Target::Cluster,
                    "POST",
                    "/_plugins/_notifications/configs",
                    Some(Body::Json(create)),
                    &format!("creating channel {}", c.id),
                    json!({"config_id": c.id}),
                )
                .await?;
                cx.outcome("channel", &c.id, Action::Created, c.kind.as_str());
            }
            _ => return Err(cx.fail(&format!("reading channel {}", c.id), &path, &live)),
        }
    }

    // 6. Detectors: only once the index holds documents.
    let mut has_docs = count(&cx, alias).await? > 0;
    if !has_docs && let Some(limit) = opts.wait_for_data {
        let started = Instant::now();
        tracing::info!(alias = %alias, "Waiting for documents before creating the detectors.");
        while !has_docs {
            if started.elapsed() >= limit {
                return Err(BootstrapError::Precondition(format!(
                    "no document reached {alias} within {}: send traffic (Firehose, or the simulator) and apply again",
                    humantime::format_duration(limit)
                )));
            }
            tokio::time::sleep(opts.poll).await;
            has_docs = count(&cx, alias).await? > 0;
        }
    }
    let existing = find_detectors(&cx, spec).await?;
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut waiting: Vec<String> = Vec::new();
    for d in &spec.detection.detectors {
        let desired = bodies::detector(d, &spec.detection, index);
        let name = d.name.as_str();
        match existing.get(name) {
            None if !has_docs => {
                waiting.push(d.name.clone());
                let why = format!("{alias} holds no documents yet (apply --wait-for-data waits for them)");
                cx.outcome("detector", name, Action::Waiting, why);
                continue;
            }
            None => {
                let id = cx.create_detector(name, desired).await?;
                cx.detector_job(name, &id, "_start").await?;
                cx.outcome("detector", name, Action::Created, format!("id {id}, started"));
                ids.insert(d.name.clone(), id);
            }
            Some(id) => {
                let path = format!("{DETECTORS}/{id}?job=true");
                let live = cx.get(Target::Cluster, &path).await?;
                if !live.ok() {
                    return Err(cx.fail(&format!("reading detector {name}"), &path, &live));
                }
                let current = live.body.get("anomaly_detector").cloned().unwrap_or_default();
                let running =
                    live.body.pointer("/anomaly_detector_job/enabled").and_then(Value::as_bool).unwrap_or(false);
                if carried_fingerprint(&current) == carried_fingerprint(&desired) {
                    if running || !has_docs {
                        let state = if running { "running" } else { "stopped" };
                        cx.outcome("detector", name, Action::Unchanged, format!("id {id}, {state}"));
                    } else {
                        cx.detector_job(name, id, "_start").await?;
                        cx.outcome("detector", name, Action::Started, format!("id {id}"));
                    }
                    ids.insert(d.name.clone(), id.clone());
                    continue;
                }
                let detail = diff_detail(&desired, &current);
                // A running detector refuses updates and deletes ("Job is running").
                if running {
                    cx.detector_job(name, id, "_stop").await?;
                }
                let same_category = current.get("category_field").cloned().unwrap_or(json!([]))
                    == desired.get("category_field").cloned().unwrap_or(json!([]));
                let (new_id, action) = if same_category {
                    let path = format!("{DETECTORS}/{id}");
                    let doing = format!("updating detector {name}");
                    cx.write(Target::Cluster, "PUT", &path, Some(Body::Json(desired)), &doing, json!({"_id": id}))
                        .await?;
                    (id.clone(), Action::Updated)
                } else {
                    // category_field is immutable: delete and create again.
                    let doing = format!("deleting detector {name} to change its category fields");
                    cx.write(Target::Cluster, "DELETE", &format!("{DETECTORS}/{id}"), None, &doing, json!({})).await?;
                    (cx.create_detector(name, desired).await?, Action::Recreated)
                };
                if has_docs {
                    cx.detector_job(name, &new_id, "_start").await?;
                }
                cx.outcome("detector", name, action, detail);
                ids.insert(d.name.clone(), new_id);
            }
        }
        if let (Some((start, end)), Some(id)) = (opts.historical, ids.get(name)) {
            let task = cx
                .write(
                    Target::Cluster,
                    "POST",
                    &format!("{DETECTORS}/{id}/_start"),
                    Some(Body::Json(json!({"start_time": start, "end_time": end}))),
                    &format!("starting a historical analysis of detector {name}"),
                    json!({"_id": "{{task}}"}),
                )
                .await?;
            let task = task.body.get("_id").and_then(Value::as_str).unwrap_or("").to_owned();
            cx.outcome("historical", name, Action::Started, format!("task {task}"));
        }
    }

    // 7. Monitors.
    let existing = find_monitors(&cx, spec).await?;
    spec_monitors(&mut cx, spec, &ids, &waiting, &existing).await?;

    // 8. Dashboards saved objects.
    if opts.skip_dashboards {
        cx.outcome("dashboards", bodies::dashboard_id(index), Action::Unchanged, "skipped (--no-dashboards)");
    } else {
        dashboards(&mut cx, spec).await?;
    }
    Ok(cx.report)
}

/// A channel's configuration with its secret values (URLs, which carry tokens, and header values)
/// replaced by a short fingerprint: a diff then shows that a secret changed, never the secret.
pub fn mask_secrets(config: &Value) -> Value {
    let mask = |v: &mut Value| {
        if let Some(text) = v.as_str() {
            *v = json!(format!("(secret {})", &bodies::fingerprint(&json!(text))[..8]));
        }
    };
    let mut out = config.clone();
    for kind in ["slack", "chime", "microsoft_teams", "mattermost", "webhook"] {
        if let Some(url) = out.pointer_mut(&format!("/{kind}/url")) {
            mask(url);
        }
        if let Some(headers) = out.pointer_mut(&format!("/{kind}/header_params")).and_then(Value::as_object_mut) {
            headers.values_mut().for_each(mask);
        }
    }
    out
}

async fn count<A: Api>(cx: &Ctx<'_, A>, alias: &str) -> Result<u64, BootstrapError> {
    let path = format!("/{alias}/_count");
    let r = cx.get(Target::Cluster, &path).await?;
    match r.status {
        200 => Ok(r.body.get("count").and_then(Value::as_u64).unwrap_or(0)),
        // A dry run against an empty cluster: the alias does not exist yet.
        404 => Ok(0),
        _ => Err(cx.fail(&format!("counting documents in {alias}"), &path, &r)),
    }
}

/// Detector ids by name. The contract does not say how the plugin's config index maps `name`, so
/// the search asks for every detector (a cluster holds at most 1,000 single-stream detectors by
/// default) and the names are matched exactly here; a missed match would otherwise turn into a
/// create that the server refuses with 409.
async fn find_detectors<A: Api>(cx: &Ctx<'_, A>, spec: &Spec) -> Result<HashMap<String, String>, BootstrapError> {
    let path = &format!("{DETECTORS}/_search");
    let r = cx.search(path, json!({"size": 10_000, "query": {"match_all": {}}, "_source": ["name"]})).await?;
    let wanted: Vec<&str> = spec.detection.detectors.iter().map(|d| d.name.as_str()).collect();
    match r.status {
        200 => Ok(hits(&r, "name").into_iter().filter(|(n, _)| wanted.contains(&n.as_str())).collect()),
        // No detector was ever created, so the plugin's config index does not exist yet.
        404 if r.error_type() == Some("index_not_found_exception") => Ok(HashMap::new()),
        _ => Err(cx.fail("looking up detectors", path, &r)),
    }
}

/// Monitor ids by name.
async fn find_monitors<A: Api>(cx: &Ctx<'_, A>, spec: &Spec) -> Result<HashMap<String, String>, BootstrapError> {
    let names: Vec<&str> = spec.detection.monitors.iter().map(|m| m.name.as_str()).collect();
    let path = "/_plugins/_alerting/monitors/_search";
    let r = cx.search(path, json!({"size": 1000, "query": {"terms": {"monitor.name.keyword": names}}})).await?;
    match r.status {
        200 => Ok(hits(&r, "name")),
        404 if r.error_type() == Some("index_not_found_exception") => Ok(HashMap::new()),
        _ => Err(cx.fail("looking up monitors", path, &r)),
    }
}

/// `{name: _id}` from a search answer; a monitor's fields sit under `_source.monitor`.
fn hits(r: &Reply, field: &str) -> HashMap<String, String> {
    r.body
        .pointer("/hits/hits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            let source = h.get("_source")?;
            let name = source.pointer(&format!("/monitor/{field}")).or_else(|| source.get(field))?.as_str()?;
            Some((name.to_owned(), h.get("_id")?.as_str()?.to_owned()))
        })
        .collect()
}

async fn spec_monitors<A: Api>(
    cx: &mut Ctx<'_, A>,
    spec: &Spec,
    ids: &HashMap<String, String>,
    waiting: &[String],
    existing: &HashMap<String, String>,
) -> Result<(), BootstrapError> {
    let bodies_by_name: Vec<(String, Option<Value>, Option<String>)> = spec.with_site(|site| {
        spec.detection
            .monitors
            .iter()
            .map(|m| match &m.kind {
                MonitorKind::Anomaly { detector, .. } => {
                    let name = &spec.detection.detectors[*detector].name;
                    match ids.get(name) {
                        Some(id) => {
                            (m.name.clone(), Some(bodies::monitor(m, &spec.detection, &spec.index, site, id)), None)
                        }
                        None => (m.name.clone(), None, Some(name.clone())),
                    }
                }
                MonitorKind::Count { .. } => {
                    (m.name.clone(), Some(bodies::monitor(m, &spec.detection, &spec.index, site, "")), None)
                }
            })
            .collect()
    });
    let base = "/_plugins/_alerting/monitors";
    for (name, body, waits_for) in bodies_by_name {
        let Some(desired) = body else {
            let det = waits_for.unwrap_or_default();
            let why = if waiting.contains(&det) {
                format!("its detector {det} waits for documents")
            } else {
                format!("its detector {det} has no id")
            };
            cx.outcome("monitor", &name, Action::Waiting, why);
            continue;
        };
        match existing.get(&name) {
            None => {
                let r = cx
                    .write(
                        Target::Cluster,
                        "POST",
                        base,
                        Some(Body::Json(desired)),
                        &format!("creating monitor {name}"),
                        json!({"_id": "{{monitor}}"}),
                    )
                    .await?;
                cx.outcome(
                    "monitor",
                    &name,
                    Action::Created,
                    format!("id {}", r.body.get("_id").and_then(Value::as_str).unwrap_or("")),
                );
            }
            Some(id) => {
                let path = format!("{base}/{id}");
                let live = cx.get(Target::Cluster, &path).await?;
                if !live.ok() {
                    return Err(cx.fail(&format!("reading monitor {name}"), &path, &live));
                }
                let current = live.body.get("monitor").cloned().unwrap_or_default();
                if carried_fingerprint(&current) == carried_fingerprint(&desired) {
                    cx.outcome("monitor", &name, Action::Unchanged, format!("id {id}"));
                } else {
                    let detail = diff_detail(&desired, &current);
                    let (seq, term) = (
                        live.body.get("_seq_no").cloned().unwrap_or(json!(0)),
                        live.body.get("_primary_term").cloned().unwrap_or(json!(1)),
                    );
                    cx.write(
                        Target::Cluster,
                        "PUT",
                        &format!("{path}?if_seq_no={seq}&if_primary_term={term}"),
                        Some(Body::Json(desired)),
                        &format!("updating monitor {name}"),
                        json!({"_id": id}),
                    )
                    .await?;
                    cx.outcome("monitor", &name, Action::Updated, detail);
                }
            }
        }
    }
    Ok(())
}

async fn dashboards<A: Api>(cx: &mut Ctx<'_, A>, spec: &Spec) -> Result<(), BootstrapError> {
    let objects = bodies::saved_objects(&spec.detection, &spec.index);
    let prefix = &spec.dashboards.prefix;
    let mut stale = Vec::new();
    for o in &objects {
        let (t, id) = (o["type"].as_str().unwrap_or(""), o["id"].as_str().unwrap_or(""));
        let path = format!("{prefix}/api/saved_objects/{t}/{id}");
        let live = cx.get(Target::Dashboards, &path).await?;
        let same = live.status == 200
            && subset(&o["attributes"], &live.body["attributes"])
            && subset(&o["references"], live.body.get("references").unwrap_or(&json!([])));
        match live.status {
            200 | 404 => {}
            _ => return Err(cx.fail(&format!("reading Dashboards {t} {id}"), &path, &live)),
        }
        if !same {
            stale.push((o.clone(), live.status == 200));
        }
    }
    let dashboard = bodies::dashboard_id(&spec.index);
    if stale.is_empty() {
        cx.outcome("dashboards", &dashboard, Action::Unchanged, format!("{} saved objects", objects.len()));
        return Ok(());
    }
    let ndjson = bodies::saved_objects_ndjson(&stale.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>());
    let path = spec.import_path();
    let r = cx
        .write(
            Target::Dashboards,
            "POST",
            &path,
            Some(Body::Ndjson(ndjson.clone())),
            "importing Dashboards saved objects",
            json!({"success": true}),
        )
        .await?;
    if r.body.get("success").and_then(Value::as_bool) != Some(true) {
        // Signed POSTs may lose their query string (overwrite=true): delete what conflicts and
        // import again, so the outcome never depends on it.
        let conflicts: Vec<(String, String)> = r
            .body
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| e.pointer("/error/type").and_then(Value::as_str) == Some("conflict"))
            .filter_map(|e| Some((e.get("type")?.as_str()?.to_owned(), e.get("id")?.as_str()?.to_owned())))
            .collect();
        if conflicts.is_empty() {
            return Err(BootstrapError::Refused {
                doing: "importing Dashboards saved objects".into(),
                explanation: r.body.get("errors").map(Value::to_string).unwrap_or_else(|| r.reason()),
            });
        }
        for (t, id) in conflicts {
            cx.write(
                Target::Dashboards,
                "DELETE",
                &format!("{prefix}/api/saved_objects/{t}/{id}"),
                None,
                &format!("replacing Dashboards {t} {id}"),
                json!({}),
            )
            .await?;
        }
        let again = cx
            .write(
                Target::Dashboards,
                "POST",
                &path,
                Some(Body::Ndjson(ndjson)),
                "importing Dashboards saved objects",
                json!({"success": true}),
            )
            .await?;
        if again.body.get("success").and_then(Value::as_bool) != Some(true) {
            return Err(BootstrapError::Refused {
                doing: "importing Dashboards saved objects".into(),
                explanation: again.reason(),
            });
        }
    }
    let updated = stale.iter().filter(|(_, existed)| *existed).count();
    let action = if updated == 0 { Action::Created } else { Action::Updated };
    cx.outcome("dashboards", &dashboard, action, format!("{} of {} saved objects written", stale.len(), objects.len()));
    Ok(())
}

/// One detector's state and its most recent anomalies; one monitor's active alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusLine {
    /// `detector` or `monitor`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `INIT`, `DISABLED`, `missing`; or for monitors `enabled`/`disabled`/`missing`.
    pub state: String,
    /// Detectors: the latest anomalies (time, grade, entity); monitors: the active alerts.
    pub items: Vec<String>,
}

/// `status`: each detector's state and recent anomalies, each monitor's active alerts.
pub async fn status<A: Api>(api: &A, url: &str, spec: &Spec) -> Result<Vec<StatusLine>, BootstrapError> {
    let cx = Ctx { api, url, dry_run: true, report: Report::default() };
    let mut out = Vec::new();
    let detectors = find_detectors(&cx, spec).await?;
    for d in &spec.detection.detectors {
        let Some(id) = detectors.get(&d.name) else {
            out.push(StatusLine { kind: "detector", name: d.name.clone(), state: "missing".into(), items: vec![] });
            continue;
        };
        let path = format!("{DETECTORS}/{id}/_profile/state");
        let p = cx.get(Target::Cluster, &path).await?;
        if !p.ok() {
            return Err(cx.fail(&format!("reading the state of detector {}", d.name), &path, &p));
        }
        let mut state = p.body.get("state").and_then(Value::as_str).unwrap_or("unknown").to_owned();
        if let Some(e) = p.body.get("error").and_then(Value::as_str) {
            state = format!("{state} ({e})");
        }
        let query = json!({
            "size": 5,
            "sort": [{"execution_end_time": {"order": "desc"}}],
            "query": {"bool": {"filter": [{"term": {"detector_id": id}}, {"range": {"anomaly_grade": {"gt": 0}}}]}},
        });
        let r = cx.search(&format!("{DETECTORS}/results/_search"), query).await?;
        let items = r
            .body
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| h.get("_source"))
            .map(|s| {
                let when = s
                    .get("data_start_time")
                    .and_then(Value::as_i64)
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                let entity = s
                    .get("entity")
                    .and_then(Value::as_array)
                    .map(|e| {
                        e.iter()
                            .filter_map(|v| {
                                Some(format!(" {}={}", v.get("name")?.as_str()?, v.get("value")?.as_str()?))
                            })
                            .collect::<String>()
                    })
                    .unwrap_or_default();
                format!(
                    "{when} grade {:.2}, confidence {:.2}{entity}",
                    s.get("anomaly_grade").and_then(Value::as_f64).unwrap_or(0.0),
                    s.get("confidence").and_then(Value::as_f64).unwrap_or(0.0)
                )
            })
            .collect();
        out.push(StatusLine { kind: "detector", name: d.name.clone(), state, items });
    }
    let monitors = find_monitors(&cx, spec).await?;
    for m in &spec.detection.monitors {
        let Some(id) = monitors.get(&m.name) else {
            out.push(StatusLine { kind: "monitor", name: m.name.clone(), state: "missing".into(), items: vec![] });
            continue;
        };
        let path = format!("/_plugins/_alerting/monitors/alerts?monitorId={id}&alertState=ACTIVE");
        let r = cx.get(Target::Cluster, &path).await?;
        if !r.ok() {
            return Err(cx.fail(&format!("reading the alerts of monitor {}", m.name), &path, &r));
        }
        let items = r
            .body
            .get("alerts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|a| {
                let since = a
                    .get("start_time")
                    .and_then(Value::as_i64)
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                let keys = a.pointer("/agg_alert_content/bucket_keys").map(|k| format!(" {k}")).unwrap_or_default();
                format!(
                    "active since {since}, severity {}{keys}",
                    a.get("severity").and_then(Value::as_str).unwrap_or("?")
                )
            })
            .collect::<Vec<_>>();
        let state = if items.is_empty() { "ok".to_owned() } else { format!("{} active alert(s)", items.len()) };
        out.push(StatusLine { kind: "monitor", name: m.name.clone(), state, items });
    }
    Ok(out)
}

/// Renders `status` for people.
pub fn render_status(lines: &[StatusLine]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&format!("{:<9} {:<32} {}\n", l.kind, l.name, l.state));
        for i in &l.items {
            s.push_str(&format!("{:<42} {i}\n", ""));
        }
    }
    s
}

fn managed(v: &Value) -> bool {
    v.pointer("/_meta/managed_by").and_then(Value::as_str) == Some(MANAGED_BY)
        || v.pointer("/ui_metadata/wafwatch/managed_by").and_then(Value::as_str) == Some(MANAGED_BY)
        || ["/description", "/policy/description", "/attributes/description"]
            .iter()
            .any(|p| v.pointer(p).and_then(Value::as_str).is_some_and(|d| d.contains("managed by wafwatch")))
}

/// `destroy`: removes what apply created and carries wafwatch's mark, in reverse order. Indices and
/// documents are never deleted.
pub async fn destroy<A: Api>(api: &A, url: &str, spec: &Spec, skip_dashboards: bool) -> Result<Report, BootstrapError> {
    let mut cx = Ctx { api, url, dry_run: false, report: Report::default() };
    let index = &spec.index;
    if !skip_dashboards {
        let prefix = spec.dashboards.prefix.clone();
        for o in bodies::saved_objects(&spec.detection, index).iter().rev() {
            let (t, id) = (o["type"].as_str().unwrap_or(""), o["id"].as_str().unwrap_or(""));
            let path = format!("{prefix}/api/saved_objects/{t}/{id}");
            let live = cx.get(Target::Dashboards, &path).await?;
            if live.status == 200 && (t == "index-pattern" || managed(&live.body)) {
                cx.write(
                    Target::Dashboards,
                    "DELETE",
                    &path,
                    None,
                    &format!("deleting Dashboards {t} {id}"),
                    json!({}),
                )
                .await?;
                cx.outcome("saved object", format!("{t} {id}"), Action::Deleted, "");
            }
        }
    }
    let monitors = find_monitors(&cx, spec).await?;
    for m in &spec.detection.monitors {
        if let Some(id) = monitors.get(&m.name) {
            let path = format!("/_plugins/_alerting/monitors/{id}");
            let live = cx.get(Target::Cluster, &path).await?;
            if managed(live.body.get("monitor").unwrap_or(&Value::Null)) {
                cx.write(Target::Cluster, "DELETE", &path, None, &format!("deleting monitor {}", m.name), json!({}))
                    .await?;
                cx.outcome("monitor", &m.name, Action::Deleted, format!("id {id}"));
            } else {
                cx.outcome("monitor", &m.name, Action::Kept, "not created by wafwatch");
            }
        }
    }
    let detectors = find_detectors(&cx, spec).await?;
    for d in &spec.detection.detectors {
        if let Some(id) = detectors.get(&d.name) {
            let base = format!("{DETECTORS}/{id}");
            let live = cx.get(Target::Cluster, &format!("{base}?job=true")).await?;
            if !managed(live.body.get("anomaly_detector").unwrap_or(&Value::Null)) {
                cx.outcome("detector", &d.name, Action::Kept, "not created by wafwatch");
                continue;
            }
            if live.body.pointer("/anomaly_detector_job/enabled").and_then(Value::as_bool) == Some(true) {
                cx.detector_job(&d.name, id, "_stop").await?;
            }
            cx.write(Target::Cluster, "DELETE", &base, None, &format!("deleting detector {}", d.name), json!({}))
                .await?;
            cx.outcome("detector", &d.name, Action::Deleted, format!("id {id}"));
        }
    }
    for c in &spec.channels {
        let path = format!("/_plugins/_notifications/configs/{}", c.id);
        let live = cx.get(Target::Cluster, &path).await?;
        if live.status != 200 {
            continue;
        }
        if managed(live.body.pointer("/config_list/0/config").unwrap_or(&Value::Null)) {
            cx.write(Target::Cluster, "DELETE", &path, None, &format!("deleting channel {}", c.id), json!({})).await?;
            cx.outcome("channel", &c.id, Action::Deleted, "");
        } else {
            cx.outcome("channel", &c.id, Action::Kept, "not created by wafwatch");
        }
    }
    if let Some((role, _)) = &spec.firehose_access {
        let path = format!("/_plugins/_security/api/roles/{role}");
        let live = cx.get(Target::Cluster, &path).await?;
        if live.status == 200 && managed(live.body.get(role.as_str()).unwrap_or(&Value::Null)) {
            let mapping = format!("/_plugins/_security/api/rolesmapping/{role}");
            if cx.get(Target::Cluster, &mapping).await?.status == 200 {
                cx.write(
                    Target::Cluster,
                    "DELETE",
                    &mapping,
                    None,
                    &format!("deleting role mapping {role}"),
                    json!({}),
                )
                .await?;
            }
            cx.write(Target::Cluster, "DELETE", &path, None, &format!("deleting security role {role}"), json!({}))
                .await?;
            cx.outcome("security role", role, Action::Deleted, "and its mapping");
        }
    }
    let id = bodies::policy_id(index);
    let path = format!("/_plugins/_ism/policies/{id}");
    let live = cx.get(Target::Cluster, &path).await?;
    if live.status == 200 && managed(&live.body) {
        cx.write(Target::Cluster, "DELETE", &path, None, &format!("deleting ISM policy {id}"), json!({})).await?;
        cx.outcome("ISM policy", &id, Action::Deleted, "");
    }
    let name = bodies::template_name(index);
    let path = format!("/_index_template/{name}");
    let live = cx.get(Target::Cluster, &path).await?;
    if live.status == 200 && live.body.pointer("/index_templates/0/index_template").is_some_and(managed) {
        cx.write(Target::Cluster, "DELETE", &path, None, &format!("deleting index template {name}"), json!({})).await?;
        cx.outcome("index template", &name, Action::Deleted, "");
    }
    cx.outcome("index", index.pattern(), Action::Kept, "your documents: delete them yourself if you mean to");
    Ok(cx.report)
}
