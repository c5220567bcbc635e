//! Invariants that fixtures alone cannot cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use proptest::prelude::*;
use serde_json::{Map, Value};
use wafwatch_transformer::firehose::{FirehoseEvent, FirehoseRecord, FirehoseResponse};
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{Outcome, Transformer, handle, handle_raw};

/// Built once: compiling the rules' regexes per case would dominate the run time.
static DEFAULT: std::sync::LazyLock<Transformer> = std::sync::LazyLock::new(default_transformer);

fn run(t: &Transformer, event: FirehoseEvent) -> FirehoseResponse {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(handle(event, t, &MemoryReingest::default()))
}

/// Record payloads: arbitrary bytes, text, and valid or nearly valid JSON objects.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        ".{0,80}".prop_map(String::into_bytes),
        json_object().prop_map(|o| serde_json::to_vec(&o).unwrap()),
        json_object().prop_map(|o| {
            let mut v = serde_json::to_vec(&o).unwrap();
            v.pop();
            v
        }),
    ]
}

/// The `data` member: usually base64 of a payload, sometimes not base64 at all.
fn data() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        8 => payload().prop_map(|p| Some(STANDARD.encode(p))),
        1 => ".{0,40}".prop_map(Some),
        1 => Just(None),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        prop::sample::select(vec![
            "ALLOW",
            "BLOCK",
            "Challenge",
            "Count",
            "CF",
            "ALB",
            "-",
            "US",
            "UK",
            "IN",
            "FR",
            "GET",
            "POST",
            "DELETE",
            "PUT",
            "200",
            "404",
            "503"
        ])
        .prop_map(Value::from),
        prop::sample::select(vec![200i64, 302, 401, 403, 404, 500, 503, 99, 1000]).prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const MONITORED: [&str; 6] = ["action", "httpSourceName", "httpStatus", "country", "httpMethod", "timestamp"];

/// Objects with the monitored members often present, and never a member the transformer writes.
fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    let monitored = MONITORED.map(|k| proptest::option::of(json_value()).prop_map(move |v| (k, v)));
    (proptest::collection::btree_map("[a-zA-Z_@ é\"\\\\]{1,10}", json_value(), 0..6), monitored).prop_map(
        |(extra, monitored)| {
            let mut m = Map::new();
            for (k, v) in extra {
                m.insert(k, v);
            }
            for (k, v) in monitored {
                if let Some(v) = v {
                    // Timestamps that parse, so that the document is accepted.
                    let v = if k == "timestamp" { Value::from(1_795_262_283_412i64) } else { v };
                    m.insert(k.to_owned(), v);
                }
            }
            for reserved in DEFAULT.config().added_members() {
                m.remove(reserved);
            }
            m
        },
    )
}

/// The reference model of the default configuration: which columns a document should have set.
fn expected_columns(doc: &Map<String, Value>) -> Vec<&'static str> {
    let text = |k: &str| -> Option<String> {
        match doc.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
            _ => None,
        }
    };
    let class = |s: &str, digits: &[u8]| {
        s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) && digits.contains(&s.as_bytes()[0])
    };
    let mut on = Vec::new();
    match text("action").as_deref() {
        Some("ALLOW" | "CAPTCHA" | "Challenge" | "Count") => on.push("K_action"),
        Some("BLOCK") => on.push("B_action"),
        _ => {}
    }
    match text("httpSourceName").as_deref() {
        Some("ALB" | "APIGW" | "APPSYNC" | "CF") => on.push("K_source"),
        _ => on.push("UNK_source"),
    }
    match text("httpStatus") {
        Some(s) if class(&s, b"23") => on.push("G_httpstatus"),
        Some(s) if class(&s, b"45") => on.push("B_httpstatus"),
        _ => {}
    }
    match text("country").as_deref() {
        Some("US" | "UK" | "IN") => on.push("K_country"),
        _ => on.push("UNK_country"),
    }
    match text("httpMethod").as_deref() {
        Some("GET" | "HEAD" | "POST") => on.push("common_method"),
        Some("DELETE") => on.push("uncommon_method"),
        _ => {}
    }
    on
}

