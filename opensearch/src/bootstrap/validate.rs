//! The request builder's validation rules (contract §9), checked on the requests themselves before
//! any is sent.
//!
//! The configuration is validated when it is loaded; this second check looks at the JSON that would
//! go on the wire, in plan order, so a bug in a body builder (or a hand-edited plan) is caught here
//! rather than by a cluster that answers a validation failure with a 500. Every problem names the
//! contract's rule number, the request and what is wrong.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Body, Request};
use wafwatch_config::channel::{valid_http_url, valid_iam_role_arn, valid_sns_topic_arn};

/// Notifications channel types (`config_type` tags).
const CHANNEL_TYPES: [&str; 10] = [
    "slack",
    "chime",
    "microsoft_teams",
    "webhook",
    "email",
    "sns",
    "ses_account",
    "smtp_account",
    "email_group",
    "mattermost",
];
/// Alerting monitor types.
const MONITOR_TYPES: [&str; 5] =
    ["query_level_monitor", "bucket_level_monitor", "cluster_metrics_monitor", "doc_level_monitor", "ppl_monitor"];
/// Keys an alerting action may have; any other is a 500.
const ACTION_KEYS: [&str; 8] = [
    "id",
    "name",
    "destination_id",
    "subject_template",
    "message_template",
    "throttle_enabled",
    "throttle",
    "action_execution_policy",
];
/// Suppression rule threshold types.
const THRESHOLD_TYPES: [&str; 6] = [
    "actual_over_expected_margin",
    "expected_over_actual_margin",
    "actual_over_expected_ratio",
    "expected_over_actual_ratio",
    "actual_is_over_expected",
    "actual_is_below_expected",
];
/// Dashboards import limits.
pub const MAX_IMPORT_BYTES: usize = 26_214_400;
/// At most this many saved objects per import.
pub const MAX_IMPORT_OBJECTS: usize = 10_000;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The contract's rule number (§9).
    pub rule: u8,
    /// `METHOD path` of the request.
    pub request: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule {}: {}: {}", self.rule, self.request, self.message)
    }
}

/// What the requests before the current one established.
#[derive(Default)]
struct Seen {
    /// Field types of every index template sent, by dotted name.
    mappings: HashMap<String, String>,
    /// Index patterns and priorities of the templates sent.
    templates: Vec<(String, Vec<String>, i64)>,
    /// Channel config ids created or updated.
    channels: HashSet<String>,
    /// The rollover alias of the templates, and the indices created with aliases.
    rollover_aliases: HashSet<String>,
}

struct Check<'a> {
    request: String,
    problems: &'a mut Vec<Problem>,
}

impl Check<'_> {
    fn fail(&mut self, rule: u8, message: impl Into<String>) {
        self.problems.push(Problem { rule, request: self.request.clone(), message: message.into() });
    }
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn period_ok(v: Option<&Value>, allow_zero: bool) -> bool {
    let Some(p) = v.and_then(|v| v.get("period")) else { return false };
    let interval_ok = p.get("interval").and_then(Value::as_i64).is_some_and(|i| i > 0 || (allow_zero && i == 0));
    let unit_ok = p.get("unit").and_then(Value::as_str).is_some_and(|u| {
        let u = u.to_ascii_uppercase();
        u == "MINUTES" || u == "SECONDS"
    });
    interval_ok && unit_ok
}

fn flatten_mapping(props: &Value, prefix: &str, out: &mut HashMap<String, String>) {
    let Some(map) = props.as_object() else { return };
    for (k, v) in map {
        let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if let Some(t) = v.get("type").and_then(Value::as_str) {
            out.insert(name.clone(), t.to_owned());
        }
        if let Some(p) = v.get("properties") {
            flatten_mapping(p, &name, out);
        }
    }
}

fn patterns_overlap(a: &str, b: &str) -> bool {
    let stem = |p: &str| p.split('*').next().unwrap_or("").to_owned();
    let (sa, sb) = (stem(a), stem(b));
    sa.starts_with(&sb) || sb.starts_with(&sa)
}

