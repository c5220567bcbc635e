//! The transformer's hot path, measured.
//!
//! - `handler/*`: the whole handler on a ~3 MB Firehose event (decode, partial borrowed parse,
//!   columns, rules, splice, base64, and the response serialised as the Lambda runtime does),
//!   for ~650-byte flat WAF records and for the real AWS WAF shape;
//! - `floor/flat-waf`: the floor: decode, find the fields, splice, re-encode, nothing else (no
//!   validation, rules or error handling), so the distance to it is printed with every run;
//! - `dom/*`: a straightforward full-DOM implementation of the same columns, for comparison;
//! - peak heap during one handler call, counted by a counting allocator (printed);
//! - `cold_start`: exec of the real `transformer` binary to its first request for an event.
//!
//! Run: `cargo bench -p wafwatch-transformer --bench handler`. CI runs it once in test mode.
#![allow(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // unsafe: the counting GlobalAlloc below, bench-only

#[path = "../tests/support/events.rs"]
mod events;
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
use wafwatch_transformer::firehose::FirehoseEvent;
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{Transformer, handle_raw};

use events::{event_of, flat_record};

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

fn flat_event() -> (FirehoseEvent, usize) {
    event_of((0..).map(flat_record), EVENT_BYTES)
}

fn aws_waf_event() -> (FirehoseEvent, usize) {
    let lines: Vec<String> = include_str!("../tests/fixtures/waf_examples.ndjson").lines().map(str::to_owned).collect();
    event_of((0..).map(move |i| lines[i % lines.len()].clone()), EVENT_BYTES)
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
    let resp = rt.block_on(handle_raw(event, t, &MemoryReingest::default()));
    // The Lambda runtime serialises the response with serde_json::to_vec; include it.
    serde_json::to_vec(&resp).unwrap()
}

/// The floor: what any transformer of this event must do and nothing more. Decode each record,
/// find the five monitored members by their text, splice ten 0/1 columns and `@timestamp` before
/// the closing brace, encode, and write the envelope. No validation, no rules, no error handling:
/// the distance to it is what the real handler's care costs.
fn floor_handler(event: &FirehoseEvent) -> Vec<u8> {
    const FIELDS: [&[u8]; 5] =
        [b"\"action\":\"", b"\"httpSourceName\":\"", b"\"httpStatus\":", b"\"country\":\"", b"\"httpMethod\":\""];
    let input: usize = event.records.iter().map(|r| r.data.as_deref().map_or(0, str::len)).sum();
    let mut out = Vec::with_capacity(input + input / 2);
    let (mut raw, mut doc) = (Vec::new(), Vec::new());
    out.extend_from_slice(b"{\"records\":[");
    for (i, r) in event.records.iter().enumerate() {
        raw.clear();
        doc.clear();
        base64_simd::STANDARD.decode_append(r.data.as_deref().unwrap_or("").as_bytes(), &mut raw).unwrap();
        let mut bits = 0u32;
        for (k, f) in FIELDS.iter().enumerate() {
            if let Some(at) = raw.windows(f.len()).position(|w| w == *f) {
                bits |= u32::from(raw[at + f.len()] & 1) << k;
            }
        }
        doc.extend_from_slice(&raw[..raw.len() - 1]);
        for k in 0..10 {
            doc.extend_from_slice(b",\"col\":");
            doc.push(b'0' + ((bits >> (k / 2)) & 1) as u8);
        }
        doc.extend_from_slice(b",\"@timestamp\":\"2026-11-21T11:58:03.412Z\"}\n");
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"recordId\":\"");
        out.extend_from_slice(r.record_id.as_deref().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\",\"result\":\"Ok\",\"data\":\"");
        base64_simd::STANDARD.encode_append(&doc, &mut out);
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"]}");
    out
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

    let mut g = c.benchmark_group("floor");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(flat_bytes as u64));
    g.bench_function("flat-waf", |b| b.iter(|| floor_handler(&flat)));
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
