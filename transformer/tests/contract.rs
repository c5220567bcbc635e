//! The Firehose contract and the value semantics, one behaviour per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use wafwatch_transformer::cli::parse_event;
use wafwatch_transformer::limits::{MAX_RECORD_BYTES, RESPONSE_BUDGET_BYTES};
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{Disposition, Outcome, RecordError, Transformer, handle};

const GOOD: &[u8] = br#"{"timestamp":1795262283412,"action":"BLOCK","httpSourceName":"CF","httpStatus":403,"country":"US","httpMethod":"GET","uri":"/"}"#;

fn doc(t: &Transformer, record: &[u8]) -> Value {
    let mut out = Vec::new();
    let d = t.transform(record, 1_795_262_290_000, &mut out).unwrap();
    assert!(matches!(d, Disposition::Deliver { .. }), "{d:?}");
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "one newline-terminated line");
    assert_eq!(out.last(), Some(&b'\n'));
    serde_json::from_slice(&out).unwrap()
}

fn columns(v: &Value) -> Vec<(String, i64)> {
    [
        "K_action",
        "B_action",
        "K_source",
        "UNK_source",
        "G_httpstatus",
        "B_httpstatus",
        "K_country",
        "UNK_country",
        "common_method",
        "uncommon_method",
    ]
    .iter()
    .filter_map(|c| v.get(*c).map(|x| (c.to_string(), x.as_i64().unwrap())))
    .collect()
}

fn on(v: &Value) -> Vec<String> {
    columns(v).into_iter().filter(|(_, x)| *x == 1).map(|(c, _)| c).collect()
}

#[test]
fn every_column_is_always_written_as_0_or_1() {
    let t = default_transformer();
    for record in [&b"{}"[..], GOOD, br#"{"action":{"nested":1},"country":[1,2]}"#] {
        let v = doc(&t, record);
        let cols = columns(&v);
        assert_eq!(cols.len(), 10, "{v}");
        assert!(cols.iter().all(|(_, x)| *x == 0 || *x == 1));
    }
}

#[test]
fn missing_null_object_and_array_fields_set_only_the_otherwise_column() {
    let t = default_transformer();
    for record in [
        &b"{}"[..],
        br#"{"country":null,"httpSourceName":null}"#,
        br#"{"country":{"iso":"US"},"httpSourceName":["CF"]}"#,
    ] {
        assert_eq!(on(&doc(&t, record)), ["UNK_source", "UNK_country"], "{}", String::from_utf8_lossy(record));
    }
}

