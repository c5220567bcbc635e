//! Scenario application: what each scenario does to a second of traffic, and the ground truth it
//! leaves behind.
//!
//! A scenario either changes a share of the requests already there (an overlay) or adds requests
//! of its own, each an ordinary request turned into an attack. Everything a kind does is said once,
//! in three exhaustive matches: [`attackers`] (the addresses it draws before the run), [`effect`]
//! (how much it changes or adds) and [`change`] (what it does to one request). A new
//! [`ScenarioKind`] does not compile until each says what it does.
//!
//! Also here: the random anomalies of `--anomaly-rate`, an overlay of its own.

use rand::prelude::*;
use serde::Serialize;

use crate::model::*;
use crate::scenario::{ScenarioKind, ScenarioSpec};
use crate::sim::traffic::{Action, Population, Request, one};
use crate::sim::waf_attacks;

/// The ground truth of one scenario, as written to `--labels`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// The scenario's name.
    pub scenario: &'static str,
    /// RFC 3339 UTC.
    pub start: String,
    /// RFC 3339 UTC (exclusive).
    pub end: String,
    /// Columns of the default configuration it should move.
    pub fields: &'static [&'static str],
    /// Requests it added or changed.
    pub records: u64,
}

impl Label {
    /// The label of `kind` over `[start_ms, end_ms)` (whole seconds), having touched `records`.
    pub(crate) fn new(kind: ScenarioKind, start_ms: i64, end_ms: i64, records: u64) -> Label {
        let fmt = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        Label { scenario: kind.name(), start: fmt(start_ms), end: fmt(end_ms), fields: kind.fields(), records }
    }

    /// Labels as NDJSON, one object per scenario (the `--labels` file).
    pub fn ndjson(labels: &[Label]) -> String {
        let mut body = String::new();
        for l in labels {
            body.push_str(&serde_json::to_string(l).unwrap_or_default());
            body.push('\n');
        }
        body
    }
}

/// What a scenario does to each second of its window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Effect {
    /// Changes each request already there with this probability.
    Overlay(f64),
    /// Adds this many requests per second (fractions carry over to the next second).
    Extra(f64),
}

/// How many attacker addresses `kind` draws before the run starts.
pub(crate) fn attackers(kind: ScenarioKind) -> usize {
    match kind {
        ScenarioKind::BlockStorm => 50,
        ScenarioKind::GeoAnomaly => 200,
        ScenarioKind::CredentialStuffing => 4,
        ScenarioKind::Scanner => 1,
        ScenarioKind::SqlInjection => 20,
        ScenarioKind::BotSurge => 150,
        ScenarioKind::RateFlood => 8,
        ScenarioKind::AtpStuffing => 120,
        ScenarioKind::NewFingerprint => 300,
        ScenarioKind::UnknownSource | ScenarioKind::ErrorBurst | ScenarioKind::DeleteBurst => 0,
    }
}

/// What `kind` does to each second, at `rate` requests per second and intensity `i`.
pub(crate) fn effect(kind: ScenarioKind, rate: f64, i: f64) -> Effect {
    match kind {
        ScenarioKind::UnknownSource => Effect::Overlay((0.25 * i).min(1.0)),
        ScenarioKind::ErrorBurst => Effect::Overlay((0.30 * i).min(1.0)),
        ScenarioKind::BlockStorm => Effect::Extra(0.60 * rate * i),
        ScenarioKind::GeoAnomaly => Effect::Extra(0.30 * rate * i),
        ScenarioKind::DeleteBurst => Effect::Extra((0.05 * rate * i).max(i)),
        ScenarioKind::CredentialStuffing => Effect::Extra(0.20 * rate * i),
        ScenarioKind::Scanner => Effect::Extra(0.15 * rate * i),
        ScenarioKind::SqlInjection => Effect::Extra(0.10 * rate * i),
        ScenarioKind::BotSurge => Effect::Extra(0.25 * rate * i),
        ScenarioKind::RateFlood => Effect::Extra(0.40 * rate * i),
        ScenarioKind::AtpStuffing => Effect::Extra(0.10 * rate * i),
        ScenarioKind::NewFingerprint => Effect::Extra(0.15 * rate * i),
    }
}