/// An event of these (recordId, data) pairs.
fn event_of_records(records: &[(Option<String>, Option<String>)]) -> FirehoseEvent {
    FirehoseEvent {
        delivery_stream_arn: Some(STREAM_ARN.into()),
        records: records
            .iter()
            .map(|(id, data)| FirehoseRecord {
                record_id: id.clone(),
                approximate_arrival_timestamp: Some(0),
                data: data.clone(),
            })
            .collect(),
        ..FirehoseEvent::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The response is written directly, not by serde: it must be byte for byte what serde_json
    /// writes for the same answers, whatever the ids (escapes, unicode) and the failed data.
    #[test]
    fn the_written_response_is_what_serde_would_write(
        records in proptest::collection::vec((proptest::option::of(".{0,24}"), data()), 0..40)
    ) {
        let event = event_of_records(&records);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let raw = rt.block_on(handle_raw(event, &DEFAULT, &MemoryReingest::default()));
        let parsed = raw.parse();
        prop_assert_eq!(parsed.records.len(), records.len());
        prop_assert_eq!(serde_json::to_string(&parsed).unwrap(), raw.as_str());
        prop_assert_eq!(parsed.counts(), raw.counts());
    }

    #[test]
    fn any_input_gets_one_answer_per_record_in_order(
        records in proptest::collection::vec((proptest::option::of("[ -~]{0,24}"), data()), 0..40)
    ) {
        let event = event_of_records(&records);
        let resp = run(&DEFAULT, event);
        prop_assert_eq!(resp.records.len(), records.len());
        for ((id, data), r) in records.iter().zip(&resp.records) {
            prop_assert_eq!(&r.record_id, id);
            match r.result {
                Outcome::Ok => {
                    let out = STANDARD.decode(&r.data).unwrap();
                    prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
                    let v: Value = serde_json::from_slice(&out).unwrap();
                    prop_assert!(v.is_object());
                }
                Outcome::ProcessingFailed => prop_assert_eq!(&r.data, data.as_deref().unwrap_or("")),
                Outcome::Dropped => prop_assert!(false, "nothing here should be dropped"),
            }
        }
        // The serialised response round-trips through serde and keeps the wire strings.
        let text = serde_json::to_string(&resp).unwrap();
        let back: FirehoseResponse = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, resp);
    }

    #[test]
    fn original_members_are_preserved_and_columns_follow_the_configuration(
        doc in json_object(), pretty in any::<bool>()
    ) {
        let bytes = if pretty { serde_json::to_vec_pretty(&doc).unwrap() } else { serde_json::to_vec(&doc).unwrap() };
        let t = &*DEFAULT;
        // Compare with the input as serde_json reads it back (its float parsing is not exact, and
        // the same text must read back the same way on both sides).
        let doc: Map<String, Value> = serde_json::from_slice(&bytes).unwrap();
        let mut out = Vec::new();
        t.transform(&bytes, 1_795_262_283_412, &mut out).unwrap();
        prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let got: Map<String, Value> = serde_json::from_slice(&out).unwrap();
        for (k, v) in &doc {
            prop_assert_eq!(got.get(k), Some(v), "member {} changed", k);
        }
        let added: Vec<&String> = got.keys().filter(|k| !doc.contains_key(*k)).collect();
        let expected_added: Vec<&String> = t.config().added_members().iter().filter(|m| *m != "severity" || got.contains_key("severity")).collect();
        prop_assert_eq!(added.len(), expected_added.len());
        let on: Vec<&str> = t.config().column_names().filter(|c| got[*c] == 1).collect();
        prop_assert!(t.config().column_names().all(|c| got[c] == 0 || got[c] == 1));
        prop_assert_eq!(on, expected_columns(&doc));
        if !pretty {
            // Not re-encoded: the output starts with the input's exact bytes, less its closing brace.
            prop_assert!(out.starts_with(&bytes[..bytes.len() - 1]));
        }
    }
}
