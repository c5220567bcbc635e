//! The transformer's hot path, measured.
//!
//! - `handler/*`: the whole handler on a ~3 MB Firehose event (decode, partial borrowed parse,
//!   columns, rules, splice, base64, and the response serialised as the Lambda runtime does),
//!   for ~650-byte flat WAF records and for the real AWS WAF shape;
//! - `dom/*`: a straightforward full-DOM implementation of the same columns, for comparison;
//! - peak heap during one handler call, counted by a counting allocator (printed);
//! - `cold_start`: exec of the real `transformer` binary to its first request for an event.
//!
//! Run: `cargo bench -p wafwatch-transformer --bench handler`. CI runs it once in test mode.
#![allow(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // unsafe: the counting GlobalAlloc below, bench-only

#[path = "../tests/support/runtime_api.rs"]
mod runtime_api;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use wafwatch_config::Transform;
use wafwatch_config::expand::Expansion;
use wafwatch_config::file::{BUNDLED_DEFAULT_TOML, TEXT_LOGS_PRESET_TOML};
use wafwatch_config::transform::TransformSections;
use wafwatch_transformer::firehose::{FirehoseEvent, FirehoseRecord};
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{Transformer, handle};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const EVENT_BYTES: usize = 3_000_000;

/// A ~650-byte flat WAF-style record, varied by `i`.
fn flat_record(i: usize) -> String {
    let actions = ["ALLOW", "ALLOW", "ALLOW", "BLOCK", "ALLOW", "CAPTCHA"];
    let countries = ["US", "IN", "UK", "US", "DE", "BR", "US"];
    let statuses = [200, 200, 304, 404, 200, 500, 401, 200];
    let methods = ["GET", "GET", "POST", "GET", "HEAD", "DELETE"];
    let sources = ["ALB", "CF", "APIGW", "ALB"];
    format!(
        concat!(
            r#"{{"timestamp":{},"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shop-acl/4f7c2a1e-9b3d-4c55-8e21-0a6d2b9f7e10","#,
            r#""terminatingRuleId":"Default_Action","terminatingRuleType":"REGULAR","action":"{}","httpSourceName":"{}","#,
            r#""httpSourceId":"111122223333-app/shop-alb/7d3f9a2b6c1e4d08","httpStatus":{},"country":"{}","httpMethod":"{}","#,
            r#""clientIp":"198.51.{}.{}","uri":"/api/products/{}","args":"page={}&sort=price","httpVersion":"HTTP/1.1","#,
            r#""requestId":"1-67f2c9ab-3c5e8d7a1b2f4e6d{:08x}","headers":[{{"name":"Host","value":"shop.example.com"}},"#,
            r#"{{"name":"User-Agent","value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}},"#,
            r#"{{"name":"Accept","value":"application/json"}}]}}"#
        ),
        1_795_262_283_412u64 + i as u64 * 7,
        actions[i % actions.len()],
        sources[i % sources.len()],
        statuses[i % statuses.len()],
        countries[i % countries.len()],
        methods[i % methods.len()],
        i % 250,
        i % 200,
        i % 5000,
        i % 40,
        i
    )
}

fn event_of(records: impl Iterator<Item = String>) -> (FirehoseEvent, usize) {
    let mut event = FirehoseEvent {
        delivery_stream_arn: Some("arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-shop".into()),
        ..FirehoseEvent::default()
    };
    let mut size = 0;
    for (i, r) in records.enumerate() {
        let data = STANDARD.encode(r.as_bytes());
        size += data.len() + 110;
        event.records.push(FirehoseRecord {
            record_id: Some(format!("49656781234567890123456789012345678901234567890123456789{i:06}")),
            approximate_arrival_timestamp: Some(1_795_262_290_000),
            data: Some(data),
        });
        if size >= EVENT_BYTES {
            break;
        }
    }
    let bytes = serde_json::to_vec(&event).map(|v| v.len()).unwrap_or(size);
    (event, bytes)
}

fn flat_event() -> (FirehoseEvent, usize) {
    event_of((0..).map(flat_record))
}

fn aws_waf_event() -> (FirehoseEvent, usize) {
    let lines: Vec<String> = include_str!("../tests/fixtures/waf_examples.ndjson").lines().map(str::to_owned).collect();
    event_of((0..).map(move |i| lines[i % lines.len()].clone()))
}

fn transformer(toml: &str) -> Transformer {
    Transformer::new(TransformSections::from_whole_toml(toml).unwrap().validate(Expansion::Literal).unwrap()).unwrap()
}

/// The default configuration without its rules: the columns alone, to compare with the DOM version.
fn columns_only() -> Transformer {
    let mut s = TransformSections::from_whole_toml(BUNDLED_DEFAULT_TOML).unwrap();
    s.rule.clear();
    Transformer::new(s.validate(Expansion::Literal).unwrap()).unwrap()
}

/// The default plus the text-log preset's whole-line rules: what scanning every byte costs.
fn with_line_rules() -> Transformer {
    let mut s = TransformSections::from_whole_toml(BUNDLED_DEFAULT_TOML).unwrap();
    let text = TransformSections::from_whole_toml(TEXT_LOGS_PRESET_TOML).unwrap();
    s.rule.extend(text.rule.into_iter().filter(|r| r.conditions.iter().all(|c| c.field.is_none())));
    Transformer::new(s.validate(Expansion::Literal).unwrap()).unwrap()
}