/// Checks every request, in order, against the contract's rules.
pub fn validate(requests: &[Request]) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut seen = Seen::default();
    for r in requests {
        let mut c = Check { request: format!("{} {}", r.method, r.path), problems: &mut problems };
        let path = r.path.split('?').next().unwrap_or("");
        let query = r.path.split_once('?').map_or("", |(_, q)| q);
        match (&r.body, r.method.as_str()) {
            (Some(Body::Json(b)), "PUT") if path.starts_with("/_index_template/") => template(b, &mut seen, &mut c),
            (Some(Body::Json(b)), "PUT") if path.starts_with("/_plugins/_ism/policies/") => policy(b, &mut c),
            (Some(Body::Json(b)), "POST") if path == "/_plugins/_notifications/configs" => {
                channel(b, true, &mut c);
                if let Some(id) = str_at(b, "/config_id") {
                    seen.channels.insert(id.to_owned());
                }
            }
            (Some(Body::Json(b)), "PUT") if path.starts_with("/_plugins/_notifications/configs/") => {
                channel(b, false, &mut c);
                seen.channels.insert(path.trim_start_matches("/_plugins/_notifications/configs/").to_owned());
            }
            (Some(Body::Json(b)), "POST" | "PUT")
                if path.starts_with("/_plugins/_anomaly_detection/detectors")
                    && !path.contains("/_start")
                    && !path.contains("/_stop")
                    && !path.contains("/_search") =>
            {
                detector(b, &seen, &mut c)
            }
            (Some(Body::Json(b)), "POST") if path.ends_with("/_start") => {
                let (s, e) = (b.get("start_time").and_then(Value::as_i64), b.get("end_time").and_then(Value::as_i64));
                if !matches!((s, e), (Some(s), Some(e)) if e > s) {
                    c.fail(
                        6,
                        "a historical analysis needs start_time and end_time in epoch milliseconds, end after start",
                    );
                }
            }
            (Some(Body::Json(b)), "POST" | "PUT")
                if path.starts_with("/_plugins/_alerting/monitors") && !path.contains("/_search") =>
            {
                monitor(b, &seen, &mut c)
            }
            (Some(Body::Json(b)), "PUT") if !path.starts_with("/_") && path.matches('/').count() == 1 => {
                first_index(path.trim_start_matches('/'), b, &mut seen, &mut c)
            }
            (Some(Body::Ndjson(text)), "POST") if path.ends_with("/api/saved_objects/_import") => {
                saved_objects(text, query, &mut c)
            }
            _ => {}
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn template(b: &Value, seen: &mut Seen, c: &mut Check<'_>) {
    let patterns: Vec<String> = b
        .get("index_patterns")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if patterns.is_empty() {
        c.fail(17, "index_patterns is empty");
    }
    let priority = b.get("priority").and_then(Value::as_i64).unwrap_or(0);
    for (name, other, p) in &seen.templates {
        if *p == priority && patterns.iter().any(|a| other.iter().any(|o| patterns_overlap(a, o))) {
            c.fail(17, format!("priority {priority} is also the priority of template {name}, whose patterns overlap"));
        }
    }
    let mappings = b.pointer("/template/mappings");
    if let Some(m) = mappings.and_then(Value::as_object)
        && m.keys()
            .any(|k| k != "dynamic" && k != "properties" && k != "_source" && k != "dynamic_templates" && k != "_meta")
    {
        c.fail(17, "mappings must be typeless (only dynamic, properties, _source, dynamic_templates, _meta)");
    }
    if let Some(props) = mappings.and_then(|m| m.get("properties")) {
        flatten_mapping(props, "", &mut seen.mappings);
    }
    if let Some(alias) = str_at(b, "/template/settings/plugins.index_state_management.rollover_alias") {
        seen.rollover_aliases.insert(alias.to_owned());
    }
    seen.templates.push((c.request.clone(), patterns, priority));
}

fn policy(b: &Value, c: &mut Check<'_>) {
    let p = b.get("policy").unwrap_or(&Value::Null);
    let states = p.get("states").and_then(Value::as_array).cloned().unwrap_or_default();
    if states.is_empty() {
        c.fail(18, "a policy needs at least one state");
    }
    let names: Vec<&str> = states.iter().filter_map(|s| s.get("name").and_then(Value::as_str)).collect();
    let unique: HashSet<&&str> = names.iter().collect();
    if unique.len() != names.len() {
        c.fail(18, "state names must be unique");
    }
    match str_at(p, "/default_state") {
        Some(d) if names.contains(&d) => {}
        other => c.fail(18, format!("default_state {other:?} names no state")),
    }
    for s in &states {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
        let actions = s.get("actions").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(pos) = actions.iter().position(|a| a.get("delete").is_some()) {
            if pos + 1 != actions.len() {
                c.fail(18, format!("state {name}: nothing may follow a delete action"));
            }
            if s.get("transitions").and_then(Value::as_array).is_some_and(|t| !t.is_empty()) {
                c.fail(18, format!("state {name} deletes the index, so it can have no transitions"));
            }
        }
        for a in &actions {
            if let Some(ro) = a.get("rollover").and_then(Value::as_object) {
                for (k, v) in ro {
                    let positive = match v {
                        Value::Number(n) => n.as_f64().is_some_and(|n| n > 0.0),
                        Value::String(t) => t
                            .trim_start_matches(|ch: char| !ch.is_ascii_digit())
                            .chars()
                            .next()
                            .is_some_and(|d| d != '0'),
                        _ => true,
                    };
                    if !positive {
                        c.fail(18, format!("state {name}: rollover {k} must be greater than 0"));
                    }
                }
            }
        }
        for t in s.get("transitions").and_then(Value::as_array).into_iter().flatten() {
            let target = t.get("state_name").and_then(Value::as_str).unwrap_or("");
            if !names.contains(&target) {
                c.fail(18, format!("state {name}: transition to {target:?}, which is not a state"));
            }
            if t.get("conditions").and_then(Value::as_object).is_some_and(|m| m.len() > 1) {
                c.fail(18, format!("state {name}: a transition has at most one condition"));
            }
        }
    }
    let templates: Vec<&Value> = match p.get("ism_template") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    };
    for t in templates {
        if t.get("index_patterns").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            c.fail(18, "ism_template needs index_patterns");
        }
        if t.get("priority").and_then(Value::as_i64).is_some_and(|p| p < 0) {
            c.fail(18, "ism_template priority must be 0 or more");
        }
    }
}

