//! Helpers shared by the integration tests.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use wafwatch_config::Transform;
use wafwatch_config::expand::Expansion;
use wafwatch_config::transform::TransformSections;
use wafwatch_transformer::Transformer;
use wafwatch_transformer::firehose::{FirehoseEvent, FirehoseRecord, FirehoseResponse};

pub const AWS_WAF_PRESET: &str = wafwatch_config::file::AWS_WAF_PRESET_TOML;
pub const TEXT_PRESET: &str = wafwatch_config::file::TEXT_LOGS_PRESET_TOML;
pub const STREAM_ARN: &str = "arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-shop";

pub fn default_transformer() -> Transformer {
    Transformer::new(Transform::bundled().unwrap()).unwrap()
}

pub fn preset_transformer() -> Transformer {
    from_toml(AWS_WAF_PRESET)
}

pub fn from_toml(text: &str) -> Transformer {
    let sections = TransformSections::from_whole_toml(text).unwrap();
    Transformer::new(sections.validate(Expansion::Literal).unwrap()).unwrap()
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// An event whose records carry these raw `data` strings (already base64, or deliberately not).
pub fn event_with_data(data: &[Option<&str>]) -> FirehoseEvent {
    FirehoseEvent {
        invocation_id: Some("inv-1".into()),
        delivery_stream_arn: Some(STREAM_ARN.into()),
        source_kinesis_stream_arn: None,
        region: Some("eu-west-1".into()),
        records: data
            .iter()
            .enumerate()
            .map(|(i, d)| FirehoseRecord {
                record_id: Some(format!("rec-{i:04}")),
                approximate_arrival_timestamp: Some(1_795_262_290_000),
                data: d.map(str::to_owned),
            })
            .collect(),
    }
}

/// An event whose records carry these payloads, base64-encoded.
pub fn event_of(payloads: &[&[u8]]) -> FirehoseEvent {
    let encoded: Vec<String> = payloads.iter().map(|p| STANDARD.encode(p)).collect();
    event_with_data(&encoded.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>())
}

pub fn b64(data: &str) -> Vec<u8> {
    STANDARD.decode(data).unwrap()
}

/// The decoded `data` of each response record, as text.
pub fn decoded(resp: &FirehoseResponse) -> Vec<String> {
    resp.records.iter().map(|r| String::from_utf8(b64(&r.data)).unwrap()).collect()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}