/// The straightforward way: parse each record into a DOM, look the fields up, insert the columns,
/// serialise the whole document again.
fn dom_handler(event: &FirehoseEvent, t: &Transformer) -> Vec<u8> {
    let sections = t.config().resolved();
    let mut records = Vec::with_capacity(event.records.len());
    for r in &event.records {
        let raw = STANDARD.decode(r.data.as_deref().unwrap_or("")).unwrap();
        let mut doc: serde_json::Map<String, Value> = serde_json::from_slice(&raw).unwrap();
        for enc in &sections.encode {
            let value = match doc.get(enc.field.trim_start_matches('/')) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
                _ => None,
            };
            for col in &enc.columns {
                let on = match (&col.values, &value) {
                    (Some(vals), Some(v)) => vals.iter().any(|x| {
                        x.0 == *v || (x.0.ends_with("xx") && v.len() == 3 && v.as_bytes()[0] == x.0.as_bytes()[0])
                    }),
                    (None, _) => col.otherwise && value.is_none(),
                    _ => false,
                };
                doc.insert(col.name.clone(), Value::from(u8::from(on)));
            }
        }
        let ts = doc.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
        let when = chrono::DateTime::from_timestamp_millis(ts).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        doc.insert("@timestamp".into(), Value::from(when));
        let mut out = serde_json::to_vec(&doc).unwrap();
        out.push(b'\n');
        records.push(serde_json::json!({"recordId": r.record_id, "result": "Ok", "data": STANDARD.encode(out)}));
    }
    serde_json::to_vec(&serde_json::json!({ "records": records })).unwrap()
}

fn run_handler(rt: &tokio::runtime::Runtime, event: FirehoseEvent, t: &Transformer) -> Vec<u8> {
    let resp = rt.block_on(handle(event, t, &MemoryReingest::default()));
    // The Lambda runtime serialises the response with serde_json::to_vec; include it.
    serde_json::to_vec(&resp).unwrap()
}

fn peak_heap(rt: &tokio::runtime::Runtime, event: &FirehoseEvent, event_bytes: usize, t: &Transformer, name: &str) {
    let event = event.clone();
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let body = run_handler(rt, event, t);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    eprintln!(
        "{name}: peak heap during the handler {:.1} MB for a {:.1} MB event ({:.2}x; response {:.1} MB)",
        peak as f64 / 1e6,
        event_bytes as f64 / 1e6,
        peak as f64 / event_bytes as f64,
        body.len() as f64 / 1e6
    );
}

fn handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let default = Transformer::new(Transform::bundled().unwrap()).unwrap();
    let preset = transformer(include_str!("../../presets/aws-waf.toml"));
    let columns = columns_only();
    let line_rules = with_line_rules();

    let (flat, flat_bytes) = flat_event();
    let (waf, waf_bytes) = aws_waf_event();
    peak_heap(&rt, &flat, flat_bytes, &default, "handler/flat-waf-default");
    peak_heap(&rt, &waf, waf_bytes, &preset, "handler/aws-waf-preset");

    let mut g = c.benchmark_group("handler");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(flat_bytes as u64));
    g.bench_function("flat-waf-default", |b| {
        b.iter_batched(|| flat.clone(), |e| run_handler(&rt, e, &default), BatchSize::LargeInput)
    });
    g.bench_function("flat-waf-columns-only", |b| {
        b.iter_batched(|| flat.clone(), |e| run_handler(&rt, e, &columns), BatchSize::LargeInput)
    });
    g.bench_function("flat-waf-default-plus-line-rules", |b| {
        b.iter_batched(|| flat.clone(), |e| run_handler(&rt, e, &line_rules), BatchSize::LargeInput)
    });
    g.throughput(Throughput::Bytes(waf_bytes as u64));
    g.bench_function("aws-waf-preset", |b| {
        b.iter_batched(|| waf.clone(), |e| run_handler(&rt, e, &preset), BatchSize::LargeInput)
    });
    g.finish();

    let mut g = c.benchmark_group("dom");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(flat_bytes as u64));
    g.bench_function("flat-waf-columns-only", |b| b.iter(|| dom_handler(&flat, &columns)));
    g.finish();
}

fn cold_start(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut g = c.benchmark_group("cold_start");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("exec-to-first-next", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut fake = runtime_api::FakeRuntime::start().await;
                    let start = Instant::now();
                    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_transformer"))
                        .env_clear()
                        .envs(fake.lambda_env())
                        .stdout(std::process::Stdio::null())
                        .kill_on_drop(true)
                        .spawn()
                        .unwrap();
                    let at =
                        tokio::time::timeout(Duration::from_secs(10), fake.first_next.recv()).await.unwrap().unwrap();
                    total += at - start;
                    let _ = child.kill().await;
                }
                total
            })
        })
    });
    g.finish();
}

criterion_group!(benches, handler, cold_start);
criterion_main!(benches);
