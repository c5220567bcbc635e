//! The run's summary: what `--summary-json` writes and the log ends with.

use serde::Serialize;

use super::deliver::DeliveryCounts;
use super::exact::FirehoseCounts;
use super::score::ScenarioScore;

/// The run's summary, as `--summary-json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Records simulated and encoded.
    pub records: u64,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Alerts after warm-up outside every scenario window, per simulated day (null without ground truth).
    pub false_alerts_per_day: Option<f64>,
    /// Lines that could not be encoded.
    pub bad_records: u64,
    /// With --exact-firehose: what the Lambda handler answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firehose: Option<FirehoseCounts>,
    /// With --deliver: what the channels accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<DeliveryCounts>,
    /// Late documents and per-entity model counts.
    pub engine: wafwatch_engine::EngineStats,
    /// Per scenario.
    pub scenarios: Vec<ScenarioScore>,
}

/// Says so when documents came too late to be counted: out-of-order input loses data silently
/// otherwise.
pub(crate) fn warn_late(stats: wafwatch_engine::EngineStats) -> wafwatch_engine::EngineStats {
    if stats.late_documents > 0 {
        tracing::warn!(
            documents = stats.late_documents,
            "Documents arrived after their interval had been evaluated (later than the detector's window delay) \
             and were not counted, as a live detector would miss them: give the inputs in time order, or raise window_delay."
        );
    }
    stats
}
