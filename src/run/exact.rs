//! `wafwatch run --exact-firehose`: the run's records also go through the Lambda handler itself.
//!
//! The run encodes every record with the transformer's record function, the code the handler calls
//! per record. With `--exact-firehose` each batch is also wrapped in real Firehose events (base64
//! records of at most [`FIREHOSE_BUFFER_BYTES`] of data per event, Firehose's default processor
//! buffer), the handler is called on each, every answer is counted, and each `Ok` document is
//! compared byte for byte with what the record function wrote. The run hands over one simulated
//! minute at a time, so events follow Firehose's default processor buffer hints: 1 MiB or 60
//! seconds, whichever fills first. A difference means the Lambda and
//! the local run disagree, which must never happen; it is counted and reported.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use wafwatch_transformer::firehose::{FirehoseEvent, FirehoseRecord};
use wafwatch_transformer::limits::RESPONSE_BUDGET_BYTES;
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{Outcome, Transformer};

/// Firehose's default processor buffer size: at most this much data per invocation (the default
/// buffer interval, 60 s, is the run's one-minute batch).
/// <https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html>
pub const FIREHOSE_BUFFER_BYTES: usize = 1 << 20;

/// The stream the local events claim to come from (re-ingest goes nowhere: it is kept in memory).
const LOCAL_STREAM_ARN: &str = "arn:aws:firehose:us-east-1:111122223333:deliverystream/aws-waf-logs-wafwatch-local";

/// What the Lambda handler answered over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FirehoseCounts {
    /// Handler invocations (Firehose events).
    pub invocations: u64,
    /// `Ok` answers.
    pub ok: u64,
    /// `Dropped` answers.
    pub dropped: u64,
    /// `ProcessingFailed` answers.
    pub processing_failed: u64,
    /// `Ok` documents that differ from the record function's output (always 0 unless broken).
    pub mismatched: u64,
    /// The largest serialised response, in bytes (the Lambda limit is 6 MB).
    pub largest_response_bytes: u64,
}

/// The record function's verdict on one record, to compare the handler's answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected<'a> {
    /// Delivered: this document.
    Doc(&'a [u8]),
    /// Dropped or failed.
    Other,
}

/// Runs the handler over `records` (raw bytes and arrival time), in events of at most
/// [`FIREHOSE_BUFFER_BYTES`], comparing each answer with `expected`.
pub fn run_handler<'a>(
    rt: &tokio::runtime::Runtime,
    transformer: &Transformer,
    records: impl ExactSizeIterator<Item = (&'a [u8], i64, Expected<'a>)>,
    seq: &mut u64,
    counts: &mut FirehoseCounts,
) {
    let mut records = records.peekable();
    let mut decoded = Vec::new();
    while records.peek().is_some() {
        let mut event = FirehoseEvent {
            invocation_id: Some(format!("local-{}", counts.invocations + 1)),
            delivery_stream_arn: Some(LOCAL_STREAM_ARN.into()),
            region: Some("us-east-1".into()),
            ..FirehoseEvent::default()
        };
        let mut expected = Vec::new();
        let mut bytes = 0;
        while let Some((data, _, _)) = records.peek() {
            if !event.records.is_empty() && bytes + data.len() > FIREHOSE_BUFFER_BYTES {
                break;
            }
            let Some((data, arrival, want)) = records.next() else { break };
            bytes += data.len();
            *seq += 1;
            event.records.push(FirehoseRecord {
                record_id: Some(format!("{seq:020}")),
                approximate_arrival_timestamp: Some(arrival),
                data: Some(STANDARD.encode(data)),
            });
            expected.push(want);
        }
        let memory = MemoryReingest::default();
        let response = rt.block_on(wafwatch_transformer::handle(event, transformer, &memory));
        counts.invocations += 1;
        for (answer, want) in response.records.iter().zip(&expected) {
            match answer.result {
                Outcome::Ok => counts.ok += 1,
                Outcome::Dropped => counts.dropped += 1,
                Outcome::ProcessingFailed => counts.processing_failed += 1,
            }
            let same = match (answer.result, want) {
                (Outcome::Ok, Expected::Doc(doc)) => {
                    decoded.clear();
                    STANDARD.decode_vec(answer.data.as_bytes(), &mut decoded).is_ok() && decoded == *doc
                }
                (Outcome::Ok, Expected::Other) | (_, Expected::Doc(_)) => false,
                (_, Expected::Other) => true,
            };
            if !same {
                counts.mismatched += 1;
                tracing::error!(record_id = ?answer.record_id, result = answer.result.as_str(),
                    "The Lambda handler and the record function disagree on a record.");
            }
        }
        counts.mismatched += expected.len().abs_diff(response.records.len()) as u64;
        let size = serde_json::to_vec(&response).map_or(0, |v| v.len() as u64);
        counts.largest_response_bytes = counts.largest_response_bytes.max(size);
        if size > RESPONSE_BUDGET_BYTES as u64 {
            tracing::error!(size, "A handler response is over the 6 MB Lambda payload budget.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transformer() -> Transformer {
        Transformer::new(wafwatch_config::Transform::bundled().unwrap()).unwrap()
    }

    #[test]
    fn counts_every_answer_and_agrees_with_the_record_function() {
        let t = transformer();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let good = br#"{"timestamp":1767225600000,"action":"BLOCK","country":"FR"}"#;
        let mut doc = Vec::new();
        t.transform(good, 0, &mut doc).unwrap();
        let bad = b"not json";
        let records = vec![
            (good.as_slice(), 1, Expected::Doc(&doc)),
            (bad.as_slice(), 2, Expected::Other),
            (good.as_slice(), 3, Expected::Doc(&doc)),
        ];
        let (mut seq, mut counts) = (0, FirehoseCounts::default());
        run_handler(&rt, &t, records.into_iter(), &mut seq, &mut counts);
        assert_eq!((counts.invocations, counts.ok, counts.processing_failed, counts.dropped), (1, 2, 1, 0));
        assert_eq!(counts.mismatched, 0);
        assert!(counts.largest_response_bytes > 2 * doc.len() as u64);
        assert_eq!(seq, 3);

        // A record function output that differs from the handler's is caught.
        let other = b"{\"different\":1}\n";
        let records =
            vec![(good.as_slice(), 1, Expected::Doc(other.as_slice())), (bad.as_slice(), 2, Expected::Doc(&doc))];
        let mut counts = FirehoseCounts::default();
        run_handler(&rt, &t, records.into_iter(), &mut seq, &mut counts);
        assert_eq!(counts.mismatched, 2);
    }

    #[test]
    fn events_stay_within_the_processor_buffer() {
        let t = transformer();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // Two full events' worth of records and one more: three events.
        let pad = "x".repeat(640);
        let line = format!(r#"{{"timestamp":1767225600000,"action":"ALLOW","uri":"/{pad}"}}"#);
        let n = 2 * (FIREHOSE_BUFFER_BYTES / line.len()) + 1;
        let records: Vec<_> = (0..n).map(|i| (line.as_bytes(), i as i64, Expected::Other)).collect();
        let (mut seq, mut counts) = (0, FirehoseCounts::default());
        run_handler(&rt, &t, records.into_iter(), &mut seq, &mut counts);
        assert_eq!(counts.invocations, 3);
        assert_eq!(counts.ok, n as u64);
        assert_eq!(counts.mismatched, n as u64, "Expected::Other for an Ok record is a disagreement");
    }
}
