//! The request bodies the bootstrap sends, built from the configuration.
//!
//! Every body follows `contracts/opensearch.md` (the project's copy of the plugins' contracts): the
//! composable index template, the ISM policy, the first index behind the write alias, the security
//! role for Firehose and its mapping, the Notifications channels, the anomaly detectors, the
//! alerting monitors (AD monitors in the shape the Dashboards UIs recognise; query-level and
//! bucket-level monitors over the rule tags) and the Dashboards saved objects.
//!
//! Objects the server may re-serialise (templates, policies, detectors, monitors) carry a
//! fingerprint of the body wafwatch sent, so `apply` can tell "unchanged" from "changed" without
//! depending on how the server normalises what it stores.

use serde_json::{Map, Value, json};
use wafwatch_config::Severity;

use wafwatch_config::channel::{Payload, ResolvedChannel};
use wafwatch_config::detection::{
    Aggregation, Detection, Detector, DocFilter, FeatureSource, Imputation, Monitor, MonitorKind,
};
use wafwatch_config::index::{FieldType, Index};
use wafwatch_message::{Site, template};

/// Marks what wafwatch manages: `_meta.managed_by`, `ui_metadata.wafwatch.managed_by`, and the end
/// of descriptions.
pub const MANAGED_BY: &str = "wafwatch";

/// The AD results index pattern AD monitors read (contract §3.4: exactly this list).
pub const AD_RESULTS_PATTERN: &str = ".opendistro-anomaly-results*";

/// The marker appended to descriptions of objects without a metadata field.
pub fn managed_suffix(fingerprint: &str) -> String {
    format!(" [managed by wafwatch, fingerprint {fingerprint}]")
}

/// FNV-1a, 64 bits, of the body's canonical JSON text (keys sorted): stable across runs and
/// machines.
pub fn fingerprint(body: &Value) -> String {
    let text = body.to_string();
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{h:016x}")
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

/// Names derived from the index alias.
pub fn template_name(index: &Index) -> String {
    format!("wafwatch-{}", index.alias)
}

/// The ISM policy id.
pub fn policy_id(index: &Index) -> String {
    format!("wafwatch-{}", index.alias)
}

fn mapping_for(ty: FieldType) -> Value {
    match ty {
        FieldType::Date => json!({"type": "date", "format": "strict_date_optional_time||epoch_millis"}),
        // Long values are not indexed rather than failing the document.
        FieldType::Keyword => json!({"type": "keyword", "ignore_above": 1024}),
        // A malformed address is not indexed rather than failing the document.
        FieldType::Ip => json!({"type": "ip", "ignore_malformed": true}),
        FieldType::Byte => json!({"type": "byte"}),
        FieldType::NotIndexed => json!({"type": "object", "enabled": false}),
    }
}

/// The mapping's `properties`: dotted names become nested objects.
fn properties(index: &Index) -> Value {
    let mut root = Map::new();
    for (name, ty) in &index.fields {
        let parts: Vec<&str> = if name == "@timestamp" { vec![name.as_str()] } else { name.split('.').collect() };
        let mut node = &mut root;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                node.insert((*part).to_owned(), mapping_for(*ty));
            } else {
                let entry = node.entry((*part).to_owned()).or_insert_with(|| json!({"properties": {}}));
                match entry.pointer_mut("/properties").and_then(Value::as_object_mut) {
                    Some(next) => node = next,
                    None => break,
                }
            }
        }
    }
    Value::Object(root)
}

/// `PUT /_index_template/{name}`.
pub fn index_template(index: &Index) -> Value {
    let mut body = json!({
        "index_patterns": [index.pattern()],
        "priority": index.template_priority,
        "template": {
            "settings": {
                "number_of_shards": index.shards,
                "number_of_replicas": index.replicas,
                "refresh_interval": index.refresh_interval,
                "plugins.index_state_management.rollover_alias": index.alias,
            },
            "mappings": {"dynamic": false, "properties": properties(index)},
        },
        "_meta": {"managed_by": MANAGED_BY, "description": format!("Documents of the {} alias, written by the wafwatch Firehose transformer.", index.alias)},
    });
    let fp = fingerprint(&body);
    body["_meta"]["fingerprint"] = json!(fp);
    body
}

