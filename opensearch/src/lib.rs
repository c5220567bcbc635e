//! # wafwatch-opensearch (skeleton)
//!
//! **Nothing is implemented here yet.** This crate will own the index, detector, monitor and
//! channel sections of `wafwatch.toml`; build the index template, ISM policy, anomaly detectors,
//! alerting monitors, notification channels and dashboards from them; plan and apply them against a
//! cluster; and evaluate the same detectors and monitors offline with Random Cut Forest (issues 4
//! and 5).
//!
//! It exists now so that the workspace has its final shape and dependency direction:
//! `transformer` ← `opensearch` ← `log-simulator` ← `wafwatch`.
