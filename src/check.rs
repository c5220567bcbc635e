//! `wafwatch check`: validate the whole configuration and show what it resolves to.

use std::fmt::Write;

use wafwatch_transformer::config::{Format, TransformSections};
use wafwatch_transformer::limits::{LAMBDA_ENV_TOTAL_BYTES, TRANSFORM_CONFIG_ENV};

use crate::config::Loaded;

/// Renders the resolved configuration for people.
pub fn render(
    loaded: &Loaded,
    resolved: &TransformSections,
    detection: &wafwatch_opensearch::detection::Detection,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "configuration: {} ({})", loaded.origin.describe(), loaded.origin.reason());
    let src = &resolved.source;
    let format = match src.format {
        Format::Json => "json".to_owned(),
        Format::Text => "text".to_owned(),
        Format::CloudwatchLogs => format!(
            "cloudwatch-logs (messages: {})",
            match src.message_format.unwrap_or_default() {
                wafwatch_transformer::config::MessageFormat::Json => "json",
                wafwatch_transformer::config::MessageFormat::Text => "text",
            }
        ),
    };
    let _ = writeln!(s, "source: {format}, timestamp from {} -> @timestamp", src.timestamp);
    let ncols: usize = resolved.encode.iter().map(|e| e.columns.len()).sum();
    let _ = writeln!(s, "\ncolumns ({ncols}, every document gets each as 0 or 1):");
    for enc in &resolved.encode {
        let case = if enc.ignore_case { " (ignoring case)" } else { "" };
        let _ = writeln!(s, "  {}{case}", enc.field);
        for col in &enc.columns {
            let what = match (&col.values, col.otherwise) {
                (Some(v), _) => v.iter().map(|v| v.0.as_str()).collect::<Vec<_>>().join(", "),
                (None, _) => "anything else, or missing".to_owned(),
            };
            let _ = writeln!(s, "    {:<18} {what}", col.name);
        }
    }
    let _ = writeln!(s, "\nrules ({}):", resolved.rule.len());
    for r in &resolved.rule {
        let _ = writeln!(s, "  {:<18} {:<9} {}", r.name, r.severity.as_str(), r.description.as_deref().unwrap_or(""));
        for c in &r.conditions {
            let target = c.field.as_deref().unwrap_or("(whole line)");
            let test = match (&c.regex, &c.values) {
                (Some(re), _) => format!("matches /{re}/"),
                (_, Some(v)) => format!("is one of {}", v.iter().map(|v| v.0.as_str()).collect::<Vec<_>>().join(", ")),
                _ => String::new(),
            };
            let _ = writeln!(s, "      {target} {test}");
        }
    }
    let d = &resolved.delivery;
    let _ = writeln!(
        s,
        "\ndelivery: {}, re-ingest {}{}",
        match d.destination {
            wafwatch_transformer::config::Destination::Opensearch => "opensearch (one document per record)",
            wafwatch_transformer::config::Destination::S3 => "s3",
        },
        if d.reingest { "on" } else { "off" },
        if d.partition_keys.is_empty() {
            String::new()
        } else {
            format!(
                ", partition keys {}",
                d.partition_keys.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
            )
        }
    );
    let env_len = resolved.to_compact_json().len() + TRANSFORM_CONFIG_ENV.len();
    let _ = writeln!(s, "lambda: {TRANSFORM_CONFIG_ENV} is {env_len} of Lambda's {LAMBDA_ENV_TOTAL_BYTES} bytes");
    use wafwatch_opensearch::detection::MonitorKind;
    let _ = writeln!(s, "\ndetectors ({}):", detection.detectors.len());
    for d in &detection.detectors {
        let features: Vec<String> = d
            .features
            .iter()
            .map(|(name, col, agg)| {
                let column = resolved.encode.iter().flat_map(|e| &e.columns).nth(*col).map_or("?", |c| c.name.as_str());
                format!("{name} = {agg:?}({column})")
            })
            .collect();
        let _ = writeln!(
            s,
            "  {:<24} every {}, delay {}, shingle {}: {}",
            d.name,
            humantime::format_duration(d.interval),
            humantime::format_duration(d.window_delay),
            d.shingle_size,
            features.join(", ")
        );
    }
    let _ = writeln!(s, "\nmonitors ({}):", detection.monitors.len());
    for m in &detection.monitors {
        let what = match &m.kind {
            MonitorKind::Anomaly { detector, min_grade, min_confidence } => format!(
                "{}: grade >= {min_grade}, confidence >= {min_confidence}",
                detection.detectors.get(*detector).map_or("?", |d| d.name.as_str())
            ),
            MonitorKind::Rule { rule_name, threshold, window, .. } => {
                format!("rule {rule_name}: >= {threshold} in {}", humantime::format_duration(*window))
            }
        };
        let _ = writeln!(s, "  {:<24} {what}; throttle {}", m.name, humantime::format_duration(m.throttle));
    }
    s.push_str(
        "\nchannels, index template, dashboards: not part of the configuration yet (OpenSearch bootstrap, issue 4)\n",
    );
    s
}