fn first_index(name: &str, b: &Value, seen: &mut Seen, c: &mut Check<'_>) {
    if let Some(aliases) = b.get("aliases").and_then(Value::as_object) {
        for alias in aliases.keys() {
            if seen.rollover_aliases.contains(alias) && name != format!("{alias}-000001") {
                c.fail(18, format!("the first index behind rollover alias {alias} must be named {alias}-000001"));
            }
        }
    }
}

fn channel(b: &Value, create: bool, c: &mut Check<'_>) {
    if let Some(top) = b.as_object() {
        let allowed: &[&str] = if create { &["config_id", "config"] } else { &["config"] };
        if let Some(k) = top.keys().find(|k| !allowed.contains(&k.as_str())) {
            c.fail(16, format!("top-level key {k} is ignored by the server; only config_id and config are read"));
        }
    }
    if create {
        match str_at(b, "/config_id") {
            Some(id) if !id.is_empty() && id.bytes().all(|x| x.is_ascii_alphanumeric() || b"+/_-".contains(&x)) => {}
            other => c.fail(16, format!("config_id {other:?} may hold only letters, digits, +, /, _ and -")),
        }
    }
    let cfg = b.get("config").unwrap_or(&Value::Null);
    if str_at(cfg, "/name").is_none_or(str::is_empty) {
        c.fail(16, "config.name must be non-empty");
    }
    let kind = str_at(cfg, "/config_type").unwrap_or("");
    if !CHANNEL_TYPES.contains(&kind) {
        c.fail(16, format!("config_type {kind:?} is not a channel type"));
        return;
    }
    let Some(payload) = cfg.get(kind) else {
        c.fail(16, format!("the payload object must be keyed by the config_type {kind}"));
        return;
    };
    let placeholder = |v: &str| v.starts_with("{{");
    match kind {
        "sns" => {
            let topic = str_at(payload, "/topic_arn").unwrap_or("");
            if !placeholder(topic) && !valid_sns_topic_arn(topic) {
                c.fail(16, format!("sns.topic_arn {topic:?} is not an SNS topic ARN"));
            }
            if let Some(role) = str_at(payload, "/role_arn")
                && !placeholder(role)
                && !valid_iam_role_arn(role)
            {
                c.fail(16, format!("sns.role_arn {role:?} is not an IAM role ARN"));
            }
        }
        "slack" | "chime" | "microsoft_teams" | "mattermost" | "webhook" => {
            let url = str_at(payload, "/url").unwrap_or("");
            if !placeholder(url) && !valid_http_url(url) {
                c.fail(16, format!("{kind}.url is not an http or https URL"));
            }
            if kind == "webhook"
                && let Some(m) = str_at(payload, "/method")
                && !["POST", "PUT", "PATCH"].contains(&m)
            {
                c.fail(16, format!("webhook.method {m} is not POST, PUT or PATCH"));
            }
        }
        "email" => {
            let recipients = payload.get("recipient_list").and_then(Value::as_array).cloned().unwrap_or_default();
            if recipients.iter().any(|r| r.get("recipient").and_then(Value::as_str).is_none()) {
                c.fail(16, "email recipients are objects {\"recipient\": address}, not strings");
            }
        }
        _ => {}
    }
}

