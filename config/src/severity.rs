//! Rule severities, and the alerting priority each maps to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A rule's severity, lowest first. A document matching several rules gets the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, rarely worth waking anyone.
    Low,
    /// Worth a look during working hours.
    Medium,
    /// Someone should look soon.
    High,
    /// Page now.
    Critical,
}

impl Severity {
    /// The wire name (`low`, `medium`, `high`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The alerting priority (a trigger's severity, 1 highest) of alerts about it: critical 1 ...
    /// low 4.
    pub fn priority(self) -> u8 {
        match self {
            Severity::Critical => 1,
            Severity::High => 2,
            Severity::Medium => 3,
            Severity::Low => 4,
        }
    }

    /// The severities at least as high as this one, lowest first.
    pub fn at_least(self) -> impl Iterator<Item = Severity> {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().filter(move |s| *s >= self)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