/// What `kind` does to one request: an overlay changes a request already there; a scenario that
/// adds requests turns an ordinary one (already an ALLOW from the first source) into its own.
/// `pool` holds the scenario's attacker addresses.
pub(crate) fn change(kind: ScenarioKind, r: &mut Request, pool: &[u32], rng: &mut StdRng) {
    match kind {
        ScenarioKind::UnknownSource => r.source = "-",
        ScenarioKind::ErrorBurst => {
            r.status = if rng.random_range(0..100) < 85 { one(rng, &[503, 503, 502, 500, 504]) } else { 429 };
        }
        ScenarioKind::BlockStorm => {
            r.ip = one(rng, pool);
            r.country = one(rng, &["US", "IN", "UK"]);
            r.agent = one(rng, ATTACK_AGENTS);
            r.action = Action::Block;
            r.status = 403;
        }
        ScenarioKind::GeoAnomaly => {
            r.ip = one(rng, pool);
            r.country = one(rng, ANOMALOUS_COUNTRIES);
            if r.status >= 400 {
                r.status = 200;
            }
        }
        ScenarioKind::DeleteBurst => {
            r.method = "DELETE";
            r.path = one(rng, DELETE_PATHS);
            r.args = "";
            r.status = 204;
        }
        ScenarioKind::CredentialStuffing => {
            r.ip = one(rng, pool);
            r.country = "US";
            r.agent = ATTACK_AGENTS[0];
            r.method = "POST";
            r.path = "/login";
            r.args = "";
            r.status = if rng.random_range(0..100) < 92 { 401 } else { 200 };
        }
        ScenarioKind::Scanner => scanner_probe(r, pool, rng),
        ScenarioKind::SqlInjection
        | ScenarioKind::BotSurge
        | ScenarioKind::RateFlood
        | ScenarioKind::AtpStuffing
        | ScenarioKind::NewFingerprint => waf_attacks::change(kind, r, pool, rng),
    }
}

/// One IP sweeping URIs: a third known scanner paths, the rest generated `/<hex>.php` probes.
fn scanner_probe(r: &mut Request, pool: &[u32], rng: &mut StdRng) {
    r.ip = pool[0];
    r.country = "US";
    r.agent = ATTACK_AGENTS[4];
    r.method = "GET";
    r.args = "";
    if rng.random_range(0..3) == 0 {
        r.path = one(rng, SCANNER_PATHS);
    } else {
        r.path = "/";
        r.probe = rng.random_range(1..u32::MAX);
    }
    r.status = 404;
}

/// A scenario placed in a run: its window in seconds from the start, its attackers, and what it
/// has done so far.
pub(crate) struct ActiveScenario {
    spec: ScenarioSpec,
    start_s: i64,
    end_s: i64,
    carry: f64,
    records: u64,
    pool: Vec<u32>,
}

impl ActiveScenario {
    /// Places `spec`, drawing its attackers' addresses.
    pub(crate) fn new(spec: &ScenarioSpec, population: &mut Population, rng: &mut StdRng) -> Self {
        let start_s = (spec.offset.as_millis() / 1000) as i64;
        ActiveScenario {
            spec: spec.clone(),
            start_s,
            end_s: start_s + spec.duration.as_secs().max(1) as i64,
            carry: 0.0,
            records: 0,
            pool: (0..attackers(spec.kind)).map(|_| population.new_ip(rng)).collect(),
        }
    }

    /// Whether the second `second` (from the start of the run) is in the window.
    pub(crate) fn covers(&self, second: i64) -> bool {
        self.start_s <= second && second < self.end_s
    }

    /// Applies the scenario to the requests of the second starting at `t0`.
    pub(crate) fn apply(
        &mut self,
        population: &Population,
        rng: &mut StdRng,
        t0: i64,
        rate: f64,
        recs: &mut Vec<Request>,
    ) {
        let kind = self.spec.kind;
        match effect(kind, rate, self.spec.intensity) {
            Effect::Overlay(p) => {
                for r in recs.iter_mut() {
                    if rng.random::<f64>() < p {
                        self.records += 1;
                        change(kind, r, &self.pool, rng);
                    }
                }
            }
            Effect::Extra(per_second) => {
                self.carry += per_second;
                let n = self.carry.floor();
                self.carry -= n;
                for _ in 0..n as usize {
                    let mut r = population.normal(rng, t0);
                    r.action = Action::Allow;
                    r.source = SOURCES[0].0;
                    change(kind, &mut r, &self.pool, rng);
                    self.records += 1;
                    recs.push(r);
                }
            }
        }
    }

    /// The label so far of a run that started at `run_start_ms`.
    pub(crate) fn label(&self, run_start_ms: i64) -> Label {
        Label::new(self.spec.kind, run_start_ms + self.start_s * 1000, run_start_ms + self.end_s * 1000, self.records)
    }
}

/// `--anomaly-rate`: each request becomes, with probability `rate`, one of five random anomalies
/// (as the original generator did); returns how many did.
pub(crate) fn random_anomalies(recs: &mut [Request], rate: f64, rng: &mut StdRng) -> u64 {
    let mut anomalies = 0;
    if rate > 0.0 {
        for r in recs.iter_mut() {
            if rng.random::<f64>() < rate {
                anomalies += 1;
                match rng.random_range(0..5) {
                    0 => {
                        r.action = Action::Block;
                        r.status = 403;
                    }
                    1 => r.source = "-",
                    2 => r.status = one(rng, &[500, 502, 503, 504]),
                    3 => r.country = one(rng, ANOMALOUS_COUNTRIES),
                    _ => r.method = "DELETE",
                }
            }
        }
    }
    anomalies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlays_are_the_kinds_that_say_so() {
        for kind in ScenarioKind::ALL {
            let overlay = matches!(effect(kind, 10.0, 1.0), Effect::Overlay(_));
            assert_eq!(overlay, kind.overlays(), "{kind}");
            assert!(!overlay || attackers(kind) == 0, "{kind}: an overlay keeps the requests' own clients");
        }
    }
}