fn detector(b: &Value, seen: &Seen, c: &mut Check<'_>) {
    let name = str_at(b, "/name").unwrap_or("");
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|x| x.is_ascii_alphanumeric() || b"._-".contains(&x)) {
        c.fail(1, format!("detector name {name:?} must be 1 to 64 of letters, digits, ., _ and -"));
    }
    if str_at(b, "/description").is_some_and(|d| d.chars().count() > 1000) {
        c.fail(2, "description is over 1,000 characters");
    }
    let field_type = |f: &str| seen.mappings.get(f).map(String::as_str);
    match str_at(b, "/time_field") {
        Some(t) if !t.is_empty() && matches!(field_type(t), Some("date" | "date_nanos")) => {}
        other => c.fail(3, format!("time_field {other:?} must be mapped as date in the index template")),
    }
    if b.get("indices").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        c.fail(4, "indices must not be empty");
    }
    let features = b.get("feature_attributes").and_then(Value::as_array).cloned().unwrap_or_default();
    if features.is_empty() || features.len() > 5 {
        c.fail(5, format!("{} features; 1 to 5 are allowed", features.len()));
    }
    let (mut names, mut agg_names) = (HashSet::new(), HashSet::new());
    let mut enabled = Vec::new();
    for f in &features {
        let fname = f.get("feature_name").and_then(Value::as_str).unwrap_or("");
        if fname.trim().is_empty() || !names.insert(fname.to_owned()) {
            c.fail(5, format!("feature name {fname:?} is blank or repeated"));
        }
        match f.get("feature_enabled").and_then(Value::as_bool) {
            Some(true) => enabled.push(fname.to_owned()),
            Some(false) => {}
            None => c.fail(5, format!("feature {fname}: feature_enabled must always be sent")),
        }
        let aggs = f.get("aggregation_query").and_then(Value::as_object).cloned().unwrap_or_default();
        if aggs.len() != 1 {
            c.fail(5, format!("feature {fname}: exactly one aggregation, got {}", aggs.len()));
        }
        for (agg_name, agg) in &aggs {
            if agg_name.is_empty() || !agg_name.bytes().all(|x| x.is_ascii_alphanumeric() || b"_-".contains(&x)) {
                c.fail(5, format!("aggregation name {agg_name:?} must be letters, digits, _ and -"));
            }
            if !agg_names.insert(agg_name.clone()) {
                c.fail(5, format!("aggregation name {agg_name} is repeated"));
            }
            let Some((kind, params)) = agg.as_object().and_then(|o| o.iter().next()) else { continue };
            if !["avg", "sum", "min", "max", "value_count", "cardinality"].contains(&kind.as_str()) {
                c.fail(
                    5,
                    format!("feature {fname}: aggregation {kind} is not a single-value metric the plugin accepts"),
                );
            }
            let field = params.get("field").and_then(Value::as_str).unwrap_or("");
            let numeric = matches!(
                field_type(field),
                Some("byte" | "short" | "integer" | "long" | "float" | "double" | "half_float" | "scaled_float")
            );
            if ["avg", "sum", "min", "max"].contains(&kind.as_str()) && !numeric {
                c.fail(5, format!("feature {fname}: {kind} needs a numeric field; {field} is {:?}", field_type(field)));
            }
            if field_type(field).is_none() {
                c.fail(5, format!("feature {fname}: field {field} is not mapped, so the aggregation returns no data"));
            }
        }
    }
    if !features.is_empty() && enabled.is_empty() {
        c.fail(5, "at least one feature must be enabled");
    }
    if !period_ok(b.get("detection_interval"), false) {
        c.fail(6, "detection_interval must be {\"period\": {\"interval\": > 0, \"unit\": \"Minutes\"}}");
    }
    if b.get("window_delay").is_some() && !period_ok(b.get("window_delay"), true) {
        c.fail(6, "window_delay must be {\"period\": {\"interval\": >= 0, \"unit\": \"Minutes\"}}");
    }
    if let Some(s) = b.get("shingle_size").and_then(Value::as_i64)
        && !(1..=128).contains(&s)
    {
        c.fail(7, format!("shingle_size {s} is not 1 to 128"));
    }
    for (key, lo, hi) in [("suggested_seasonality", 2, 256), ("history", 1, 10_000)] {
        if let Some(v) = b.get(key).and_then(Value::as_i64)
            && !(lo..=hi).contains(&v)
        {
            c.fail(7, format!("{key} {v} is not {lo} to {hi}"));
        }
    }
    if b.get("recency_emphasis").and_then(Value::as_f64).is_some_and(|r| r <= 1.0) {
        c.fail(7, "recency_emphasis must be greater than 1");
    }
    if let Some(cats) = b.get("category_field").and_then(Value::as_array) {
        if cats.len() > 2 {
            c.fail(8, format!("{} category fields; at most 2", cats.len()));
        }
        for cat in cats.iter().filter_map(Value::as_str) {
            if !matches!(field_type(cat), Some("keyword" | "ip")) {
                c.fail(8, format!("category field {cat} must be mapped as keyword or ip, not {:?}", field_type(cat)));
            }
        }
    }
    if let Some(ri) = str_at(b, "/result_index")
        && !(ri.starts_with("opensearch-ad-plugin-result-")
            && ri.len() <= 255
            && ri.bytes().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'_' || x == b'-'))
    {
        c.fail(9, format!("result_index {ri} must start opensearch-ad-plugin-result- and hold only a-z, 0-9, _ and -"));
    }
    for r in b.get("rules").and_then(Value::as_array).into_iter().flatten() {
        if str_at(r, "/action") != Some("ignore_anomaly") {
            c.fail(10, "a rule's action is ignore_anomaly");
        }
        for cond in r.get("conditions").and_then(Value::as_array).into_iter().flatten() {
            let feature = str_at(cond, "/feature_name").unwrap_or("");
            if !enabled.iter().any(|e| e == feature) {
                c.fail(10, format!("rule condition on {feature:?}, which is not an enabled feature"));
            }
            let t = str_at(cond, "/threshold_type").unwrap_or("");
            if !THRESHOLD_TYPES.contains(&t) {
                c.fail(10, format!("threshold_type {t:?} is unknown"));
            } else if t.starts_with("actual_is_") {
                if cond.get("operator").is_some() || cond.get("value").is_some() {
                    c.fail(10, format!("{t} takes no operator and no value"));
                }
            } else {
                if str_at(cond, "/operator") != Some("LTE") {
                    c.fail(10, "the only operator is LTE");
                }
                if !cond.get("value").and_then(Value::as_f64).is_some_and(|v| v > 0.0) {
                    c.fail(10, format!("{t} needs a value greater than 0"));
                }
            }
        }
    }
    if let Some(imp) = b.get("imputation_option") {
        match str_at(imp, "/method") {
            Some("zero" | "previous") => {}
            Some("fixed_values") => {
                let fills = imp.get("default_fill").and_then(Value::as_array).map_or(0, Vec::len);
                if fills != enabled.len() {
                    c.fail(11, "fixed_values needs one default_fill per enabled feature");
                }
            }
            other => c.fail(11, format!("imputation method {other:?} is not zero, fixed_values or previous")),
        }
    }
    for key in ["user", "last_update_time", "schema_version", "detector_type"] {
        if b.get(key).is_some() {
            c.fail(12, format!("{key} is owned by the server; do not send it"));
        }
    }
}

