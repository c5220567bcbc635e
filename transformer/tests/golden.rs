//! Golden tests over the real fixtures: the wire format is reviewed as snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use insta::assert_snapshot;
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{Outcome, handle};

fn encode_all(t: &wafwatch_transformer::Transformer, ndjson: &str) -> String {
    let mut out = Vec::new();
    for line in ndjson.lines() {
        t.transform(line.as_bytes(), 0, &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// The preset as the seed had it (ten columns): its snapshots predate the verdict columns and
/// must not move when the encoder learns arrays.
fn seed_preset() -> wafwatch_transformer::Transformer {
    from_toml(&fixture("aws-waf-seed.toml"))
}

#[test]
fn real_aws_waf_logs_with_the_aws_waf_preset() {
    assert_snapshot!(encode_all(&seed_preset(), &fixture("waf_examples.ndjson")));
}

#[test]
fn real_aws_waf_logs_with_the_verdict_columns() {
    assert_snapshot!(encode_all(&preset_transformer(), &fixture("waf_examples.ndjson")));
}

#[test]
fn the_preset_keeps_the_seed_columns_exactly() {
    // Every member the seed preset wrote is written with the same value by today's preset.
    let (seed, now) = (seed_preset(), preset_transformer());
    for line in fixture("waf_examples.ndjson").lines() {
        let parse = |t: &wafwatch_transformer::Transformer| {
            let mut out = Vec::new();
            t.transform(line.as_bytes(), 0, &mut out).unwrap();
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&out).unwrap()
        };
        let (old, new) = (parse(&seed), parse(&now));
        for (k, v) in &old {
            assert_eq!(new.get(k), Some(v), "{k} in {line}");
        }
        assert!(new.len() > old.len());
    }
}

#[test]
fn real_aws_waf_logs_with_the_flat_default() {
    // The default reads top-level members, which real WAF logs do not have: the country and method
    // are missing, so their `otherwise` columns (or none) are set. That is why the preset exists.
    assert_snapshot!(encode_all(&default_transformer(), &fixture("waf_examples.ndjson")));
}

#[test]
fn flat_waf_records_with_the_default() {
    assert_snapshot!(encode_all(&default_transformer(), &fixture("flat_waf_examples.ndjson")));
}

#[test]
fn text_lines() {
    let t = from_toml(TEXT_PRESET);
    let mut out = Vec::new();
    for line in fixture("text_lines.txt").lines() {
        t.transform(line.as_bytes(), 1_795_262_400_000, &mut out).unwrap();
    }
    assert_snapshot!(String::from_utf8(out).unwrap());
}

#[tokio::test]
async fn the_firehose_waf_event_with_the_preset() {
    let event = serde_json::from_str(&fixture("firehose_waf_event.json")).unwrap();
    let resp = handle(event, &seed_preset(), &MemoryReingest::default()).await;
    assert!(resp.records.iter().all(|r| r.result == Outcome::Ok));
    let mut text = String::new();
    for (r, doc) in resp.records.iter().zip(decoded(&resp)) {
        text.push_str(&format!("{} {:?}\n{doc}", r.record_id.as_deref().unwrap(), r.result));
    }
    assert_snapshot!(text);
}

#[tokio::test]
async fn the_cloudwatch_logs_event_bound_for_s3_joins_events() {
    let t = from_toml(
        "[source]\nformat = \"cloudwatch-logs\"\nmessage_format = \"text\"\n[delivery]\ndestination = \"s3\"\n",
    );
    let event = serde_json::from_str(&fixture("sam-cwl-processor-testEvent.json")).unwrap();
    let resp = handle(event, &t, &MemoryReingest::default()).await;
    let results: Vec<Outcome> = resp.records.iter().map(|r| r.result).collect();
    assert_eq!(results, [Outcome::Dropped, Outcome::Ok, Outcome::Ok, Outcome::Ok]);
    let docs = decoded(&resp);
    assert_eq!(docs[0], "");
    assert_snapshot!(docs[1..].join("--- next record ---\n"));
}
