//! Shared by the bootstrap tests: a `Spec` from a whole `wafwatch.toml`, as the CLI builds it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

pub mod cluster;

use serde::Deserialize;
use wafwatch_opensearch::bootstrap::{Dashboards, Spec};
use wafwatch_opensearch::channel::{ChannelSection, Resolve};
use wafwatch_opensearch::detection::{Context, DetectorSection, MonitorSection};
use wafwatch_opensearch::index::{AccessSection, IndexSection};
use wafwatch_transformer::TransformSections;
use wafwatch_transformer::expand::Expansion;

#[derive(Deserialize)]
struct OpenSearchSections {
    #[serde(default)]
    index: IndexSection,
    #[serde(default)]
    detector: Vec<DetectorSection>,
    #[serde(default)]
    monitor: Vec<MonitorSection>,
    #[serde(default)]
    channel: Vec<ChannelSection>,
    #[serde(default)]
    access: AccessSection,
}

/// The bundled default configuration.
pub const DEFAULT: &str = wafwatch_transformer::BUNDLED_DEFAULT_TOML;

/// Builds the spec of a whole configuration text, with `env` as the environment.
pub fn spec_with(text: &str, mode: Resolve, env: &dyn Fn(&str) -> Option<String>, dashboards: Dashboards) -> Spec {
    let transform = TransformSections::from_whole_toml(text).unwrap().validate(Expansion::Literal).unwrap();
    // The transformer's parser refuses nothing it does not own: read ours from the same text.
    let value: toml::Table = toml::from_str(text).unwrap();
    let mut mine = toml::Table::new();
    for key in ["index", "detector", "monitor", "channel", "access"] {
        if let Some(v) = value.get(key) {
            mine.insert(key.to_owned(), v.clone());
        }
    }
    let s: OpenSearchSections = toml::Value::Table(mine).try_into().unwrap();
    let resolved = transform.resolved();
    let columns: Vec<&str> = transform.column_names().collect();
    let encode: Vec<&str> = resolved.encode.iter().map(|e| e.field.as_str()).collect();
    let rules: Vec<(&str, wafwatch_transformer::config::Severity)> =
        resolved.rule.iter().map(|r| (r.name.as_str(), r.severity)).collect();
    let index = wafwatch_opensearch::index::validate(&s.index, &encode, &columns).unwrap();
    let channels = wafwatch_opensearch::channel::validate(&s.channel).unwrap();
    let ids: Vec<&str> = s.channel.iter().map(|c| c.id.as_str()).collect();
    let field_type = |p: &str| index.field_type(p);
    let ctx = Context { columns: &columns, rules: &rules, channels: &ids, field_type: &field_type };
    let detection = wafwatch_opensearch::detection::validate(&s.detector, &s.monitor, &ctx).unwrap();
    let arn = s
        .access
        .firehose_role_arn
        .as_deref()
        .map(|raw| wafwatch_opensearch::channel::expand(raw, mode, env).unwrap())
        .unwrap_or_default();
    Spec {
        index,
        detection,
        channels: channels.iter().map(|c| c.resolve_with(mode, env).unwrap()).collect(),
        rules: resolved
            .rule
            .iter()
            .map(|r| (r.name.clone(), r.severity, r.description.clone().unwrap_or_default()))
            .collect(),
        firehose_access: (!arn.is_empty()).then(|| (s.access.role.clone(), arn)),
        dashboards,
    }
}

/// The environment a deployment has: the topic, the alert role and the Firehose role.
pub fn deployed_env(k: &str) -> Option<String> {
    match k {
        "WAFWATCH_ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:111122223333:wafwatch-alerts".into()),
        "WAFWATCH_ALERT_ROLE_ARN" => Some("arn:aws:iam::111122223333:role/wafwatch-opensearch-sns".into()),
        "WAFWATCH_FIREHOSE_ROLE_ARN" => Some("arn:aws:iam::111122223333:role/wafwatch-firehose".into()),
        _ => None,
    }
}

/// The default configuration's spec, as apply builds it in a deployment.
pub fn deployed_spec() -> Spec {
    spec_with(
        DEFAULT,
        Resolve::Live,
        &deployed_env,
        Dashboards { prefix: "/_dashboards".into(), public_url: Some("https://search.example/_dashboards".into()) },
    )
}
