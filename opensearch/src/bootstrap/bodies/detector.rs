//! The anomaly detectors' bodies.

use serde_json::{Map, Value, json};
use wafwatch_config::detection::{Aggregation, Detection, Detector, Feature, FeatureSource, Imputation};
use wafwatch_config::index::Index;

use super::mark::sign_ui_metadata;

/// A detector interval: `{"period": {"interval": minutes, "unit": "Minutes"}}`.
fn period(d: std::time::Duration) -> Value {
    json!({"period": {"interval": d.as_secs() / 60, "unit": "Minutes"}})
}

/// The document field a feature aggregates: its column, or its mapped field's dotted name.
pub fn feature_field(f: &Feature) -> String {
    match &f.source {
        FeatureSource::Column { name, .. } => name.clone(),
        FeatureSource::Field { field, .. } => field.dotted().to_owned(),
    }
}

/// `POST /_plugins/_anomaly_detection/detectors` (and the full body of `PUT .../{id}`).
pub fn detector(d: &Detector, detection: &Detection, index: &Index) -> Value {
    let mut body = json!({
        "name": d.name,
        "description": d.description,
        "time_field": "@timestamp",
        "indices": [index.pattern()],
        "feature_attributes": features(d),
        "filter_query": {"match_all": {}},
        "detection_interval": period(d.interval),
        "window_delay": period(d.window_delay),
        "shingle_size": d.shingle_size,
        "ui_metadata": {"features": ui_features(d), "filters": []},
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
        body["rules"] = json!(suppression_rules(d));
    }
    sign_ui_metadata(body)
}

/// `feature_attributes`: one single-value aggregation per feature, named after it.
fn features(d: &Detector) -> Vec<Value> {
    d.features
        .iter()
        .map(|f| {
            json!({
                "feature_name": f.name,
                "feature_enabled": true,
                "aggregation_query": {f.name.clone(): {f.aggregation.as_str(): {"field": feature_field(f)}}},
            })
        })
        .collect()
}

/// `ui_metadata.features`: how the AD Dashboards shows each feature.
fn ui_features(d: &Detector) -> Map<String, Value> {
    let mut ui_features = Map::new();
    for f in &d.features {
        let ui = if f.aggregation == Aggregation::Cardinality {
            json!({"featureType": "custom_aggs"})
        } else {
            json!({"featureType": "simple_aggs", "aggregationBy": f.aggregation.as_str(), "aggregationOf": feature_field(f)})
        };
        ui_features.insert(f.name.clone(), ui);
    }
    ui_features
}

/// `rules`: one `ignore_anomaly` rule per feature with suppression conditions.
fn suppression_rules(d: &Detector) -> Vec<Value> {
    let mut rules = Vec::new();
    for (k, f) in d.features.iter().enumerate() {
        let conditions: Vec<Value> = d
            .suppress
            .iter()
            .filter(|s| s.feature == k)
            .map(|s| match s.value {
                Some(v) => {
                    json!({"feature_name": f.name, "threshold_type": s.kind.as_str(), "operator": "LTE", "value": v})
                }
                None => json!({"feature_name": f.name, "threshold_type": s.kind.as_str()}),
            })
            .collect();
        if !conditions.is_empty() {
            rules.push(json!({"action": "ignore_anomaly", "conditions": conditions}));
        }
    }
    rules
}

/// The placeholder a plan shows for a detector id known only after apply.
pub fn detector_placeholder(name: &str) -> String {
    format!("{{{{detector:{name}}}}}")
}
