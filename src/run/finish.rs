//! The end of a run: the report, the summary and labels files, and what the log says of them.

use std::path::PathBuf;

use wafwatch_config::detection::Detection;
use wafwatch_log_simulator::sim::Label;

use super::args::RunArgs;
use super::error::{RunError, io};
use super::outputs::Outputs;
use super::report;
use super::summary::Summary;

/// Writes `report.html` (over `span`, epoch ms) and, when asked, the summary as JSON; returns the
/// report's path.
pub(crate) fn write(
    args: &RunArgs,
    detection: &Detection,
    summary: &Summary,
    labels: &[Label],
    outputs: &Outputs<'_>,
    span: (i64, i64),
) -> Result<PathBuf, RunError> {
    let html = report::html(summary, labels, &outputs.series, &outputs.alerts, detection, args.traffic.seed, span);
    let report_path = args.out.join("report.html");
    std::fs::write(&report_path, html).map_err(io(&report_path))?;
    if let Some(path) = &args.summary_json {
        let text = serde_json::to_string_pretty(summary).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(io(path))?;
    }
    Ok(report_path)
}

/// Writes the ground truth to `--labels` when asked.
pub(crate) fn write_labels(args: &RunArgs, labels: &[Label]) -> Result<(), RunError> {
    match &args.labels {
        Some(path) => std::fs::write(path, Label::ndjson(labels)).map_err(io(path)),
        None => Ok(()),
    }
}

/// Logs each scenario's score, and the Lambda handler's answers with `--exact-firehose`.
pub(crate) fn log_scores(summary: &Summary) {
    for s in &summary.scenarios {
        match (&s.detected_by, s.intervals_to_detect) {
            (Some(by), Some(n)) => {
                tracing::info!(scenario = %s.name, start = %s.start, intervals_to_detect = n, detected_by = %by, "Detected.")
            }
            _ => tracing::warn!(scenario = %s.name, start = %s.start, "Missed."),
        }
    }
    if let Some(f) = &summary.firehose {
        tracing::info!(
            invocations = f.invocations,
            ok = f.ok,
            dropped = f.dropped,
            processing_failed = f.processing_failed,
            mismatched = f.mismatched,
            largest_response_bytes = f.largest_response_bytes,
            "Lambda handler answers."
        );
    }
}
