//! Injection against the records it writes: labels that count exactly those records, windows
//! measured from the input, the input's shape and requests reused, and the two refusals.

use std::collections::HashSet;

use serde_json::Value;

use super::*;
use crate::scenario::ScenarioKind;
use crate::sim::{SimConfig, Simulation};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// A quiet recorded input: `minutes` of simulated traffic at 20 requests a second, starting
/// 1.5 s after the hour.
fn quiet(format: OutputFormat, minutes: i64) -> Batch {
    let mut sim = Simulation::new(SimConfig {
        start_ms: START + 1_500,
        duration_ms: Some(minutes * 60_000),
        rate: 20.0,
        seed: 11,
        format,
        scenarios: vec![],
        anomaly_rate: 0.0,
    });
    let mut b = Batch::default();
    while sim.next_second(&mut b).is_some() {}
    b
}

fn observe(input: &Batch, format: OutputFormat) -> Observed {
    let mut o = Observed::new(format, 5);
    for (i, line) in input.lines().enumerate() {
        o.record(line, Some(input.timestamps[i]));
    }
    o
}

fn specs(list: &[&str]) -> Vec<ScenarioSpec> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

#[test]
fn the_labels_count_exactly_the_records_injected_in_their_windows() {
    let input = quiet(OutputFormat::Flat, 30);
    let observed = observe(&input, OutputFormat::Flat);
    let specs = specs(&["block-storm@5m+3m", "error-burst@10m+2mx0.5", "scanner@20m+5m"]);
    let inj = inject(&specs, &observed, 9).unwrap();
    assert_eq!(inj.scenario.len(), inj.batch.len());
    assert!(inj.batch.timestamps.windows(2).all(|w| w[0] <= w[1]), "in time order");
    let rate = observed.rate();
    for (n, label) in inj.labels.iter().enumerate() {
        let spec = &specs[n];
        assert_eq!(label.scenario, spec.kind.name());
        assert_eq!(label.fields, spec.kind.fields());
        // The window counts from the whole second holding the input's first record.
        let first = observed.span().unwrap().0;
        assert_eq!(ms(&label.start), first - first % 1000 + spec.offset.as_millis() as i64);
        assert_eq!(ms(&label.end) - ms(&label.start), spec.duration.as_millis() as i64);
        let mine: Vec<usize> = (0..inj.batch.len()).filter(|i| inj.scenario[*i] == n).collect();
        assert_eq!(label.records, mine.len() as u64, "{}", label.scenario);
        for &i in &mine {
            let ts = inj.batch.timestamps[i];
            assert!(ms(&label.start) <= ts && ts < ms(&label.end), "{} at {ts}", label.scenario);
            let v: Value = serde_json::from_slice(inj.batch.line(i)).unwrap();
            assert_eq!(v["timestamp"].as_i64(), Some(ts));
            let status = v["httpStatus"].as_u64().unwrap();
            match spec.kind {
                ScenarioKind::BlockStorm => assert!(v["action"] == "BLOCK" && status == 403, "{v}"),
                ScenarioKind::ErrorBurst => assert!(status == 429 || status >= 500, "{v}"),
                _ => assert!(status == 404 && v["httpMethod"] == "GET", "{v}"),
            }
        }
        // Relative to the input's rate: +60% for a block storm; for an error burst at 0.5, a
        // share of 15% of the traffic (0.15 / 0.85 of the rate added); +15% for a scanner.
        let per_second = match spec.kind {
            ScenarioKind::BlockStorm => 0.6 * rate,
            ScenarioKind::ErrorBurst => rate * 0.15 / 0.85,
            _ => 0.15 * rate,
        };
        let want = per_second * spec.duration.as_secs_f64();
        assert!((label.records as f64 - want).abs() <= 1.0, "{}: {} for {want}", label.scenario, label.records);
    }
    let scanners: HashSet<&str> = (0..inj.batch.len())
        .filter(|i| inj.scenario[*i] == 2)
        .map(|i| std::str::from_utf8(inj.batch.line(i)).unwrap().split("\"clientIp\":\"").nth(1).unwrap())
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(scanners.len(), 1, "one scanner address");
}

#[test]
fn injected_requests_reuse_the_inputs_clients_uris_and_agents() {
    let input = quiet(OutputFormat::Flat, 10);
    let observed = observe(&input, OutputFormat::Flat);
    let members = |line: &[u8]| {
        let v: Value = serde_json::from_slice(line).unwrap();
        let agent =
            v["headers"].as_array().unwrap().iter().find(|h| h["name"] == "User-Agent").unwrap()["value"].clone();
        (v["clientIp"].as_str().unwrap().to_owned(), v["uri"].as_str().unwrap().to_owned(), agent.to_string())
    };
    let known: HashSet<(String, String, String)> = input.lines().map(members).collect();
    let inj = inject(&specs(&["error-burst@2m+3m", "unknown-source@6m+2m"]), &observed, 1).unwrap();
    assert!(inj.batch.len() > 500);
    for line in inj.batch.lines() {
        assert!(known.contains(&members(line)), "a request of the input, changed: {}", String::from_utf8_lossy(line));
    }
}

#[test]
fn aws_waf_input_gets_aws_waf_records() {
    let input = quiet(OutputFormat::AwsWaf, 10);
    let observed = observe(&input, OutputFormat::AwsWaf);
    let inj = inject(&specs(&["geo-anomaly@1m+2m", "delete-burst@4m+1m"]), &observed, 1).unwrap();
    for (i, line) in inj.batch.lines().enumerate() {
        let v: Value = serde_json::from_slice(line).unwrap();
        let req = &v["httpRequest"];
        assert!(req["clientIp"].is_string() && v.get("httpStatus").is_none(), "{v}");
        if inj.scenario[i] == 0 {
            assert!(crate::model::ANOMALOUS_COUNTRIES.contains(&req["country"].as_str().unwrap()), "{v}");
        } else {
            assert_eq!(req["httpMethod"], "DELETE");
        }
    }
}

#[test]
fn the_window_is_cut_at_the_inputs_last_second_and_refused_beyond_it() {
    let input = quiet(OutputFormat::Flat, 10);
    let observed = observe(&input, OutputFormat::Flat);
    let (_, last) = observed.span().unwrap();
    let inj = inject(&specs(&["scanner@8m+30m"]), &observed, 1).unwrap();
    assert!(inj.batch.timestamps.iter().all(|t| *t < last - last.rem_euclid(1000)));
    assert_eq!(ms(&inj.labels[0].end), last - last.rem_euclid(1000));

    let e = inject(&specs(&["scanner@2h"]), &observed, 1).unwrap_err().to_string();
    let (first, _) = observed.span().unwrap();
    let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    assert!(first - START < 2_500 && last - START > 600_000, "the input starts 1.5 s in and ends 10 min later");
    assert_eq!(
        e,
        format!(
            "`scanner@2h+10mx1` starts 2h after the input's first record, but the input covers only {} \
             (from {} to {}); give an offset within it",
            humantime::format_duration(std::time::Duration::from_secs(((last - first) / 1000) as u64)),
            time(first),
            time(last)
        )
    );
    let mut none = Observed::new(OutputFormat::Flat, 1);
    none.record(b"{}", None);
    none.record(b"{}", None);
    let e = inject(&specs(&["scanner"]), &none, 1).unwrap_err().to_string();
    assert_eq!(e, "none of the input's 2 records has a timestamp, so there is no time to place the scenarios at");
}
