//! # wafwatch-log-simulator (skeleton)
//!
//! **Nothing is implemented here yet.** This crate will hold the traffic model, the labelled
//! attack scenarios, the ground truth, and the sinks (stdout, files, S3, Firehose, OpenSearch
//! `_bulk`) behind the `log-simulator` binary and `wafwatch simulate` (issue 3).
//!
//! It exists now so that the workspace has its final shape and dependency direction:
//! `transformer` ← `opensearch` ← `log-simulator` ← `wafwatch`.
