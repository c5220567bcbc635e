//! The response: its types (for tests and tools that read it), its exact serialised size (the
//! budget), and the writer that produces it directly, byte for byte what serde_json would write for
//! [`FirehoseResponse`], without building it: base64 output needs no JSON escaping, so documents are
//! encoded straight into the response buffer.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize, Serializer};

/// A record's result, with the exact wire strings Firehose accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Transformed; `data` holds the document.
    Ok,
    /// Intentionally not delivered (`data` is empty).
    Dropped,
    /// Could not be transformed; `data` holds the original bytes, and Firehose writes the record to
    /// its `processing-failed/` S3 prefix.
    ProcessingFailed,
}

impl Outcome {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "Ok",
            Outcome::Dropped => "Dropped",
            Outcome::ProcessingFailed => "ProcessingFailed",
        }
    }
}

/// The response's `metadata`, present only when the configuration asks for partition keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    /// S3 dynamic partitioning keys.
    #[serde(rename = "partitionKeys")]
    pub partition_keys: BTreeMap<String, String>,
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    /// The input's `recordId`, unchanged.
    pub record_id: Option<String>,
    /// `Ok`, `Dropped` or `ProcessingFailed`.
    pub result: Outcome,
    /// Base64 of the output (`Ok`), of the original bytes (`ProcessingFailed`), or empty (`Dropped`).
    pub data: String,
    /// Partition keys, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResponseMetadata>,
}

/// The handler's response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseResponse {
    /// One per input record, in input order.
    pub records: Vec<ResponseRecord>,
}

impl FirehoseResponse {
    /// How many records have each outcome: (Ok, Dropped, ProcessingFailed).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.records.iter().fold((0, 0, 0), |(o, d, f), r| match r.result {
            Outcome::Ok => (o + 1, d, f),
            Outcome::Dropped => (o, d + 1, f),
            Outcome::ProcessingFailed => (o, d, f + 1),
        })
    }
}

/// Length of `s` serialised as a JSON string by serde_json, quotes included.
fn json_str_len(s: &str) -> usize {
    let escaped = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    // Or-ing byte flags vectorises without widening; record ids almost never need escaping, so the
    // exact count below runs only when one does.
    if s.bytes().fold(0u8, |any, b| any | u8::from(escaped(b))) == 0 {
        return 2 + s.len();
    }
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Serialised size of one response record, plus the comma that separates it from the next.
pub fn record_cost(
    record_id: Option<&str>,
    result: Outcome,
    data_len: usize,
    meta: Option<&ResponseMetadata>,
) -> usize {
    let id = record_id.map_or(4, json_str_len);
    let meta = meta.map_or(0, |m| {
        // ,"metadata":{"partitionKeys":{ ... }}
        30 + 2
            + m.partition_keys.iter().map(|(k, v)| json_str_len(k) + 1 + json_str_len(v)).sum::<usize>()
            + m.partition_keys.len().saturating_sub(1)
    });
    // {"recordId":ID,"result":"R","data":"D"}  and a comma
    12 + id + 11 + result.as_str().len() + 1 + 9 + data_len + 1 + meta + 1 + 1
}

/// `{"records":[` and `]}`.
pub(crate) const ENVELOPE: usize = 14;

/// A response already serialised: what the handler returns and the Lambda runtime sends.
///
/// Serialising it with serde_json writes its bytes as they are. It goes through serde_json's
/// raw-value protocol (a one-field struct under serde_json's raw-value token, the way
/// `serde_json::value::RawValue` serialises itself) because `RawValue::from_string` would parse the
/// whole response again to validate it; the bytes were written by this module's response writer,
/// which cannot write invalid JSON. A unit test pins that serde_json still honours the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    json: String,
    counts: (usize, usize, usize),
}

/// The struct name and field name under which serde_json writes a string verbatim (`RawValue`'s
/// own serialisation). Requires serde_json's `raw_value` feature.
const SERDE_JSON_RAW_TOKEN: &str = "$serde_json::private::RawValue";

impl Serialize for RawResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct(SERDE_JSON_RAW_TOKEN, 1)?;
        s.serialize_field(SERDE_JSON_RAW_TOKEN, self.json.as_str())?;
        s.end()
    }
}

