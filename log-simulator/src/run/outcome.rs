//! What a run did ([`Outcome`]), why it failed ([`RunError`]), and the summary logged at its end.

use crate::sim::Label;
use crate::sinks::{SinkError, SinkReport};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Options that do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Records generated or replayed.
    pub records: u64,
    /// One report per sink.
    pub sinks: Vec<SinkReport>,
    /// The scenarios' ground truth.
    pub labels: Vec<Label>,
    /// The run stopped because standard output was closed.
    pub stdout_closed: bool,
}

impl Outcome {
    /// Records that could not be delivered, over all sinks.
    pub fn failed(&self) -> u64 {
        self.sinks.iter().map(|s| s.failed).sum()
    }
}

/// Logs what the run did: one line for the run, one per sink, one per scenario.
pub(crate) fn summarize(outcome: &Outcome, random_anomalies: u64) {
    tracing::info!(records = outcome.records, random_anomalies, "Run finished.");
    for s in &outcome.sinks {
        if s.failed > 0 {
            tracing::warn!(sink = %s.name, delivered = s.records, failed = s.failed, writes = s.writes,
                error = s.error.as_deref().unwrap_or(""), "Sink could not deliver everything.");
        } else {
            tracing::info!(sink = %s.name, delivered = s.records, bytes = s.bytes, writes = s.writes, "Sink done.");
        }
    }
    for l in &outcome.labels {
        tracing::info!(scenario = l.scenario, start = %l.start, end = %l.end, records = l.records, "Scenario.");
    }
}
