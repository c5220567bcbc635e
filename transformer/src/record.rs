//! The record function: one Firehose record's bytes in, one answer out.
//!
//! This is the code the Lambda handler runs for each record, and the code `wafwatch run` and
//! `transformer encode` run for each line. It never panics on input and never touches the network:
//! records that need re-ingesting are handed back to the caller as [`Disposition::Split`].

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use wafwatch_config::pointer::Pointer;
use wafwatch_config::transform::{Destination, Format, MessageFormat, RuleId, Transform};
use wafwatch_config::{ConfigError, Severity};

use crate::columns;
use crate::compile::Compiled;
use crate::extract::{ExtractError, Value, extract};
use crate::limits::MAX_RECORD_BYTES;
use crate::text;
use crate::time;

/// Largest decompressed CloudWatch Logs document accepted from one record (a guard against
/// gzip bombs; real subscription data is far smaller than this).
pub const MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// What became of a record that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// The output buffer holds the record's document(s), each one newline-terminated line of
    /// JSON. `partition_keys` is set when the configuration asks for them.
    Deliver {
        /// `metadata.partitionKeys` for S3 dynamic partitioning.
        partition_keys: Option<BTreeMap<String, String>>,
    },
    /// Nothing to deliver (a CloudWatch Logs `CONTROL_MESSAGE`, or a message with no events).
    Drop(&'static str),
    /// The record holds several documents bound for OpenSearch, which takes one per record: the
    /// input is answered `Dropped` and these records (each a single-event CloudWatch Logs record)
    /// are put back into the same delivery stream.
    Split(Vec<Vec<u8>>),
}

/// Why one record could not be transformed. Each becomes `ProcessingFailed` for that record alone.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record's data is empty or only whitespace.
    #[error("record is empty")]
    Empty,
    /// Larger than Firehose's per-record limit.
    #[error("record is {0} bytes, over Firehose's limit of {MAX_RECORD_BYTES} bytes")]
    TooLarge(usize),
    /// `data` is not valid base64.
    #[error("record data is not valid base64")]
    Base64,
    /// The bytes are not UTF-8.
    #[error("record is not valid UTF-8 (at byte {0})")]
    InvalidUtf8(usize),
    /// Not JSON.
    #[error("record is not valid JSON: {0}")]
    NotJson(serde_json::Error),
    /// JSON, but not an object.
    #[error("record is JSON but not an object; one JSON object per record is expected")]
    NotObject,
    /// A member the transformer would add is already there.
    #[error("record already has a member `{0}`, which the transformer writes; refusing to write it twice")]
    Clash(String),
    /// The timestamp member is there but is neither epoch milliseconds nor RFC 3339.
    #[error("timestamp at `{pointer}` is {found}, not epoch milliseconds or an RFC 3339 string")]
    BadTimestamp {
        /// The configured pointer.
        pointer: String,
        /// What was found there.
        found: String,
    },
    /// The record is gzip but does not decompress.
    #[error("record is not valid gzip: {0}")]
    Gzip(std::io::Error),
    /// Decompressed data is over [`MAX_DECOMPRESSED_BYTES`].
    #[error("decompressed record is over {MAX_DECOMPRESSED_BYTES} bytes")]
    Decompressed,
    /// Not CloudWatch Logs subscription data.
    #[error("record is not CloudWatch Logs subscription data: {0}")]
    NotLogData(serde_json::Error),
    /// An unknown `messageType`.
    #[error("CloudWatch Logs messageType `{0}` is neither DATA_MESSAGE nor CONTROL_MESSAGE")]
    UnknownMessageType(String),
    /// One log event inside a CloudWatch Logs record failed.
    #[error("CloudWatch Logs event {id}: {source}")]
    Event {
        /// The event's id.
        id: String,
        /// Why it failed.
        source: Box<RecordError>,
    },
}