/// `PUT /_plugins/_ism/policies/{id}`.
pub fn ism_policy(index: &Index) -> Value {
    let mut body = json!({"policy": {
        "description": format!(
            "Roll {} over at {} or {}, delete indices after {}.",
            index.alias, index.rollover_size, index.rollover_age, index.retention
        ),
        "default_state": "hot",
        "states": [
            {
                "name": "hot",
                "actions": [{"rollover": {"min_size": index.rollover_size, "min_index_age": index.rollover_age}}],
                "transitions": [{"state_name": "delete", "conditions": {"min_index_age": index.retention}}],
            },
            {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
        ],
        "ism_template": [{"index_patterns": [index.pattern()], "priority": 100}],
    }});
    let fp = fingerprint(&body);
    let description = format!("{}{}", body["policy"]["description"].as_str().unwrap_or(""), managed_suffix(&fp));
    body["policy"]["description"] = json!(description);
    body
}

/// `PUT /{first index}`: the first index, with the write alias.
pub fn first_index(index: &Index) -> Value {
    json!({"aliases": {index.alias.clone(): {"is_write_index": true}}})
}

/// The security role Firehose needs: write documents through the alias, nothing else.
pub fn firehose_role(index: &Index) -> Value {
    json!({
        "description": format!("Firehose delivery into the {} alias (managed by wafwatch)", index.alias),
        "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
        "index_permissions": [{
            "index_patterns": [format!("{}*", index.alias)],
            "allowed_actions": ["crud", "indices:admin/get", "indices:admin/mappings/get"],
        }],
    })
}

/// The role mapping: the Firehose delivery role's ARN as a backend role.
pub fn firehose_role_mapping(role_arn: &str) -> Value {
    json!({"backend_roles": [role_arn], "hosts": [], "users": []})
}

/// The channel's `config` object (what `POST` wraps and `PUT` sends).
pub fn channel_config(c: &ResolvedChannel) -> Value {
    let payload = match &c.payload {
        Payload::Sns { topic_arn, role_arn } => {
            let mut p = json!({"topic_arn": topic_arn});
            if let Some(r) = role_arn {
                p["role_arn"] = json!(r);
            }
            p
        }
        Payload::Url(url) => json!({"url": url}),
        Payload::Webhook { url, method, headers } => json!({"url": url, "method": method, "header_params": headers}),
        Payload::Email { account, recipients } => json!({
            "email_account_id": account,
            "recipient_list": recipients.iter().map(|r| json!({"recipient": r})).collect::<Vec<_>>(),
            "email_group_id_list": [],
        }),
    };
    let description = if c.description.is_empty() { "wafwatch alerts".to_owned() } else { c.description.clone() };
    json!({
        "name": c.name,
        "description": format!("{description} (managed by wafwatch)"),
        "config_type": c.kind.as_str(),
        "is_enabled": true,
        c.kind.as_str(): payload,
    })
}

/// `POST /_plugins/_notifications/configs`.
pub fn channel_create(c: &ResolvedChannel) -> Value {
    json!({"config_id": c.id, "config": channel_config(c)})
}

fn period(d: std::time::Duration) -> Value {
    json!({"period": {"interval": d.as_secs() / 60, "unit": "Minutes"}})
}

fn feature_field(f: &wafwatch_config::detection::Feature) -> String {
    match &f.source {
        FeatureSource::Column { name, .. } => name.clone(),
        FeatureSource::Field { field, .. } => field.dotted().to_owned(),
    }
}

/// `POST /_plugins/_anomaly_detection/detectors` (and the full body of `PUT .../{id}`).
pub fn detector(d: &Detector, detection: &Detection, index: &Index) -> Value {
    let features: Vec<Value> = d
        .features
        .iter()
        .map(|f| {
            json!({
                "feature_name": f.name,
                "feature_enabled": true,
                "aggregation_query": {f.name.clone(): {f.aggregation.as_str(): {"field": feature_field(f)}}},
            })
        })
        .collect();
    let mut ui_features = Map::new();
    for f in &d.features {
        let ui = if f.aggregation == Aggregation::Cardinality {
            json!({"featureType": "custom_aggs"})
        } else {
            json!({"featureType": "simple_aggs", "aggregationBy": f.aggregation.as_str(), "aggregationOf": feature_field(f)})
        };
        ui_features.insert(f.name.clone(), ui);
    }
    let mut body = json!({
        "name": d.name,
        "description": d.description,
        "time_field": "@timestamp",
        "indices": [index.pattern()],
        "feature_attributes": features,
        "filter_query": {"match_all": {}},
        "detection_interval": period(d.interval),
        "window_delay": period(d.window_delay),
        "shingle_size": d.shingle_size,
        "ui_metadata": {"features": ui_features, "filters": []},
    });
    if !d.category_fields.is_empty() {
        body["category_field"] =
            json!(d.category_fields.iter().map(|c| detection.captures[*c].dotted()).collect::<Vec<_>>());
    }
    if let Some(method) = d.imputation {
        body["imputation_option"] =
            json!({"method": match method { Imputation::Zero => "zero", Imputation::Previous => "previous" }});
    }
    if !d.suppress.is_empty() {
        let mut rules = Vec::new();
        for (k, f) in d.features.iter().enumerate() {
            let conditions: Vec<Value> = d
                .suppress
                .iter()
                .filter(|s| s.feature == k)
                .map(|s| match s.value {
                    Some(v) => json!({"feature_name": f.name, "threshold_type": s.kind.as_str(), "operator": "LTE", "value": v}),
                    None => json!({"feature_name": f.name, "threshold_type": s.kind.as_str()}),
                })
                .collect();
            if !conditions.is_empty() {
                rules.push(json!({"action": "ignore_anomaly", "conditions": conditions}));
            }
        }
        body["rules"] = json!(rules);
    }
    let fp = fingerprint(&body);
    body["ui_metadata"]["wafwatch"] = json!({"managed_by": MANAGED_BY, "fingerprint": fp});
    body
}

/// The placeholder a plan shows for a detector id known only after apply.
pub fn detector_placeholder(name: &str) -> String {
    format!("{{{{detector:{name}}}}}")
}

fn actions(m: &Monitor, detection: &Detection, site: &Site<'_>, bucket: bool) -> Vec<Value> {
    let t = template(m, detection, site);
    m.channels
        .iter()
        .map(|c| {
            let mut a = json!({
                "name": format!("notify {c}"),
                "destination_id": c,
                "subject_template": {"source": t.subject, "lang": "mustache"},
                "message_template": {"source": t.body, "lang": "mustache"},
                "throttle_enabled": true,
                "throttle": {"value": m.throttle.as_secs() / 60, "unit": "MINUTES"},
            });
            if bucket {
                a["action_execution_policy"] =
                    json!({"action_execution_scope": {"per_alert": {"actionable_alerts": ["DEDUPED", "NEW"]}}});
            }
            a
        })
        .collect()
}

fn severities_from(min: Severity) -> Vec<&'static str> {
    [Severity::Low, Severity::Medium, Severity::High, Severity::Critical]
        .into_iter()
        .filter(|s| *s >= min)
        .map(Severity::as_str)
        .collect()
}

