//! What each monitor's condition measured, evaluation by evaluation, when nothing was going on:
//! the background `wafwatch tune` derives thresholds from.

use serde::Serialize;

/// One monitor's measurements, in time order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Background {
    /// The monitor.
    pub monitor: String,
    /// A count monitor: each minute's count over its window (the largest group's when grouped).
    /// An anomaly monitor: each interval's highest grade among results confident enough to alert
    /// (0 when none was).
    pub values: Vec<Measured>,
}

/// One evaluation's measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measured {
    /// The start of the minute or interval evaluated (epoch ms).
    pub at: i64,
    /// What the condition compared with its threshold.
    pub value: f64,
}
