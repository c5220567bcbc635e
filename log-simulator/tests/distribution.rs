//! The traffic is what it says: rate x duration, diurnal shape, scenario windows and labels that
//! match the records, reproducibility, and records the transformer reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use serde_json::Value;
use wafwatch_log_simulator::model::{ANOMALOUS_COUNTRIES, ATTACK_AGENTS};
use wafwatch_log_simulator::scenario::ScenarioKind;
use wafwatch_log_simulator::sim::{Batch, Label, OutputFormat, SimConfig, Simulation};

const JAN_1: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;

fn cfg(start_ms: i64, duration_ms: i64, rate: f64) -> SimConfig {
    SimConfig {
        start_ms,
        duration_ms: Some(duration_ms),
        rate,
        seed: 42,
        format: OutputFormat::Flat,
        scenarios: vec![],
        anomaly_rate: 0.0,
    }
}

fn run(cfg: SimConfig) -> (Batch, Vec<Label>, Simulation) {
    let mut sim = Simulation::new(cfg);
    let mut b = Batch::default();
    while sim.next_second(&mut b).is_some() {}
    let labels = sim.labels();
    (b, labels, sim)
}

fn docs(b: &Batch) -> Vec<Value> {
    b.lines().map(|l| serde_json::from_slice(l).unwrap()).collect()
}

fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= expected * tolerance
}

#[test]
fn rate_times_duration_within_5_percent_whatever_the_hour() {
    for (start, duration, rate) in [
        (JAN_1 + 3 * HOUR, HOUR, 50.0),  // the quietest hour
        (JAN_1 + 15 * HOUR, HOUR, 50.0), // the busiest hour
        (JAN_1 + 7 * HOUR, 90_000, 10.0),
        (JAN_1, 24 * HOUR, 2.0),
    ] {
        let (b, _, _) = run(cfg(start, duration, rate));
        let expected = rate * duration as f64 / 1000.0;
        assert!(within(b.len() as f64, expected, 0.05), "{} records, expected {expected}", b.len());
        assert!(b.timestamps.iter().all(|&t| t >= start && t < start + duration));
    }
}

#[test]
fn the_day_has_a_diurnal_shape() {
    let (b, _, _) = run(cfg(JAN_1, 24 * HOUR, 5.0));
    let mut per_hour = [0u32; 24];
    for t in &b.timestamps {
        per_hour[((t - JAN_1) / HOUR) as usize] += 1;
    }
    let ratio = f64::from(per_hour[15]) / f64::from(per_hour[3]);
    assert!((2.5..3.5).contains(&ratio), "peak/trough {ratio}: {per_hour:?}");
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let mk = |seed| SimConfig {
        seed,
        scenarios: vec!["block-storm@1m+2m".parse().unwrap()],
        anomaly_rate: 0.01,
        ..cfg(JAN_1, 300_000, 20.0)
    };
    let a = run(mk(7)).0;
    let b = run(mk(7)).0;
    let c = run(mk(8)).0;
    assert_eq!(a.data, b.data);
    assert_ne!(a.data, c.data);
}