impl RawResponse {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.json.len()
    }

    /// Whether it is empty (never: even no record is `{"records":[]}`).
    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }

    /// How many records have each outcome: (Ok, Dropped, ProcessingFailed).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.counts
    }

    /// Reads it back as a [`FirehoseResponse`] (tests and tools).
    pub fn parse(&self) -> FirehoseResponse {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

/// Writes `s` as a JSON string exactly as serde_json does: base64 (Firehose's, echoed for a failed
/// record) needs no escaping and is copied as is; anything else goes through serde_json.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// The length of `n` bytes in padded base64.
pub(crate) fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes the response directly into one buffer, sized from the input once: each answer is
/// written as soon as it is known, a delivered document base64-encoded straight into place. An
/// answer that waits for re-ingest is written as `Dropped` and replaced if the re-ingest fails (rare:
/// the only time bytes move).
#[derive(Debug)]
pub(crate) struct ResponseWriter {
    out: Vec<u8>,
    counts: (usize, usize, usize),
    records: usize,
    /// Answers written as `Dropped` while their re-ingest is pending: record index and bytes.
    deferred: Vec<(usize, Range<usize>)>,
}

impl ResponseWriter {
    /// A writer whose buffer holds `capacity` bytes before it grows.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(b"{\"records\":[");
        ResponseWriter { out, counts: (0, 0, 0), records: 0, deferred: Vec::new() }
    }

    /// Writes an answer's opening up to its data's opening quote.
    fn open(&mut self, id: Option<&str>, result: &[u8]) -> usize {
        let start = self.out.len();
        if self.records > 0 {
            self.out.push(b',');
        }
        self.records += 1;
        self.out.extend_from_slice(b"{\"recordId\":");
        match id {
            // serde_json's escaping, so ids round-trip exactly; they are short.
            Some(id) => {
                let _ = serde_json::to_writer(&mut self.out, id);
            }
            None => self.out.extend_from_slice(b"null"),
        }
        self.out.extend_from_slice(b",\"result\":\"");
        self.out.extend_from_slice(result);
        self.out.extend_from_slice(b"\",\"data\":");
        start
    }

    /// `Ok`, with the document base64-encoded in place.
    pub(crate) fn ok(&mut self, id: Option<&str>, doc: &[u8], meta: Option<&ResponseMetadata>) {
        self.counts.0 += 1;
        self.open(id, b"Ok");
        self.out.push(b'"');
        base64_simd::STANDARD.encode_append(doc, &mut self.out);
        self.out.push(b'"');
        if let Some(m) = meta {
            self.out.extend_from_slice(b",\"metadata\":");
            let _ = serde_json::to_writer(&mut self.out, m);
        }
        self.out.push(b'}');
    }

    /// `Dropped`.
    pub(crate) fn dropped(&mut self, id: Option<&str>) -> Range<usize> {
        self.counts.1 += 1;
        let start = self.open(id, b"Dropped");
        self.out.extend_from_slice(b"\"\"}");
        start..self.out.len()
    }

    /// `ProcessingFailed`, with the record's original data.
    pub(crate) fn failed(&mut self, id: Option<&str>, data: &str) {
        self.counts.2 += 1;
        self.open(id, b"ProcessingFailed");
        write_json_str(&mut self.out, data);
        self.out.push(b'}');
    }

    /// `Dropped` for now: the record waits for re-ingest.
    pub(crate) fn deferred(&mut self, record: usize, id: Option<&str>) {
        let range = self.dropped(id);
        self.deferred.push((record, range));
    }

    /// Turns the deferred answers of the records in `failed` (index, id, original data) into
    /// `ProcessingFailed`.
    pub(crate) fn fail_deferred<'a>(&mut self, failed: impl Iterator<Item = (usize, Option<&'a str>, &'a str)>) {
        let mut replacements: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        for (record, id, data) in failed {
            let Some((_, range)) = self.deferred.iter().find(|(r, _)| *r == record) else { continue };
            let mut entry = ResponseWriter {
                out: Vec::new(),
                counts: (0, 0, 0),
                records: usize::from(self.out[range.start] == b','),
                deferred: Vec::new(),
            };
            entry.failed(id, data);
            replacements.push((range.clone(), entry.out));
        }
        // From the end, so that the ranges still to replace stay where they are.
        replacements.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (range, bytes) in replacements {
            self.counts.1 -= 1;
            self.counts.2 += 1;
            self.out.splice(range, bytes);
        }
    }

    /// The response.
    pub(crate) fn finish(mut self) -> RawResponse {
        self.out.extend_from_slice(b"]}");
        // Only ASCII and serde_json's own UTF-8 output were written.
        let json = String::from_utf8(self.out).unwrap_or_default();
        RawResponse { json, counts: self.counts }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn record_cost_is_the_serialised_size(
            id in proptest::option::of(".{0,40}"),
            data in "[A-Za-z0-9+/=]{0,200}",
            keys in proptest::collection::btree_map(".{1,8}", ".{0,12}", 0..4),
            with_meta in any::<bool>(),
            result in prop_oneof![Just(Outcome::Ok), Just(Outcome::Dropped), Just(Outcome::ProcessingFailed)],
        ) {
            let metadata = with_meta.then_some(ResponseMetadata { partition_keys: keys });
            let rec = ResponseRecord { record_id: id.clone(), result, data: data.clone(), metadata: metadata.clone() };
            let one = serde_json::to_vec(&FirehoseResponse { records: vec![rec.clone()] }).unwrap().len();
            let two = serde_json::to_vec(&FirehoseResponse { records: vec![rec.clone(), rec] }).unwrap().len();
            let cost = record_cost(id.as_deref(), result, data.len(), metadata.as_ref());
            prop_assert_eq!(one, ENVELOPE + cost - 1);
            prop_assert_eq!(two, ENVELOPE + 2 * cost - 1);
        }
    }

    #[test]
    fn serde_json_writes_a_raw_response_verbatim() {
        let json = r#"{"records":[{"recordId":"a","result":"Ok","data":"e30="}]}"#.to_owned();
        let raw = RawResponse { json: json.clone(), counts: (1, 0, 0) };
        assert_eq!(serde_json::to_string(&raw).unwrap(), json, "serde_json's raw-value protocol changed");
    }
}
