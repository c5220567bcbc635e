//! The AWS limits the transformer works within, in one place (the member names it writes are in
//! `wafwatch_config::wire`).
//!
//! Every number here comes from `firehose-lambda-waf.md` (the project's copy of the contract), which
//! cites the AWS page it was taken from. Change a limit here and nowhere else.

/// Largest record Firehose accepts, before base64: 1,000 KiB.
///
/// <https://docs.aws.amazon.com/firehose/latest/dev/limits.html>
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;

/// Lambda's synchronous response limit is 6 MB (the runtime refuses a post of 6,291,556 bytes or more
/// with HTTP 413). The transformer keeps its serialised response under this budget, which leaves the
/// same headroom AWS's own Firehose blueprints leave.
///
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>
pub const RESPONSE_BUDGET_BYTES: usize = 6_000_000;

/// PutRecordBatch takes at most 500 records per call.
///
/// <https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html>
pub const PUT_RECORD_BATCH_MAX_RECORDS: usize = 500;

/// PutRecordBatch takes at most 4 MiB per call (the sum of the records' raw bytes).
///
/// <https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html>
pub const PUT_RECORD_BATCH_MAX_BYTES: usize = 4 * 1024 * 1024;