/// Each scenario's records are exactly the ones its label counts, all inside its window (the
/// seed's seven, in the flat shape; `verdicts.rs` checks the others in the AWS WAF shape).
#[test]
fn scenario_windows_and_labels_match_the_records() {
    let scenarios: Vec<_> = ScenarioKind::SEED
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{}@{}m+5m", k.name(), 5 + i * 7).parse().unwrap())
        .collect();
    let config = SimConfig { scenarios, ..cfg(JAN_1, 60 * 60_000, 20.0) };
    let (b, labels, _) = run(config);
    let docs = docs(&b);
    assert_eq!(labels.len(), 7);
    for (i, label) in labels.iter().enumerate() {
        let start = JAN_1 + (5 + i as i64 * 7) * 60_000;
        let end = start + 5 * 60_000;
        assert_eq!(
            label.start,
            chrono::DateTime::from_timestamp_millis(start).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        assert_eq!(
            label.end,
            chrono::DateTime::from_timestamp_millis(end).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let agent = |d: &Value| d["headers"][1]["value"].as_str().unwrap().to_owned();
        let mine = |d: &Value| -> bool {
            match label.scenario {
                "block-storm" => d["action"] == "BLOCK" && ATTACK_AGENTS.contains(&agent(d).as_str()),
                "unknown-source" => d["httpSourceName"] == "-",
                "error-burst" => [502, 503, 504, 429].contains(&d["httpStatus"].as_i64().unwrap()),
                "geo-anomaly" => ANOMALOUS_COUNTRIES.contains(&d["country"].as_str().unwrap()),
                "delete-burst" => d["httpMethod"] == "DELETE",
                "credential-stuffing" => d["uri"] == "/login" && d["action"] == "ALLOW" && agent(d) == ATTACK_AGENTS[0],
                "scanner" => agent(d) == ATTACK_AGENTS[4] && d["action"] == "ALLOW",
                other => panic!("{other}"),
            }
        };
        let hits: Vec<i64> = docs.iter().filter(|d| mine(d)).map(|d| d["timestamp"].as_i64().unwrap()).collect();
        assert!(hits.iter().all(|&t| t >= start && t < end), "{}: a record outside its window", label.scenario);
        if label.scenario == "error-burst" {
            // It also turns some responses into 500, which normal traffic has too.
            assert!(
                hits.len() as u64 <= label.records && hits.len() as f64 >= 0.75 * label.records as f64,
                "{label:?} {}",
                hits.len()
            );
        } else {
            assert_eq!(hits.len() as u64, label.records, "{}", label.scenario);
        }
        assert!(label.records > 0, "{}", label.scenario);
    }
}

#[test]
fn extra_scenario_volume_follows_rate_and_intensity() {
    for (spec, share) in
        [("scanner@0s+10mx2", 0.15 * 2.0), ("block-storm@0s+10m", 0.6), ("credential-stuffing@0s+10mx0.5", 0.1)]
    {
        let (_, labels, _) = run(SimConfig { scenarios: vec![spec.parse().unwrap()], ..cfg(JAN_1, 600_000, 40.0) });
        let expected = 40.0 * 600.0 * share;
        assert!(within(labels[0].records as f64, expected, 0.05), "{spec}: {} vs {expected}", labels[0].records);
    }
}

#[test]
fn random_anomalies_happen_at_the_asked_rate() {
    let (_, _, sim) = run(SimConfig { anomaly_rate: 0.05, ..cfg(JAN_1, 600_000, 100.0) });
    let share = sim.random_anomalies() as f64 / sim.generated() as f64;
    assert!((0.045..0.055).contains(&share), "{share}");
    let (_, _, quiet) = run(cfg(JAN_1, 60_000, 100.0));
    assert_eq!(quiet.random_anomalies(), 0, "none unless asked");
}

#[test]
fn the_transformer_reads_both_shapes_and_the_scenarios_move_their_columns() {
    use wafwatch_config::Transform;
    use wafwatch_config::expand::Expansion;
    use wafwatch_config::transform::TransformSections;
    use wafwatch_transformer::Transformer;
    let preset = wafwatch_config::file::AWS_WAF_PRESET_TOML;
    let preset = TransformSections::from_whole_toml(preset).unwrap().validate(Expansion::Literal).unwrap();
    for (format, t) in [
        (OutputFormat::Flat, Transformer::new(Transform::bundled().unwrap()).unwrap()),
        (OutputFormat::AwsWaf, Transformer::new(preset).unwrap()),
    ] {
        let config =
            SimConfig { format, scenarios: vec!["geo-anomaly@2m+2m".parse().unwrap()], ..cfg(JAN_1, 360_000, 20.0) };
        let (b, _, _) = run(config);
        let (mut inside, mut n_in, mut outside, mut n_out) = (0, 0, 0, 0);
        for (i, line) in b.lines().enumerate() {
            let mut out = Vec::new();
            t.transform(line, 0, &mut out).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let doc: Value = serde_json::from_slice(&out).unwrap();
            let unk = doc["UNK_country"].as_i64().unwrap();
            let ts = b.timestamps[i];
            if (JAN_1 + 120_000..JAN_1 + 240_000).contains(&ts) {
                inside += unk;
                n_in += 1;
            } else {
                outside += unk;
                n_out += 1;
            }
        }
        let (share_in, share_out) = (inside as f64 / n_in as f64, outside as f64 / n_out as f64);
        assert!(share_out < 0.1, "{format:?}: background UNK_country {share_out}");
        assert!(share_in > share_out + 0.15, "{format:?}: {share_in} vs {share_out}");
    }
}
