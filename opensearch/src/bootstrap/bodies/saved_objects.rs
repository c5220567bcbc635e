//! The Dashboards saved objects: index patterns, one chart per detector, the anomaly grades, and
//! the dashboard holding them.

use serde_json::{Value, json};
use wafwatch_config::detection::{Detection, Detector};
use wafwatch_config::index::Index;

use super::detector::feature_field;
use super::monitor::AD_RESULTS_PATTERN;

/// The documents' index pattern's saved-object id.
pub fn index_pattern_id(index: &Index) -> String {
    format!("wafwatch-{}", index.alias)
}
/// The results index pattern's id.
pub const RESULTS_PATTERN_ID: &str = "wafwatch-anomaly-results";
/// The dashboard's id.
pub fn dashboard_id(index: &Index) -> String {
    format!("wafwatch-{}-overview", index.alias)
}

/// A line chart over an index pattern.
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
        let id = format!("wafwatch-{}-{}", index.alias, d.name);
        objects.push(detector_chart(d, &id, &pattern_id));
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
    objects.push(dashboard(index, &panels));
    objects
}

/// A detector's chart: each feature's aggregation over time, at the detector's interval.
fn detector_chart(d: &Detector, id: &str, pattern_id: &str) -> Value {
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
    visualization(id, &format!("{}: {}", d.name, d.description.trim_end_matches('.')), pattern_id, json!(aggs))
}

/// The dashboard: the charts `panels` names, two a row.
fn dashboard(index: &Index, panels: &[String]) -> Value {
    let panels_json: Vec<Value> = panels
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let n = (i + 1).to_string();
            json!({"panelIndex": n, "gridData": {"x": (i % 2) * 24, "y": (i / 2) * 15, "w": 24, "h": 15, "i": n}, "embeddableConfig": {}, "panelRefName": format!("panel_{i}")})
        })
        .collect();
    json!({
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
    })
}

/// The saved objects as the NDJSON an import sends.
pub fn saved_objects_ndjson(objects: &[Value]) -> String {
    objects.iter().map(|o| o.to_string() + "\n").collect()
}
