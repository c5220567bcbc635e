//! Where the engine's events go: results.ndjson, alerts.ndjson (each alert with its redacted
//! samples), the report's series, the log, and with `--deliver` the channels.

use std::io::Write;
use std::path::PathBuf;

use chrono::DateTime;
use serde::Serialize;
use wafwatch_config::detection::Detection;
use wafwatch_engine::{AdResult, Alert, Event};

use super::args::RunArgs;
use super::deliver::{Deliverer, DeliveryCounts};
use super::error::{RunError, io};
use super::report::push_series;
use super::samples::Samples;

/// An alert as written to alerts.ndjson: the engine's alert and its redacted sample records.
#[derive(Debug, Clone, Serialize)]
pub struct AlertOut {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// A few records of the anomalous interval, sensitive headers redacted.
    pub samples: Vec<serde_json::Value>,
}

pub(crate) fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Where the engine's events go: results.ndjson, alerts.ndjson (with samples), the report's series,
/// the log, and with `--deliver` the channels.
pub(crate) struct Outputs<'a> {
    detection: &'a Detection,
    results_path: PathBuf,
    alerts_path: PathBuf,
    results_out: std::io::BufWriter<std::fs::File>,
    alerts_out: std::io::BufWriter<std::fs::File>,
    pub(crate) series: Vec<Vec<AdResult>>,
    pub(crate) alerts: Vec<Alert>,
    /// Alerts and throttled repeats: what a live monitor would have sent.
    pub(crate) notifications: u64,
    deliverer: Option<Deliverer>,
    /// Flush alerts.ndjson at each alert (--follow: someone may be watching it).
    flush_each_alert: bool,
}

impl<'a> Outputs<'a> {
    pub(crate) fn new(
        args: &RunArgs,
        detection: &'a Detection,
        deliverer: Option<Deliverer>,
    ) -> Result<Self, RunError> {
        std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
        let results_path = args.out.join("results.ndjson");
        let alerts_path = args.out.join("alerts.ndjson");
        let results_out = std::io::BufWriter::new(std::fs::File::create(&results_path).map_err(io(&results_path))?);
        let alerts_out = std::io::BufWriter::new(std::fs::File::create(&alerts_path).map_err(io(&alerts_path))?);
        Ok(Outputs {
            detection,
            results_path,
            alerts_path,
            results_out,
            alerts_out,
            series: vec![Vec::new(); detection.detectors.len()],
            alerts: Vec::new(),
            notifications: 0,
            deliverer,
            flush_each_alert: args.follow,
        })
    }

    /// Handles the engine's events; alerts get the samples of their interval (kept by `samples`).
    pub(crate) fn handle(&mut self, events: Vec<Event>, samples: &Samples) -> Result<(), RunError> {
        for ev in events {
            match ev {
                Event::Result(r) => {
                    serde_json::to_writer(&mut self.results_out, &r).map_err(io(&self.results_path))?;
                    self.results_out.write_all(b"\n").map_err(io(&self.results_path))?;
                    if let Some(i) = self.detection.detectors.iter().position(|d| d.name == r.detector_id) {
                        push_series(&mut self.series[i], r);
                    }
                }
                Event::Alert(a) => {
                    self.notifications += 1;
                    let entity = a
                        .entity
                        .as_ref()
                        .map(|e| e.iter().map(|v| format!("{}={}", v.name, v.value)).collect::<Vec<_>>().join(" "));
                    tracing::info!(monitor = %a.monitor_name, entity = entity.as_deref().unwrap_or("-"),
                        interval = %rfc3339(a.data_start_time), grade = format!("{:.2}", a.anomaly_grade),
                        features = %a.feature_data.iter().map(|f| format!("{}={:.3}", f.feature_name, f.data)).collect::<Vec<_>>().join(" "),
                        "Alert.");
                    if let Some(d) = &mut self.deliverer {
                        d.send(&a, false);
                    }
                    let out = AlertOut { samples: samples.for_alert(&a), alert: a };
                    serde_json::to_writer(&mut self.alerts_out, &out).map_err(io(&self.alerts_path))?;
                    self.alerts_out.write_all(b"\n").map_err(io(&self.alerts_path))?;
                    if self.flush_each_alert {
                        self.alerts_out.flush().map_err(io(&self.alerts_path))?;
                    }
                    self.alerts.push(out.alert);
                }
                Event::Renotify(a) => {
                    self.notifications += 1;
                    if let Some(d) = &mut self.deliverer {
                        d.send(&a, true);
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<(), RunError> {
        self.results_out.flush().map_err(io(&self.results_path))?;
        self.alerts_out.flush().map_err(io(&self.alerts_path))
    }

    /// What was delivered, logged, for the summary.
    pub(crate) fn deliveries(&self) -> Option<DeliveryCounts> {
        self.deliverer.as_ref().map(|d| {
            let total = d.total();
            for (id, c) in &d.counts {
                tracing::info!(channel = %id, sent = c.sent, failed = c.failed, skipped = c.skipped, "Deliveries.");
            }
            total
        })
    }
}