/// What the transformer decided for one document: what the local engine aggregates, without
/// parsing the JSON it has just written. Filled by [`Transformer::transform_with_facts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `@timestamp`, epoch milliseconds.
    pub timestamp_ms: i64,
    /// Each column's value, in output order (index it with a `ColumnId`).
    pub columns: Vec<bool>,
    /// The highest severity of the matched rules.
    pub severity: Option<Severity>,
    /// The matched rules, in configuration order.
    pub rules: Vec<RuleId>,
    /// The values of the members asked for with [`Transformer::with_captures`], in that order
    /// (`None` when missing, null, an object or an array).
    pub captured: Vec<Option<String>>,
}

/// The transformer: a validated configuration plus what it compiles to.
#[derive(Debug, Clone)]
pub struct Transformer {
    cfg: Transform,
    compiled: Compiled,
}

impl Transformer {
    /// Compiles the transformer for a validated configuration. Fails only when the rules' regular
    /// expressions, each valid alone, are too large to compile together.
    pub fn new(cfg: Transform) -> Result<Self, ConfigError> {
        Self::with_captures(cfg, &[])
    }

    /// Builds a transformer that also reports the values of `captures` in [`Facts::captured`]:
    /// members the configuration does not encode but the local engine needs (a detector's
    /// category field, a cardinality feature's field, a monitor's group-by field). They are read in
    /// the same pass; the documents written are exactly those of [`Transformer::new`].
    ///
    /// ```
    /// use wafwatch_config::{Transform, pointer::Pointer};
    /// use wafwatch_transformer::{Facts, Transformer};
    /// let t = Transformer::with_captures(Transform::bundled().unwrap(), &[Pointer::parse("/clientIp").unwrap()]).unwrap();
    /// let (mut out, mut facts) = (Vec::new(), Facts::default());
    /// t.transform_with_facts(br#"{"clientIp":"192.0.2.7","action":"BLOCK"}"#, 0, &mut out, &mut facts).unwrap();
    /// assert_eq!(facts.captured, [Some("192.0.2.7".to_string())]);
    /// ```
    pub fn with_captures(cfg: Transform, captures: &[Pointer]) -> Result<Self, ConfigError> {
        let compiled = Compiled::new(&cfg, captures)?;
        Ok(Transformer { cfg, compiled })
    }

    /// How many bytes a document grows by, for sizing buffers: every column, `@timestamp`, and
    /// room for a rule name and a severity when rules are configured.
    pub fn growth_estimate(&self) -> usize {
        let columns: usize = self.compiled.column_prefixes.iter().map(|p| p.len() + 1).sum();
        let rules = if self.compiled.rules.is_empty() { 0 } else { 64 };
        columns + ",\"@timestamp\":\"2026-01-01T00:00:00.000Z\"".len() + rules
    }

    /// The configuration this transformer runs.
    pub fn config(&self) -> &Transform {
        &self.cfg
    }

    /// Transforms one record's bytes (already base64-decoded).
    ///
    /// `arrival_ms` is the time used when the record has no timestamp of its own (Firehose's
    /// `approximateArrivalTimestamp`, or the time a line was read). On [`Disposition::Deliver`]
    /// the document(s) are appended to `out`; on any other result `out` is left as it was.
    ///
    /// ```
    /// use wafwatch_config::Transform;
    /// use wafwatch_transformer::{Disposition, Transformer};
    /// let t = Transformer::new(Transform::bundled().unwrap()).unwrap();
    /// let mut out = Vec::new();
    /// let d = t.transform(br#"{"timestamp":1795262283412,"action":"BLOCK","country":"FR"}"#, 0, &mut out).unwrap();
    /// assert!(matches!(d, Disposition::Deliver { .. }));
    /// let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    /// assert_eq!(doc["B_action"], 1);
    /// assert_eq!(doc["UNK_country"], 1);
    /// assert_eq!(doc["@timestamp"], "2026-11-21T11:58:03.412Z");
    /// ```
    pub fn transform(&self, data: &[u8], arrival_ms: i64, out: &mut Vec<u8>) -> Result<Disposition, RecordError> {
        self.transform_inner(data, arrival_ms, out, None)
    }

