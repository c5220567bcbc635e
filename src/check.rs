//! `wafwatch check`: validate the whole configuration and show what it resolves to.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use wafwatch_config::Config;
use wafwatch_config::detection::{Detection, FeatureSource, MonitorKind};
use wafwatch_config::file::Loaded;
use wafwatch_config::transform::{Destination, Format, MessageFormat, TransformSections};
use wafwatch_config::wire::{LAMBDA_ENV_TOTAL_BYTES, TRANSFORM_CONFIG_ENV};

/// Runs `wafwatch check`: exit status 0 when the file is valid (an invalid one is an error, 2).
pub fn run(config_flag: Option<&Path>) -> anyhow::Result<ExitCode> {
    let loaded = wafwatch_config::file::load(config_flag)?;
    let config = loaded.config()?;
    crate::stdout::write_stdout(&render(&loaded, &config))?;
    Ok(ExitCode::SUCCESS)
}

/// Renders the resolved configuration for people.
pub fn render(loaded: &Loaded, config: &Config) -> String {
    let resolved: &TransformSections = config.transform.resolved();
    let mut s = String::new();
    let _ = writeln!(s, "configuration: {} ({})", loaded.origin.describe(), loaded.origin.reason());
    source(&mut s, resolved);
    columns(&mut s, resolved);
    rules(&mut s, resolved);
    delivery(&mut s, resolved);
    index(&mut s, config);
    detectors(&mut s, &config.detection);
    monitors(&mut s, &config.detection);
    channels_and_access(&mut s, config);
    s
}

fn source(s: &mut String, resolved: &TransformSections) {
    let src = &resolved.source;
    let format = match src.format {
        Format::Json => "json".to_owned(),
        Format::Text => "text".to_owned(),
        Format::CloudwatchLogs => format!(
            "cloudwatch-logs (messages: {})",
            match src.message_format.unwrap_or_default() {
                MessageFormat::Json => "json",
                MessageFormat::Text => "text",
            }
        ),
    };
    let _ = writeln!(s, "source: {format}, timestamp from {} -> @timestamp", src.timestamp);
}

fn columns(s: &mut String, resolved: &TransformSections) {
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
}

fn rules(s: &mut String, resolved: &TransformSections) {
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
}

fn delivery(s: &mut String, resolved: &TransformSections) {
    let d = &resolved.delivery;
    let _ = writeln!(
        s,
        "\ndelivery: {}, re-ingest {}{}",
        match d.destination {
            Destination::Opensearch => "opensearch (one document per record)",
            Destination::S3 => "s3",
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
}

fn index(s: &mut String, config: &Config) {
    let idx = &config.index;
    let _ = writeln!(
        s,
        "\nindex: alias {} (indices {}, first {}), {} shard(s), {} replica(s), refresh {}; roll over at {} or {}, delete after {}",
        idx.alias,
        idx.pattern(),
        idx.first_index(),
        idx.shards,
        idx.replicas,
        idx.refresh_interval,
        idx.rollover_size,
        idx.rollover_age,
        idx.retention
    );
    let mut by_type: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for (name, ty) in &idx.fields {
        by_type.entry(ty.describe().to_owned()).or_default().push(name);
    }
    for (ty, names) in by_type {
        let _ = writeln!(s, "  {ty:<12} {}", names.join(", "));
    }
}

fn detectors(s: &mut String, detection: &Detection) {
    let _ = writeln!(s, "\ndetectors ({}):", detection.detectors.len());
    for d in &detection.detectors {
        let features: Vec<String> = d
            .features
            .iter()
            .map(|f| match &f.source {
                FeatureSource::Column { name, .. } => format!("{} = {}({name})", f.name, f.aggregation.as_str()),
                FeatureSource::Field { field, .. } => format!("{} = {}({field})", f.name, f.aggregation.as_str()),
            })
            .collect();
        let entities = if d.category_fields.is_empty() {
            String::new()
        } else {
            let fields: Vec<&str> =
                d.category_fields.iter().map(|c| detection.captures[*c].pointer().as_str()).collect();
            format!(", per {} (at most {} entities locally)", fields.join(" + "), d.max_entities)
        };
        let _ = writeln!(
            s,
            "  {:<24} every {}, delay {}, shingle {}{entities}: {}",
            d.name,
            humantime::format_duration(d.interval),
            humantime::format_duration(d.window_delay),
            d.shingle_size,
            features.join(", ")
        );
    }
}

fn monitors(s: &mut String, detection: &Detection) {
    let _ = writeln!(s, "\nmonitors ({}):", detection.monitors.len());
    for m in &detection.monitors {
        let what = match &m.kind {
            MonitorKind::Anomaly { detector, min_grade, min_confidence } => format!(
                "{}: grade > {min_grade}, confidence > {min_confidence}",
                detection.detectors.get(*detector).map_or("?", |d| d.name.as_str())
            ),
            MonitorKind::Count { filter, threshold, window, group_by } => format!(
                "{}: >= {threshold} in {}{}",
                filter.label(),
                humantime::format_duration(*window),
                group_by.map(|g| format!(" per {}", detection.captures[g])).unwrap_or_default()
            ),
            MonitorKind::NewValues { field, threshold, window, history } => format!(
                "new values of {}: >= {threshold} in {} not seen in the {} before",
                detection.captures[*field],
                humantime::format_duration(*window),
                wafwatch_config::duration::phrase(*history)
            ),
        };
        let to = if m.channels.is_empty() { String::new() } else { format!("; to {}", m.channels.join(", ")) };
        let _ = writeln!(
            s,
            "  {:<24} {what}; priority {}; throttle {}{to}",
            m.name,
            m.priority,
            humantime::format_duration(m.throttle)
        );
    }
}

fn channels_and_access(s: &mut String, config: &Config) {
    let _ = writeln!(s, "\nchannels ({}):", config.channels.len());
    for c in &config.channels {
        let _ = writeln!(s, "  {:<24} {} ({})", c.id(), c.kind().as_str(), c.name());
    }
    match &config.access.firehose_role_arn {
        Some(arn) => {
            let _ = writeln!(
                s,
                "\naccess: when {arn} is set at apply, security role {} is created and mapped to it",
                config.access.role
            );
        }
        None => s.push_str("\naccess: no Firehose role mapping (a cluster without fine-grained access control)\n"),
    }
}