/// `POST /_plugins/_alerting/monitors` (and the full body of `PUT .../{id}`). `detector_id` is the
/// live id of an anomaly monitor's detector (a placeholder in plans).
pub fn monitor(m: &Monitor, detection: &Detection, index: &Index, site: &Site<'_>, detector_id: &str) -> Value {
    let severity = m.priority.to_string();
    let mut body = match &m.kind {
        MonitorKind::Anomaly { detector, min_grade, min_confidence } => {
            let det = &detection.detectors[*detector];
            let minutes = det.interval.as_secs() / 60;
            // Two intervals back, so a result written late (the window delay) is still seen.
            let lookback = 2 * minutes + det.window_delay.as_secs() / 60;
            let condition = format!(
                "return ctx.results != null && ctx.results.length > 0 && ctx.results[0].aggregations != null \
                 && ctx.results[0].aggregations.max_anomaly_grade != null && ctx.results[0].hits.total.value > 0 \
                 && ctx.results[0].hits.hits[0]._source != null && ctx.results[0].hits.hits[0]._source.confidence != null \
                 && ctx.results[0].aggregations.max_anomaly_grade.value != null \
                 && ctx.results[0].aggregations.max_anomaly_grade.value > {min_grade} \
                 && ctx.results[0].hits.hits[0]._source.confidence > {min_confidence}"
            );
            json!({
                "name": m.name,
                "monitor_type": "query_level_monitor",
                "enabled": true,
                "schedule": {"period": {"interval": minutes, "unit": "MINUTES"}},
                "inputs": [{"search": {
                    "indices": [AD_RESULTS_PATTERN],
                    "query": {
                        "size": 1,
                        "sort": [{"anomaly_grade": "desc"}, {"confidence": "desc"}],
                        "query": {"bool": {"filter": [
                            {"range": {"execution_end_time": {"from": format!("{{{{period_end}}}}||-{lookback}m"), "to": "{{period_end}}", "include_lower": true, "include_upper": true}}},
                            {"term": {"detector_id": {"value": detector_id}}},
                        ]}},
                        "aggregations": {"max_anomaly_grade": {"max": {"field": "anomaly_grade"}}},
                    },
                }}],
                "triggers": [{"query_level_trigger": {
                    "name": m.name,
                    "severity": severity,
                    "condition": {"script": {"source": condition, "lang": "painless"}},
                    "actions": actions(m, detection, site, false),
                }}],
                "ui_metadata": {
                    "schedule": {"frequency": "interval", "period": {"interval": minutes, "unit": "MINUTES"}},
                    "monitor_type": "query_level_monitor",
                    "search": {"searchType": "ad", "timeField": "", "aggregations": [], "groupBy": [], "bucketValue": 1, "bucketUnitOfTime": "h", "filters": []},
                    "triggers": {m.name.clone(): {"value": 10000, "enum": "ABOVE", "adTriggerMetadata": {
                        "triggerType": "anomaly_detector_trigger",
                        "anomalyGrade": {"value": min_grade, "enum": "ABOVE"},
                        "anomalyConfidence": {"value": min_confidence, "enum": "ABOVE"},
                    }}},
                },
            })
        }
        MonitorKind::Count { filter, threshold, window, group_by } => {
            let minutes = window.as_secs() / 60;
            let matching = match filter {
                DocFilter::Rule { name, .. } => json!({"term": {"rules": name}}),
                DocFilter::Severity(s) => json!({"terms": {"severity": severities_from(*s)}}),
            };
            let query = json!({"bool": {"filter": [
                {"range": {"@timestamp": {"gte": format!("{{{{period_end}}}}||-{minutes}m"), "lte": "{{period_end}}", "format": "epoch_millis"}}},
                matching,
            ]}});
            match group_by {
                None => json!({
                    "name": m.name,
                    "monitor_type": "query_level_monitor",
                    "enabled": true,
                    "schedule": {"period": {"interval": 1, "unit": "MINUTES"}},
                    "inputs": [{"search": {"indices": [index.pattern()], "query": {"size": 0, "track_total_hits": true, "query": query}}}],
                    "triggers": [{"query_level_trigger": {
                        "name": m.name,
                        "severity": severity,
                        "condition": {"script": {"source": format!("ctx.results[0].hits.total.value >= {threshold}"), "lang": "painless"}},
                        "actions": actions(m, detection, site, false),
                    }}],
                    "ui_metadata": {},
                }),
                Some(g) => {
                    let field = detection.captures[*g].dotted();
                    let source = field.replace('.', "_");
                    json!({
                        "name": m.name,
                        "monitor_type": "bucket_level_monitor",
                        "enabled": true,
                        "schedule": {"period": {"interval": 1, "unit": "MINUTES"}},
                        "inputs": [{"search": {"indices": [index.pattern()], "query": {
                            "size": 0,
                            "query": query,
                            "aggregations": {"composite_agg": {"composite": {"size": 1000, "sources": [{source: {"terms": {"field": field}}}]}}},
                        }}}],
                        "triggers": [{"bucket_level_trigger": {
                            "name": m.name,
                            "severity": severity,
                            "condition": {
                                "buckets_path": {"_count": "_count"},
                                "parent_bucket_path": "composite_agg",
                                "script": {"source": format!("params._count >= {threshold}"), "lang": "painless"},
                            },
                            "actions": actions(m, detection, site, true),
                        }}],
                        "ui_metadata": {},
                    })
                }
            }
        }
    };
    let fp = fingerprint(&body);
    body["ui_metadata"]["wafwatch"] = json!({"managed_by": MANAGED_BY, "fingerprint": fp});
    body
}