#[test]
fn numbers_and_booleans_match_by_their_json_text() {
    let t = from_toml(
        "[[encode]]\nfield = \"/s\"\ncolumns = [{ name = \"n404\", values = [\"404\"] }, { name = \"flag\", values = [true] }]\n[[encode]]\nfield = \"/b\"\ncolumns = [{ name = \"yes\", values = [\"true\"] }]\n",
    );
    let v = doc(&t, br#"{"s":404,"b":true}"#);
    assert_eq!((v["n404"].as_i64(), v["flag"].as_i64(), v["yes"].as_i64()), (Some(1), Some(0), Some(1)));
    let v = doc(&t, br#"{"s":"404"}"#);
    assert_eq!(v["n404"], 1);
    let v = doc(&t, br#"{"s":404.0}"#);
    assert_eq!(v["n404"], 0, "404.0 is not the text 404");
}

#[test]
fn status_classes_match_three_digit_codes() {
    let t = default_transformer();
    assert_eq!(on(&doc(&t, br#"{"httpStatus":302}"#)), ["UNK_source", "G_httpstatus", "UNK_country"]);
    assert_eq!(on(&doc(&t, br#"{"httpStatus":"503"}"#)), ["UNK_source", "B_httpstatus", "UNK_country"]);
    assert_eq!(on(&doc(&t, br#"{"httpStatus":99}"#)), ["UNK_source", "UNK_country"]);
    assert_eq!(on(&doc(&t, br#"{"httpStatus":5000}"#)), ["UNK_source", "UNK_country"]);
}

#[test]
fn the_default_reproduces_the_original_ten_columns() {
    let t = default_transformer();
    let v = doc(
        &t,
        br#"{"action":"BLOCK","httpSourceName":"APPSYNC","httpStatus":404,"country":"UK","httpMethod":"DELETE"}"#,
    );
    assert_eq!(on(&v), ["B_action", "K_source", "B_httpstatus", "K_country", "uncommon_method"]);
    let v = doc(&t, br#"{"action":"Count","httpSourceName":"-","httpStatus":200,"country":"FR","httpMethod":"HEAD"}"#);
    assert_eq!(on(&v), ["K_action", "UNK_source", "G_httpstatus", "UNK_country", "common_method"]);
    // Exact, case-sensitive as in the original: "CHALLENGE" is not "Challenge".
    assert_eq!(doc(&t, br#"{"action":"CHALLENGE"}"#)["K_action"], 0);
}

#[test]
fn nested_pointers_read_the_real_aws_waf_shape() {
    let t = preset_transformer();
    let line = fixture("waf_examples.ndjson").lines().nth(2).unwrap().to_owned();
    let v = doc(&t, line.as_bytes());
    assert_eq!(on(&v), ["B_action", "K_source", "B_httpstatus", "UNK_country", "common_method"]);
    assert_eq!(v["rules"], json!(["blocked-login", "rate-limited"]));
    assert_eq!(v["severity"], "high");
}

#[test]
fn original_members_are_kept_byte_for_byte_and_new_ones_appended() {
    let t = default_transformer();
    let record = br#"{"z":1.50,"a":"\u00e9\n","timestamp":1795262283412,"x":{"k":[true,null]}}"#;
    let mut out = Vec::new();
    t.transform(record, 0, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(r#"{"z":1.50,"a":"\u00e9\n","timestamp":1795262283412,"x":{"k":[true,null]},"K_action":0,"#),
        "{text}"
    );
    assert!(text.ends_with("\"@timestamp\":\"2026-11-21T11:58:03.412Z\",\"rules\":[]}\n"), "{text}");
}

#[test]
fn a_pretty_printed_record_is_minified_to_one_line() {
    let t = default_transformer();
    let record = b"\n{\n  \"action\" : \"BLOCK\",\n  \"uri\": \"/a b\",\n  \"n\": [ 1, 2 ]\n}\n\n";
    let mut out = Vec::new();
    t.transform(record, 0, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(r#"{"action":"BLOCK","uri":"/a b","n":[1,2],"K_action":0,"B_action":1"#), "{text}");
    assert_eq!(text.matches('\n').count(), 1);
}

#[test]
fn the_timestamp_falls_back_to_arrival_and_rejects_garbage() {
    let t = default_transformer();
    assert_eq!(doc(&t, br#"{"timestamp":null}"#)["@timestamp"], "2026-11-21T11:58:10.000Z");
    assert_eq!(doc(&t, br#"{"timestamp":"2026-11-21T12:58:03.412+01:00"}"#)["@timestamp"], "2026-11-21T11:58:03.412Z");
    assert_eq!(doc(&t, br#"{"timestamp":"1795262283412"}"#)["@timestamp"], "2026-11-21T11:58:03.412Z");
    let err = t.transform(br#"{"timestamp":"yesterday"}"#, 0, &mut Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"timestamp at `/timestamp` is the string "yesterday", not epoch milliseconds or an RFC 3339 string"#
    );
    assert!(matches!(t.transform(br#"{"timestamp":true}"#, 0, &mut Vec::new()), Err(RecordError::BadTimestamp { .. })));
    assert!(matches!(
        t.transform(br#"{"timestamp":1e300}"#, 0, &mut Vec::new()),
        Err(RecordError::BadTimestamp { .. })
    ));
}

#[test]
fn several_rules_give_all_names_and_the_highest_severity() {
    let t = default_transformer();
    let v = doc(&t, br#"{"uri":"/login","httpStatus":403,"httpMethod":"DELETE","action":"BLOCK"}"#);
    assert_eq!(v["rules"], json!(["failed-login", "blocked-delete"]));
    assert_eq!(v["severity"], "high");
    let v = doc(&t, br#"{"uri":"/wp-login.php","httpStatus":503}"#);
    assert_eq!(v["rules"], json!(["server-error", "scanner-probe"]));
    assert_eq!(v["severity"], "medium");
    let v = doc(&t, br#"{"uri":"/login","httpStatus":200}"#);
    assert_eq!(v["rules"], json!([]));
    assert!(v.get("severity").is_none());

    let text = from_toml(TEXT_PRESET);
    let v = doc(&text, b"2026-11-21T12:00:00Z CRITICAL db: connection refused, giving up with an error");
    assert_eq!(v["rules"], json!(["critical", "database-error", "error"]));
    assert_eq!(v["severity"], "critical");
    assert_eq!(on_cols(&v, &["error_level", "warning_level", "other_level"]), ["error_level"]);
}

fn on_cols(v: &Value, names: &[&str]) -> Vec<String> {
    names.iter().filter(|n| v[**n] == 1).map(|n| n.to_string()).collect()
}

#[test]
fn a_configuration_without_rules_writes_no_rule_members() {
    let t = from_toml("[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", otherwise = true }]\n");
    let v = doc(&t, br#"{"a":1,"rules":"mine","severity":"mine"}"#);
    assert_eq!(v["rules"], "mine", "rules is the producer's own member when no rules are configured");
}

/// Each malformed record gets ProcessingFailed with its original data, alone; the others are Ok.
#[tokio::test]
async fn malformed_records_fail_alone_with_their_original_data() {
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_RECORD_BYTES));
    let cases: Vec<(&str, String)> = vec![
        ("bad base64", "not base64!!".to_owned()),
        ("empty data", String::new()),
        ("whitespace only", STANDARD.encode(b"  \n")),
        ("invalid UTF-8", STANDARD.encode(b"{\"a\":\"\xff\xfe\"}")),
        ("not JSON", STANDARD.encode(b"GET /index.html 200")),
        ("truncated JSON", STANDARD.encode(br#"{"action":"BLOCK""#)),
        ("two objects", STANDARD.encode(br#"{"a":1}{"b":2}"#)),
        ("an array", STANDARD.encode(b"[1,2,3]")),
        ("a string", STANDARD.encode(br#""BLOCK""#)),
        ("over 1,000 KiB", STANDARD.encode(huge.as_bytes())),
        ("clashes with a column", STANDARD.encode(br#"{"B_action":1}"#)),
        ("clashes with @timestamp", STANDARD.encode(br#"{"@timestamp":"x"}"#)),
        ("clashes with rules", STANDARD.encode(br#"{"rules":[]}"#)),
        ("bad timestamp", STANDARD.encode(br#"{"timestamp":"soon"}"#)),
    ];
    let good = STANDARD.encode(GOOD);
    let mut data: Vec<Option<&str>> = vec![Some(good.as_str())];
    for (_, d) in &cases {
        data.push(Some(d.as_str()));
        data.push(Some(good.as_str()));
    }
    data.push(None); // no `data` member at all
    let event = event_with_data(&data);
    let ids: Vec<_> = event.records.iter().map(|r| r.record_id.clone()).collect();
    let resp = handle(event, &default_transformer(), &MemoryReingest::default()).await;

    assert_eq!(
        resp.records.iter().map(|r| r.record_id.clone()).collect::<Vec<_>>(),
        ids,
        "one answer per id, in order"
    );
    for (i, r) in resp.records.iter().enumerate() {
        if i == data.len() - 1 {
            assert_eq!((r.result, r.data.as_str()), (Outcome::ProcessingFailed, ""));
        } else if i % 2 == 0 {
            assert_eq!(r.result, Outcome::Ok, "record {i}");
        } else {
            let (name, original) = &cases[i / 2];
            assert_eq!(r.result, Outcome::ProcessingFailed, "{name}");
            assert_eq!(&r.data, original, "{name}: the original data comes back unchanged");
        }
    }
}

#[test]
fn record_errors_say_what_is_wrong() {
    let t = default_transformer();
    let msg = |r: &[u8]| t.transform(r, 0, &mut Vec::new()).unwrap_err().to_string();
    assert_eq!(
        msg(br#"{"B_action":1}"#),
        "record already has a member `B_action`, which the transformer writes; refusing to write it twice"
    );
    assert_eq!(msg(b"[1]"), "record is JSON but not an object; one JSON object per record is expected");
    assert!(msg(b"{\"a\":\"\xff\"}").starts_with("record is not valid UTF-8 (at byte 6)"));
    assert!(msg(br#"{"a":1}{"b":2}"#).starts_with("record is not valid JSON: trailing characters"));
    assert_eq!(msg(b"   "), "record is empty");
    // Regression (issue 11): a plain-text line is not "JSON but not an object".
    assert!(msg(b"GET /index.html 200").starts_with("record is not valid JSON: expected value"), "{}", msg(b"GET /"));
}

/// 20,000 small records: a 2 MB request whose outputs (columns, @timestamp, base64) need ~10 MB.
const SMALL: &[u8] = br#"{"action":"BLOCK"}"#;
const MANY: usize = 20_000;

#[tokio::test]
async fn the_response_never_exceeds_the_budget_and_overflow_is_reingested() {
    let payloads = vec![SMALL; MANY];
    let memory = MemoryReingest::default();
    let resp = handle(event_of(&payloads), &default_transformer(), &memory).await;
    let size = serde_json::to_vec(&resp).unwrap().len();
    assert!(size <= RESPONSE_BUDGET_BYTES, "{size}");
    // Records not answered Ok are charged at their worst case (ProcessingFailed with the original
    // data) until the end, so a little of the budget stays unused; most of it is used.
    assert!(size > RESPONSE_BUDGET_BYTES * 9 / 10, "the budget is used, not wasted: {size}");
    let (ok, dropped, failed) = resp.counts();
    assert_eq!((ok + dropped, failed), (MANY, 0));
    assert!(dropped > 1_000, "{dropped}");
    // The first records are answered, the overflow at the end is dropped and re-ingested as is.
    assert!(resp.records[..ok].iter().all(|r| r.result == Outcome::Ok));
    let puts = memory.puts.lock().unwrap();
    assert_eq!(puts.len(), dropped);
    assert!(puts.iter().all(|(stream, data)| stream == "aws-waf-logs-shop" && data == SMALL));
}

#[tokio::test]
async fn without_reingest_overflow_fails_and_still_fits() {
    let mut sections =
        wafwatch_config::transform::TransformSections::from_whole_toml(wafwatch_config::file::BUNDLED_DEFAULT_TOML)
            .unwrap();
    sections.delivery.reingest = false;
    let t = Transformer::new(sections.validate(wafwatch_config::expand::Expansion::Literal).unwrap()).unwrap();
    let resp = handle(event_of(&vec![SMALL; MANY * 2]), &t, &MemoryReingest::default()).await;
    assert!(serde_json::to_vec(&resp).unwrap().len() <= RESPONSE_BUDGET_BYTES);
    let (ok, dropped, failed) = resp.counts();
    assert_eq!(dropped, 0);
    assert!(ok > 1_000 && failed > 1_000 && ok + failed == MANY * 2, "{ok} {failed}");
    assert_eq!(b64(&resp.records[MANY * 2 - 1].data), SMALL, "failed records carry their original data");
}

#[tokio::test]
async fn a_failed_reingest_turns_dropped_into_processing_failed() {
    let failing = MemoryReingest { fail_with: Some("ServiceUnavailableException".into()), ..Default::default() };
    let resp = handle(event_of(&vec![SMALL; MANY]), &default_transformer(), &failing).await;
    let (ok, dropped, failed) = resp.counts();
    assert_eq!(dropped, 0);
    assert_eq!(ok + failed, MANY);
    assert!(failed > 1_000);
    assert!(serde_json::to_vec(&resp).unwrap().len() <= RESPONSE_BUDGET_BYTES, "the worst case was reserved");
}

#[tokio::test]
async fn partition_keys_only_when_configured() {
    let resp = handle(event_of(&[GOOD]), &default_transformer(), &MemoryReingest::default()).await;
    assert!(!serde_json::to_string(&resp).unwrap().contains("metadata"));
    let t = from_toml(
        "[delivery]\ndestination = \"s3\"\npartition_keys = { source = \"/httpSourceName\", country = \"/nope\" }\n",
    );
    let resp = handle(event_of(&[GOOD]), &t, &MemoryReingest::default()).await;
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v["records"][0]["metadata"], json!({"partitionKeys": {"country": "unknown", "source": "CF"}}));
}

#[test]
fn the_response_uses_the_exact_wire_strings() {
    for (o, s) in [
        (Outcome::Ok, "\"Ok\""),
        (Outcome::Dropped, "\"Dropped\""),
        (Outcome::ProcessingFailed, "\"ProcessingFailed\""),
    ] {
        assert_eq!(serde_json::to_string(&o).unwrap(), s);
    }
}

#[test]
fn an_event_that_is_not_firehose_is_a_clear_error() {
    let err = parse_event(br#"{"Records":[{"s3":{}}]}"#).unwrap_err().to_string();
    assert!(err.starts_with("not a Firehose data-transformation event (missing field `records`"), "{err}");
    assert!(parse_event(b"[]").is_err());
    assert!(parse_event(br#"{"records":[{"recordId":"a","data":5}]}"#).is_err());
}

#[test]
fn our_event_type_reads_what_the_aws_type_reads() {
    for name in ["firehose_waf_event.json", "example-firehose-event.json", "sam-cwl-processor-testEvent.json"] {
        let text = fixture(name);
        let ours = parse_event(text.as_bytes()).unwrap();
        let theirs: aws_lambda_events::event::firehose::KinesisFirehoseEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(ours.records.len(), theirs.records.len(), "{name}");
        for (a, b) in ours.records.iter().zip(&theirs.records) {
            assert_eq!(a.record_id, b.record_id);
            assert_eq!(b64(a.data.as_deref().unwrap()), b.data.0);
        }
        // aws_lambda_events converts through floating point and can be 1 ms off (1795262288405 comes
        // out as ...404), so the arrival time is checked against the raw JSON instead.
        let raw: Value = serde_json::from_str(&text).unwrap();
        for (a, r) in ours.records.iter().zip(raw["records"].as_array().unwrap()) {
            assert_eq!(a.approximate_arrival_timestamp, r["approximateArrivalTimestamp"].as_i64());
        }
    }
}

// --- CloudWatch Logs ---------------------------------------------------------------------------

fn cwl(events: &[(&str, i64, &str)], message_type: &str) -> Vec<u8> {
    let events: Vec<Value> =
        events.iter().map(|(id, ts, m)| json!({"id": id, "timestamp": ts, "message": m})).collect();
    let doc = json!({"messageType": message_type, "owner": "111122223333", "logGroup": "aws-waf-logs-g",
        "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events});
    gzip(doc.to_string().as_bytes())
}

const CWL_OS: &str = "[source]\nformat = \"cloudwatch-logs\"\n[[encode]]\nfield = \"/action\"\ncolumns = [{ name = \"B_action\", values = [\"BLOCK\"] }]\n";

#[tokio::test]
async fn cloudwatch_control_messages_are_dropped_and_single_events_delivered() {
    let t = from_toml(CWL_OS);
    let control = cwl(&[("", 1, "CWL CONTROL MESSAGE: Checking health of destination Firehose.")], "CONTROL_MESSAGE");
    let single = cwl(&[("e1", 1_795_262_283_412, r#"{"action":"BLOCK"}"#)], "DATA_MESSAGE");
    let unknown = cwl(&[("e1", 1, "{}")], "MYSTERY");
    let not_gzip_json = b"\x1f\x8b not really gzip".to_vec();
    let resp = handle(event_of(&[&control, &single, &unknown, &not_gzip_json]), &t, &MemoryReingest::default()).await;
    let results: Vec<_> = resp.records.iter().map(|r| r.result).collect();
    assert_eq!(results, [Outcome::Dropped, Outcome::Ok, Outcome::ProcessingFailed, Outcome::ProcessingFailed]);
    assert_eq!(resp.records[0].data, "");
    let v: Value = serde_json::from_slice(&b64(&resp.records[1].data)).unwrap();
    assert_eq!(
        (v["B_action"].as_i64(), v["@timestamp"].as_str()),
        (Some(1), Some("2026-11-21T11:58:03.412Z")),
        "event time is the fallback"
    );
}

#[tokio::test]
async fn several_cloudwatch_events_for_opensearch_are_dropped_and_reingested_one_each() {
    let t = from_toml(CWL_OS);
    let multi = cwl(
        &[("e1", 1, r#"{"action":"BLOCK"}"#), ("e2", 2, r#"{"action":"ALLOW"}"#), ("e3", 3, "not json")],
        "DATA_MESSAGE",
    );
    let memory = MemoryReingest::default();
    let resp = handle(event_of(&[&multi]), &t, &memory).await;
    assert_eq!(resp.records[0].result, Outcome::Dropped);
    let puts = memory.puts.lock().unwrap().clone();
    assert_eq!(puts.len(), 3);
    // Each re-ingested record is itself a single-event record that the transformer then handles.
    let mut results = Vec::new();
    for (stream, data) in &puts {
        assert_eq!(stream, "aws-waf-logs-shop");
        let inner: Value = serde_json::from_slice(&gunzip(data)).unwrap();
        assert_eq!(inner["logEvents"].as_array().unwrap().len(), 1);
        assert_eq!(inner["logGroup"], "aws-waf-logs-g");
        results.push(t.transform(data, 0, &mut Vec::new()).is_ok());
    }
    assert_eq!(results, [true, true, false], "the bad event fails on its own when it comes back");
}

#[tokio::test]
async fn several_cloudwatch_events_without_reingest_fail_rather_than_break_opensearch() {
    let t = from_toml(&format!("{CWL_OS}[delivery]\nreingest = false\n"));
    let multi = cwl(&[("e1", 1, "{}"), ("e2", 2, "{}")], "DATA_MESSAGE");
    let resp = handle(event_of(&[&multi]), &t, &MemoryReingest::default()).await;
    assert_eq!(resp.records[0].result, Outcome::ProcessingFailed);
    assert_eq!(b64(&resp.records[0].data), multi);
}

#[tokio::test]
async fn several_cloudwatch_events_for_s3_become_one_record_of_lines() {
    let t = from_toml(&format!("{CWL_OS}[delivery]\ndestination = \"s3\"\n"));
    let multi = cwl(&[("e1", 1, r#"{"action":"BLOCK"}"#), ("e2", 2, r#"{"action":"ALLOW"}"#)], "DATA_MESSAGE");
    let resp = handle(event_of(&[&multi]), &t, &MemoryReingest::default()).await;
    let text = decoded(&resp).remove(0);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().map(|l| l["B_action"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 0]);
    assert!(text.ends_with('\n'));
    // One bad event fails the whole record, which Firehose keeps: nothing is lost.
    let bad = cwl(&[("e1", 1, "{}"), ("e2", 2, "nope")], "DATA_MESSAGE");
    let resp = handle(event_of(&[&bad]), &t, &MemoryReingest::default()).await;
    assert_eq!(resp.records[0].result, Outcome::ProcessingFailed);
}

#[tokio::test]
async fn a_kinesis_sourced_stream_cannot_reingest_so_records_fail() {
    let t = from_toml(CWL_OS);
    let multi = cwl(&[("e1", 1, "{}"), ("e2", 2, "{}")], "DATA_MESSAGE");
    let mut event = event_of(&[&multi]);
    event.source_kinesis_stream_arn = Some("arn:aws:kinesis:eu-west-1:111122223333:stream/s".into());
    let memory = MemoryReingest::default();
    let resp = handle(event, &t, &memory).await;
    assert_eq!(resp.records[0].result, Outcome::ProcessingFailed);
    assert!(memory.puts.lock().unwrap().is_empty());
}