fn monitor(b: &Value, seen: &Seen, c: &mut Check<'_>) {
    let kind = str_at(b, "/monitor_type").unwrap_or("query_level_monitor");
    if !MONITOR_TYPES.contains(&kind) {
        c.fail(13, format!("monitor_type {kind} is not one of the five types"));
    }
    if str_at(b, "/name").is_none_or(|n| n.is_empty() || n.chars().count() > 100) {
        c.fail(13, "name must be 1 to 100 characters");
    }
    let inputs = b.get("inputs").and_then(Value::as_array).cloned().unwrap_or_default();
    if inputs.len() != 1 {
        c.fail(13, format!("{} inputs; a monitor has exactly 1", inputs.len()));
    }
    match b.get("schedule").and_then(Value::as_object) {
        Some(s) if s.len() == 1 && s.contains_key("period") => {
            let ok_unit = str_at(b, "/schedule/period/unit")
                .is_some_and(|u| ["SECONDS", "MINUTES", "HOURS", "DAYS"].contains(&u));
            let ok_interval = b.pointer("/schedule/period/interval").and_then(Value::as_i64).is_some_and(|i| i > 0);
            if !(ok_unit && ok_interval) {
                c.fail(13, "schedule.period needs interval > 0 and unit SECONDS, MINUTES, HOURS or DAYS");
            }
        }
        Some(s) if s.len() == 1 && s.contains_key("cron") => {
            if str_at(b, "/schedule/cron/expression").is_none() || str_at(b, "/schedule/cron/timezone").is_none() {
                c.fail(13, "schedule.cron needs expression and timezone");
            }
        }
        _ => c.fail(13, "schedule must have exactly one of period or cron"),
    }
    let triggers = b.get("triggers").and_then(Value::as_array).cloned().unwrap_or_default();
    if triggers.len() > 10 {
        c.fail(13, format!("{} triggers; at most 10", triggers.len()));
    }
    let expected_trigger = match kind {
        "bucket_level_monitor" => "bucket_level_trigger",
        "doc_level_monitor" => "document_level_trigger",
        _ => "query_level_trigger",
    };
    let mut trigger_names = HashSet::new();
    for t in &triggers {
        let inner = t.get(expected_trigger).unwrap_or(t);
        let tname = str_at(inner, "/name").unwrap_or("");
        if tname.is_empty() || str_at(inner, "/severity").is_none() || inner.get("condition").is_none() {
            c.fail(13, "a trigger needs name, severity and condition");
        }
        if !trigger_names.insert(tname.to_owned()) {
            c.fail(13, format!("trigger name {tname} is repeated"));
        }
        if t.as_object().is_some_and(|o| o.len() == 1 && !o.contains_key(expected_trigger)) {
            c.fail(13, format!("a {kind} takes {expected_trigger}s"));
        }
        let lang = inner.pointer("/condition/script/lang").and_then(Value::as_str).unwrap_or("painless");
        if lang != "painless" {
            c.fail(13, format!("condition language {lang}; only painless is accepted"));
        }
        for a in inner.get("actions").and_then(Value::as_array).into_iter().flatten() {
            action(a, kind, seen, c);
        }
    }
    // Rule 14: an AD monitor must keep the shape both Dashboards UIs read.
    let reads_ad =
        inputs.first().and_then(|i| i.pointer("/search/indices")).and_then(Value::as_array).is_some_and(|ix| {
            ix.iter().any(|i| {
                i.as_str()
                    .is_some_and(|s| s.contains("anomaly-results") || s.starts_with("opensearch-ad-plugin-result"))
            })
        });
    if reads_ad || str_at(b, "/ui_metadata/search/searchType") == Some("ad") {
        let input = inputs.first().cloned().unwrap_or(Value::Null);
        let indices = input.pointer("/search/indices").cloned().unwrap_or(Value::Null);
        if indices != serde_json::json!([super::bodies::AD_RESULTS_PATTERN])
            && !indices.as_array().is_some_and(|a| {
                a.len() == 1 && a[0].as_str().is_some_and(|s| s.starts_with("opensearch-ad-plugin-result-"))
            })
        {
            c.fail(14, "an AD monitor's input indices must be exactly [\".opendistro-anomaly-results*\"]");
        }
        let filters =
            input.pointer("/search/query/query/bool/filter").and_then(Value::as_array).cloned().unwrap_or_default();
        if filters.first().and_then(|f| f.pointer("/range/execution_end_time")).is_none() {
            c.fail(14, "bool.filter[0] must be the range on execution_end_time");
        }
        if filters.get(1).and_then(|f| f.pointer("/term/detector_id/value")).is_none() {
            c.fail(14, "bool.filter[1] must be the term on detector_id (the UIs read the detector id there)");
        }
        if input.pointer("/search/query/aggregations/max_anomaly_grade").is_none() {
            c.fail(14, "aggregations.max_anomaly_grade is missing");
        }
        if str_at(b, "/ui_metadata/search/searchType") != Some("ad") {
            c.fail(14, "ui_metadata.search.searchType must be \"ad\"");
        }
        for t in b.pointer("/ui_metadata/triggers").and_then(Value::as_object).into_iter().flat_map(|o| o.values()) {
            for key in ["anomalyGrade", "anomalyConfidence"] {
                let v = t.pointer(&format!("/adTriggerMetadata/{key}/value")).and_then(Value::as_f64);
                if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                    c.fail(14, format!("{key} threshold must lie in [0, 1]"));
                }
            }
        }
    }
}