    /// [`Transformer::transform`], also reporting the facts of the (last) document written.
    pub fn transform_with_facts(
        &self,
        data: &[u8],
        arrival_ms: i64,
        out: &mut Vec<u8>,
        facts: &mut Facts,
    ) -> Result<Disposition, RecordError> {
        self.transform_inner(data, arrival_ms, out, Some(facts))
    }

    fn transform_inner(
        &self,
        data: &[u8],
        arrival_ms: i64,
        out: &mut Vec<u8>,
        mut facts: Option<&mut Facts>,
    ) -> Result<Disposition, RecordError> {
        if data.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge(data.len()));
        }
        let start = out.len();
        let result = match self.cfg.format() {
            Format::Json => {
                let text = as_text(data)?;
                self.encode_json(text, text, arrival_ms, out, facts.as_deref_mut())
            }
            Format::Text => {
                let text = as_text(data)?;
                self.encode_text(text, arrival_ms, out, facts.as_deref_mut())
            }
            Format::CloudwatchLogs => self.encode_cloudwatch(data, out, facts),
        };
        if !matches!(result, Ok(Disposition::Deliver { .. })) {
            out.truncate(start);
        }
        result
    }

    /// Encodes one JSON object. `line` is what whole-line rules test.
    fn encode_json(
        &self,
        text: &str,
        line: &str,
        fallback_ms: i64,
        out: &mut Vec<u8>,
        facts: Option<&mut Facts>,
    ) -> Result<Disposition, RecordError> {
        let body = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if body.is_empty() {
            return Err(RecordError::Empty);
        }
        let got = extract(body, &self.compiled.trie, &self.compiled.reserved).map_err(|e| match e {
            ExtractError::NotObject => RecordError::NotObject,
            ExtractError::Json(e) => RecordError::NotJson(e),
        })?;
        if let Some(member) = got.clash {
            return Err(RecordError::Clash(member));
        }
        let on = columns::decide(&self.compiled.fields, &got, self.compiled.column_prefixes.len());
        let values = got.values;
        let millis = self.event_time(&values[self.compiled.timestamp], fallback_ms)?;

        let start = out.len();
        out.reserve(body.len() + 32 * self.compiled.column_prefixes.len() + 64);
        // The object without its closing brace, minified when it spans several lines.
        let open = &body[..body.len() - 1];
        if has_line_break(open.as_bytes()) {
            minify_into(open, out);
        } else {
            out.extend_from_slice(open.as_bytes());
        }
        let mut members =
            Members { empty: out[start..].iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') };
        for (prefix, is_on) in self.compiled.column_prefixes.iter().zip(&on) {
            members.add(out, prefix);
            out.push(if *is_on { b'1' } else { b'0' });
        }
        members.add(out, b",\"@timestamp\":\"");
        if !time::write_rfc3339_millis(millis, out) {
            out.truncate(start);
            return Err(self.bad_timestamp(format!("{millis} ms, outside the years 0000-9999")));
        }
        out.push(b'"');
        let (severity, matched) = self.rules(line, &values, &mut members, out);
        out.extend_from_slice(b"}\n");
        if let Some(f) = facts {
            self.fill_facts(f, &values, millis, on, severity, matched);
        }
        let partition_keys = self.cfg.has_partition_keys().then(|| {
            self.compiled
                .partition_keys
                .iter()
                .map(|(name, slot)| (name.clone(), values[*slot].text().unwrap_or("unknown").to_owned()))
                .collect()
        });
        Ok(Disposition::Deliver { partition_keys })
    }

    /// The event time: the timestamp member, or `fallback_ms` when it is missing.
    #[inline]
    fn event_time(&self, value: &Value<'_>, fallback_ms: i64) -> Result<i64, RecordError> {
        match value {
            Value::Missing => Ok(fallback_ms),
            Value::Str(s) => time::millis_from_str(s).ok_or_else(|| self.bad_timestamp(format!("the string {s:?}"))),
            Value::Literal(t) => time::millis_from_number(t).ok_or_else(|| self.bad_timestamp(format!("`{t}`"))),
        }
    }

    /// Writes `rules` (and `severity` when one matched), when rules are configured; returns the
    /// highest severity and the matched rules.
    #[inline]
    fn rules(
        &self,
        line: &str,
        values: &[Value<'_>],
        members: &mut Members,
        out: &mut Vec<u8>,
    ) -> (Option<Severity>, Vec<RuleId>) {
        let mut matched = Vec::new();
        if self.compiled.rules.is_empty() {
            return (None, matched);
        }
        members.add(out, b",\"rules\":[");
        let mut first = true;
        let severity = self.compiled.rules.evaluate(line, values, |index: usize, name: &str| {
            matched.push(RuleId::from_index(index));
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
        });
        out.push(b']');
        if let Some(sev) = severity {
            out.extend_from_slice(b",\"severity\":\"");
            out.extend_from_slice(sev.as_str().as_bytes());
            out.push(b'"');
        }
        (severity, matched)
    }

    /// What the local engine needs of the document just written.
    fn fill_facts(
        &self,
        f: &mut Facts,
        values: &[Value<'_>],
        millis: i64,
        on: Vec<bool>,
        severity: Option<Severity>,
        matched: Vec<RuleId>,
    ) {
        f.timestamp_ms = millis;
        f.columns = on;
        f.severity = severity;
        f.rules = matched;
        f.captured.resize(self.compiled.captures.len(), None);
        for (dst, slot) in f.captured.iter_mut().zip(&self.compiled.captures) {
            match (values[*slot].text(), dst.as_mut()) {
                (Some(v), Some(s)) => {
                    s.clear();
                    s.push_str(v);
                }
                (Some(v), None) => *dst = Some(v.to_owned()),
                (None, _) => *dst = None,
            }
        }
    }

    fn bad_timestamp(&self, found: String) -> RecordError {
        RecordError::BadTimestamp { pointer: self.cfg.timestamp().to_string(), found }
    }

    fn encode_text(
        &self,
        line: &str,
        fallback_ms: i64,
        out: &mut Vec<u8>,
        facts: Option<&mut Facts>,
    ) -> Result<Disposition, RecordError> {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            return Err(RecordError::Empty);
        }
        let doc = text::document(line);
        self.encode_json(&doc, line, fallback_ms, out, facts)
    }

    fn encode_cloudwatch(
        &self,
        data: &[u8],
        out: &mut Vec<u8>,
        mut facts: Option<&mut Facts>,
    ) -> Result<Disposition, RecordError> {
        let trimmed = data.trim_ascii();
        if trimmed.is_empty() {
            return Err(RecordError::Empty);
        }
        let plain;
        let json: &[u8] = if trimmed.starts_with(&[0x1f, 0x8b]) {
            plain = gunzip(data)?;
            &plain
        } else {
            trimmed
        };
        let log: LogData = serde_json::from_slice(json).map_err(RecordError::NotLogData)?;
        match log.message_type.as_str() {
            "CONTROL_MESSAGE" => return Ok(Disposition::Drop("CloudWatch Logs control message")),
            "DATA_MESSAGE" => {}
            other => return Err(RecordError::UnknownMessageType(other.to_owned())),
        }
        match log.log_events.len() {
            0 => Ok(Disposition::Drop("CloudWatch Logs message with no log events")),
            1 => self.encode_event(&log.log_events[0], out, facts),
            _ if self.cfg.destination() == Destination::Opensearch => {
                let mut parts = Vec::with_capacity(log.log_events.len());
                for ev in &log.log_events {
                    let single = LogData { log_events: vec![ev.clone()], ..log.clone_header() };
                    parts.push(gzip_json(&single));
                }
                Ok(Disposition::Split(parts))
            }
            _ => {
                let mut keys = None;
                for ev in &log.log_events {
                    if let Disposition::Deliver { partition_keys } = self.encode_event(ev, out, facts.as_deref_mut())? {
                        keys = keys.or(partition_keys);
                    }
                }
                Ok(Disposition::Deliver { partition_keys: keys })
            }
        }
    }

    fn encode_event(
        &self,
        ev: &LogEvent,
        out: &mut Vec<u8>,
        facts: Option<&mut Facts>,
    ) -> Result<Disposition, RecordError> {
        let wrap = |e: RecordError| RecordError::Event { id: ev.id.clone(), source: Box::new(e) };
        match self.cfg.message_format() {
            MessageFormat::Json => self.encode_json(&ev.message, &ev.message, ev.timestamp, out, facts),
            MessageFormat::Text => self.encode_text(&ev.message, ev.timestamp, out, facts),
        }
        .map_err(wrap)
    }
}

/// Members appended to a document: every prefix starts with the comma that separates it from the
/// previous member, dropped when the object was empty.
struct Members {
    empty: bool,
}

impl Members {
    #[inline]
    fn add(&mut self, out: &mut Vec<u8>, prefix: &[u8]) {
        out.extend_from_slice(if self.empty { &prefix[1..] } else { prefix });
        self.empty = false;
    }
}

fn as_text(data: &[u8]) -> Result<&str, RecordError> {
    std::str::from_utf8(data).map_err(|e| RecordError::InvalidUtf8(e.valid_up_to()))
}

/// Whether `bytes` hold a `\n` or `\r`. Every record is scanned, so this uses memchr's SIMD
/// search: a byte-at-a-time test cost 15% of `wafwatch run`, and a chunked fold that was meant to
/// vectorise did not (the compiler kept it scalar; it was 15% of the handler in criterion).
fn has_line_break(bytes: &[u8]) -> bool {
    memchr::memchr2(b'\n', b'\r', bytes).is_some()
}

/// Copies JSON text, dropping whitespace outside strings.
fn minify_into(text: &str, out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &b in text.as_bytes() {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, RecordError> {
    let mut out = Vec::with_capacity(data.len() * 4);
    let mut dec = GzDecoder::new(data).take(MAX_DECOMPRESSED_BYTES as u64 + 1);
    dec.read_to_end(&mut out).map_err(RecordError::Gzip)?;
    if out.len() > MAX_DECOMPRESSED_BYTES {
        return Err(RecordError::Decompressed);
    }
    Ok(out)
}

fn gzip_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::new(6));
    // Writing into a Vec cannot fail, and serialising these plain structs cannot either.
    let _ = serde_json::to_writer(&mut enc, value);
    let _ = enc.flush();
    enc.finish().unwrap_or_default()
}

/// CloudWatch Logs subscription data, as Firehose receives it (gunzipped).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogData {
    message_type: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    log_group: String,
    #[serde(default)]
    log_stream: String,
    #[serde(default)]
    subscription_filters: Vec<String>,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

impl LogData {
    fn clone_header(&self) -> LogData {
        LogData {
            message_type: self.message_type.clone(),
            owner: self.owner.clone(),
            log_group: self.log_group.clone(),
            log_stream: self.log_stream.clone(),
            subscription_filters: self.subscription_filters.clone(),
            log_events: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogEvent {
    #[serde(default)]
    id: String,
    timestamp: i64,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_line_breaks_anywhere() {
        for len in [0, 1, 63, 64, 65, 200] {
            let mut text = vec![b'x'; len];
            assert!(!has_line_break(&text), "{len}");
            for at in 0..len {
                for brk in [b'\n', b'\r'] {
                    text[at] = brk;
                    assert!(has_line_break(&text), "{len} {at}");
                    text[at] = b'x';
                }
            }
        }
    }

    #[test]
    fn minify_keeps_string_whitespace() {
        let mut out = Vec::new();
        minify_into("{\n  \"a b\" : \"x \\\" \\n y\",\n  \"c\": [1, 2]\n", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a b":"x \" \n y","c":[1,2]"#);
    }
}