/// Saved-object ids.
pub fn index_pattern_id(index: &Index) -> String {
    format!("wafwatch-{}", index.alias)
}
/// The results index pattern's id.
pub const RESULTS_PATTERN_ID: &str = "wafwatch-anomaly-results";
/// The dashboard's id.
pub fn dashboard_id(index: &Index) -> String {
    format!("wafwatch-{}-overview", index.alias)
}

fn visualization(id: &str, title: &str, pattern_id: &str, aggs: Value) -> Value {
    let vis_state = json!({
        "title": title,
        "type": "line",
        "aggs": aggs,
        "params": {"type": "line", "addTooltip": true, "addLegend": true, "legendPosition": "right"},
    });
    json!({
        "type": "visualization",
        "id": id,
        "attributes": {
            "title": title,
            "description": "managed by wafwatch",
            "visState": vis_state.to_string(),
            "uiStateJSON": "{}",
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json!({
                "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
                "query": {"query": "", "language": "kuery"},
                "filter": [],
            }).to_string()},
        },
        "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": pattern_id}],
    })
}

/// The saved objects: the index pattern, one chart per detector (its features over time), the
/// anomaly grades of every detector, and the dashboard holding them, in import order.
pub fn saved_objects(detection: &Detection, index: &Index) -> Vec<Value> {
    let pattern_id = index_pattern_id(index);
    let mut objects = vec![
        json!({"type": "index-pattern", "id": pattern_id, "attributes": {"title": index.pattern(), "timeFieldName": "@timestamp"}, "references": []}),
        json!({"type": "index-pattern", "id": RESULTS_PATTERN_ID, "attributes": {"title": AD_RESULTS_PATTERN, "timeFieldName": "execution_end_time"}, "references": []}),
    ];
    let mut panels = Vec::new();
    for d in &detection.detectors {
        let mut aggs: Vec<Value> = d
            .features
            .iter()
            .enumerate()
            .map(|(k, f)| {
                json!({"id": (k + 1).to_string(), "enabled": true, "type": f.aggregation.as_str(), "schema": "metric",
                       "params": {"field": feature_field(f), "customLabel": f.name}})
            })
            .collect();
        aggs.push(json!({"id": (d.features.len() + 1).to_string(), "enabled": true, "type": "date_histogram", "schema": "segment",
                         "params": {"field": "@timestamp", "interval": format!("{}m", d.interval.as_secs() / 60), "min_doc_count": 1}}));
        let id = format!("wafwatch-{}-{}", index.alias, d.name);
        objects.push(visualization(
            &id,
            &format!("{}: {}", d.name, d.description.trim_end_matches('.')),
            &pattern_id,
            json!(aggs),
        ));
        panels.push(id);
    }
    let grades = format!("wafwatch-{}-anomaly-grades", index.alias);
    objects.push(visualization(
        &grades,
        "Anomaly grade by detector",
        RESULTS_PATTERN_ID,
        json!([
            {"id": "1", "enabled": true, "type": "max", "schema": "metric", "params": {"field": "anomaly_grade", "customLabel": "anomaly grade"}},
            {"id": "2", "enabled": true, "type": "date_histogram", "schema": "segment", "params": {"field": "execution_end_time", "interval": "auto", "min_doc_count": 1}},
            {"id": "3", "enabled": true, "type": "terms", "schema": "group", "params": {"field": "detector_id", "size": 20, "order": "desc", "orderBy": "1"}},
        ]),
    ));
    panels.push(grades);
    let panels_json: Vec<Value> = panels
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let n = (i + 1).to_string();
            json!({"panelIndex": n, "gridData": {"x": (i % 2) * 24, "y": (i / 2) * 15, "w": 24, "h": 15, "i": n}, "embeddableConfig": {}, "panelRefName": format!("panel_{i}")})
        })
        .collect();
    objects.push(json!({
        "type": "dashboard",
        "id": dashboard_id(index),
        "attributes": {
            "title": format!("wafwatch: {}", index.alias),
            "description": "managed by wafwatch: the indicator columns over time and the anomaly grades",
            "panelsJSON": Value::Array(panels_json).to_string(),
            "optionsJSON": json!({"useMargins": true, "hidePanelTitles": false}).to_string(),
            "timeRestore": true,
            "timeFrom": "now-24h",
            "timeTo": "now",
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json!({"query": {"query": "", "language": "kuery"}, "filter": []}).to_string()},
        },
        "references": panels.iter().enumerate().map(|(i, id)| json!({"name": format!("panel_{i}"), "type": "visualization", "id": id})).collect::<Vec<_>>(),
    }));
    objects
}

/// The saved objects as the NDJSON an import sends.
pub fn saved_objects_ndjson(objects: &[Value]) -> String {
    objects.iter().map(|o| o.to_string() + "\n").collect()
}