fn action(a: &Value, monitor_type: &str, seen: &Seen, c: &mut Check<'_>) {
    let Some(o) = a.as_object() else { return };
    if let Some(k) = o.keys().find(|k| !ACTION_KEYS.contains(&k.as_str())) {
        c.fail(15, format!("action key {k} is not allowed (the server answers 500)"));
    }
    for key in ["name", "destination_id", "message_template"] {
        if !o.contains_key(key) {
            c.fail(15, format!("an action needs {key}"));
        }
    }
    for key in ["message_template", "subject_template"] {
        if let Some(lang) = a.pointer(&format!("/{key}/lang")).and_then(Value::as_str)
            && lang != "mustache"
        {
            c.fail(15, format!("{key}.lang must be mustache"));
        }
    }
    if a.get("throttle_enabled").and_then(Value::as_bool) == Some(true) {
        let unit = str_at(a, "/throttle/unit");
        let value = a.pointer("/throttle/value").and_then(Value::as_i64);
        if unit != Some("MINUTES") || !value.is_some_and(|v| (1..=1440).contains(&v)) {
            c.fail(15, "throttle must be {\"value\": 1 to 1440, \"unit\": \"MINUTES\"} when throttle_enabled");
        }
        if monitor_type != "query_level_monitor"
            && a.pointer("/action_execution_policy/action_execution_scope/per_execution").is_some()
        {
            c.fail(15, "throttle is refused with the per_execution scope");
        }
    }
    if let Some(d) = str_at(a, "/destination_id")
        && !seen.channels.contains(d)
    {
        c.fail(15, format!("destination_id {d} is not a channel created earlier in this run"));
    }
}

fn saved_objects(text: &str, query: &str, c: &mut Check<'_>) {
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

/// Rule 20: SigV4 signs for `es` (domains) or `aoss` (Serverless), in a region.
pub fn auth(service: &str, region: Option<&str>) -> Result<(), Problem> {
    let fail = |message: String| Problem { rule: 20, request: "(connection)".into(), message };
    if service != "es" && service != "aoss" {
        return Err(fail(format!("SigV4 service {service} is neither es nor aoss")));
    }
    if region.is_none_or(str::is_empty) {
        return Err(fail("SigV4 needs a region (AWS_REGION or --region)".into()));
    }
    Ok(())
}
