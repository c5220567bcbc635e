//! The generator: one simulated second at a time, in timestamp order, reproducible from a seed.
//!
//! Normal traffic comes from a fixed population of clients (each with its own IP, country and user
//! agent) following a diurnal shape. The number of requests in each second is the rate, shaped by
//! the time of day and normalised over the run's own window (so a run yields rate x duration
//! requests whatever hours it covers), with +-5% noise, accumulated with carry so the total is
//! exact to within the noise. Scenarios either change requests already there (overlays) or add
//! their own, and every request they touch is counted for the labels.

use rand::prelude::*;
use serde::Serialize;

use crate::model::*;
use crate::scenario::{ScenarioKind, ScenarioSpec};

/// The record shape written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// The flat WAF-style shape the default wafwatch.toml reads (with a synthetic httpStatus).
    #[default]
    Flat,
    /// The real AWS WAF log shape (nested httpRequest, no origin status).
    AwsWaf,
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// First instant, epoch milliseconds.
    pub start_ms: i64,
    /// Length of the run; `None` runs until stopped.
    pub duration_ms: Option<i64>,
    /// Mean requests per second.
    pub rate: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Record shape.
    pub format: OutputFormat,
    /// Forced scenarios.
    pub scenarios: Vec<ScenarioSpec>,
    /// Probability per normal request of a random anomaly (as the original generator did).
    pub anomaly_rate: f64,
}

/// Generated records: newline-terminated lines back to back, with each line's end and timestamp.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// The lines.
    pub data: Vec<u8>,
    /// End offset (exclusive, after the newline) of each line.
    pub ends: Vec<usize>,
    /// Timestamp (epoch ms) of each line.
    pub timestamps: Vec<i64>,
}

impl Batch {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.timestamps.clear();
    }
    /// Line `i`, with its newline.
    pub fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
    /// Iterates over the lines, with their newlines.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.line(i))
    }
    /// Appends a line (a newline is added when missing).
    pub fn push(&mut self, line: &[u8], timestamp: i64) {
        self.data.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            self.data.push(b'\n');
        }
        self.ends.push(self.data.len());
        self.timestamps.push(timestamp);
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Block,
    Captcha,
    Challenge,
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    ts: i64,
    ip: u32,
    country: &'static str,
    agent: &'static str,
    path: &'static str,
    /// Non-zero: a generated path `/<hex>.php` (scanner sweeps).
    probe: u32,
    args: &'static str,
    method: &'static str,
    status: u16,
    action: Action,
    rule: u8,
    source: &'static str,
    id: u64,
}

struct Client {
    ip: u32,
    country: &'static str,
    agent: &'static str,
}

struct ActiveScenario {
    spec: ScenarioSpec,
    start_s: i64,
    end_s: i64,
    carry: f64,
    records: u64,
    pool: Vec<u32>,
}

/// The simulation. Call [`Simulation::next_second`] until it returns `None`.
pub struct Simulation {
    cfg: SimConfig,
    rng: StdRng,
    ips: Vec<[u8; 4]>,
    clients: Vec<Client>,
    client_cdf: Vec<u32>,
    page_cdf: Vec<u32>,
    source_cdf: Vec<u32>,
    scenarios: Vec<ActiveScenario>,
    second: i64,
    end_second: Option<i64>,
    mean_diurnal: f64,
    carry: f64,
    counter: u64,
    recs: Vec<Rec>,
    generated: u64,
    anomalies: u64,
}

fn cdf(weights: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut acc = 0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

fn pick(rng: &mut StdRng, cdf: &[u32]) -> usize {
    let total = cdf.last().copied().unwrap_or(1).max(1);
    let x = rng.random_range(0..total);
    cdf.partition_point(|&c| c <= x)
}

fn one<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// SplitMix64, for request ids that do not consume the generator's randomness.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const DAY_MS: i64 = 86_400_000;

impl Simulation {
    /// Sets up the population and the scenarios.
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut ips = Vec::with_capacity(CLIENTS + 512);
        let mut new_ip = |rng: &mut StdRng| {
            // Public-looking unicast addresses, avoiding 0/8, 10/8, 127/8 and 224+/3.
            let a = loop {
                let a: u8 = rng.random_range(1..224);
                if a != 10 && a != 127 && a != 100 && a != 172 && a != 192 {
                    break a;
                }
            };
            ips.push([a, rng.random(), rng.random(), rng.random_range(1..255)]);
            (ips.len() - 1) as u32
        };
        let country_cdf = cdf(COUNTRIES.iter().map(|c| c.1));
        let clients: Vec<Client> = (0..CLIENTS)
            .map(|_| Client {
                ip: new_ip(&mut rng),
                country: COUNTRIES[pick(&mut rng, &country_cdf)].0,
                agent: one(&mut rng, USER_AGENTS),
            })
            .collect();
        // A few heavy clients, a long tail: weight ~ 1/(rank+10).
        let client_cdf = cdf((0..CLIENTS).map(|i| (100_000 / (i + 10)) as u32));
        let scenarios = cfg
            .scenarios
            .iter()
            .map(|spec| {
                let pool_size = match spec.kind {
                    ScenarioKind::BlockStorm => 50,
                    ScenarioKind::GeoAnomaly => 200,
                    ScenarioKind::CredentialStuffing => 4,
                    ScenarioKind::Scanner => 1,
                    _ => 0,
                };
                let start_s = (spec.offset.as_millis() / 1000) as i64;
                ActiveScenario {
                    spec: spec.clone(),
                    start_s,
                    end_s: start_s + spec.duration.as_secs().max(1) as i64,
                    carry: 0.0,
                    records: 0,
                    pool: (0..pool_size).map(|_| new_ip(&mut rng)).collect(),
                }
            })
            .collect();
        let end_second = cfg.duration_ms.map(|d| (d + 999) / 1000);
        let mean_diurnal = match end_second {
            Some(n) if n > 0 => {
                let step = (n / 10_000).max(1);
                let samples: Vec<f64> = (0..n)
                    .step_by(step as usize)
                    .map(|s| diurnal((cfg.start_ms + s * 1000 + 500).rem_euclid(DAY_MS)))
                    .collect();
                samples.iter().sum::<f64>() / samples.len() as f64
            }
            _ => 1.0,
        };
        Simulation {
            page_cdf: cdf(PAGES.iter().map(|p| p.weight)),
            source_cdf: cdf(SOURCES.iter().map(|s| s.1)),
            rng,
            ips,
            clients,
            client_cdf,
            scenarios,
            second: 0,
            end_second,
            mean_diurnal,
            // Starting at one half rounds the run's total instead of truncating it.
            carry: 0.5,
            counter: 0,
            recs: Vec::new(),
            generated: 0,
            anomalies: 0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Requests generated so far.
    pub fn generated(&self) -> u64 {
        self.generated
    }

    /// Random anomalies injected so far (`--anomaly-rate`).
    pub fn random_anomalies(&self) -> u64 {
        self.anomalies
    }

    /// The epoch-ms start of the next second to generate.
    pub fn next_second_start(&self) -> i64 {
        self.cfg.start_ms + self.second * 1000
    }

    /// Whether every second of a bounded run has been generated.
    pub fn finished(&self) -> bool {
        self.end_second.is_some_and(|e| self.second >= e)
    }

    fn normal(&mut self, t0: i64) -> Rec {
        let rng = &mut self.rng;
        let c = &self.clients[pick(rng, &self.client_cdf)];
        let page = &PAGES[pick(rng, &self.page_cdf)];
        let roll = rng.random_range(0..1000u32);
        let method = if page.post && roll < 450 {
            "POST"
        } else if roll >= 960 {
            "HEAD"
        } else {
            "GET"
        };
        let mut status = if page.path.starts_with("/static") && roll % 5 == 0 { 304 } else { 200 };
        let r2 = rng.random_range(0..1000u32);
        if page.path == "/login" && method == "POST" && r2 < LOGIN_FAIL_PER_MILLE {
            status = 401;
        } else if r2 < NOT_FOUND_PER_MILLE {
            status = 404;
        } else if r2 >= 1000 - SERVER_ERROR_PER_MILLE {
            status = 500;
        }
        let r3 = rng.random_range(0..1000u32);
        let action = if r3 < BLOCK_PER_MILLE {
            status = 403;
            Action::Block
        } else if r3 < BLOCK_PER_MILLE + CAPTCHA_PER_MILLE {
            Action::Captcha
        } else if r3 < BLOCK_PER_MILLE + CAPTCHA_PER_MILLE + CHALLENGE_PER_MILLE {
            Action::Challenge
        } else {
            Action::Allow
        };
        Rec {
            ts: t0 + rng.random_range(0..1000),
            ip: c.ip,
            country: c.country,
            agent: c.agent,
            path: page.path,
            probe: 0,
            args: page.args,
            method,
            status,
            action,
            rule: rng.random_range(0..BLOCK_RULES.len() as u8),
            source: SOURCES[pick(rng, &self.source_cdf)].0,
            id: 0,
        }
    }

    /// Generates the next simulated second into `out`; returns how many records it added, or
    /// `None` when a bounded run is over.
    pub fn next_second(&mut self, out: &mut Batch) -> Option<usize> {
        if self.finished() {
            return None;
        }
        let t0 = self.next_second_start();
        let shape = diurnal((t0 + 500).rem_euclid(DAY_MS)) / self.mean_diurnal;
        let noise = 0.95 + 0.1 * self.rng.random::<f64>();
        self.carry += self.cfg.rate * shape * noise;
        let n = self.carry.floor().max(0.0);
        self.carry -= n;
        let mut recs = std::mem::take(&mut self.recs);
        recs.clear();
        for _ in 0..n as usize {
            let r = self.normal(t0);
            recs.push(r);
        }
        if self.cfg.anomaly_rate > 0.0 {
            for r in recs.iter_mut() {
                if self.rng.random::<f64>() < self.cfg.anomaly_rate {
                    self.anomalies += 1;
                    match self.rng.random_range(0..5) {
                        0 => {
                            r.action = Action::Block;
                            r.status = 403;
                        }
                        1 => r.source = "-",
                        2 => r.status = one(&mut self.rng, &[500, 502, 503, 504]),
                        3 => r.country = one(&mut self.rng, ANOMALOUS_COUNTRIES),
                        _ => r.method = "DELETE",
                    }
                }
            }
        }
        let mut scenarios = std::mem::take(&mut self.scenarios);
        let second = self.second;
        for sc in scenarios.iter_mut().filter(|s| s.start_s <= second && second < s.end_s) {
            self.apply(sc, t0, &mut recs);
        }
        self.scenarios = scenarios;
        recs.sort_by_key(|r| r.ts);
        for r in recs.iter_mut() {
            self.counter += 1;
            r.id = mix(self.cfg.seed ^ self.counter.wrapping_mul(0x2545_F491_4F6C_DD1D));
            self.write(r, out);
        }
        let added = recs.len();
        self.generated += added as u64;
        self.recs = recs;
        self.second += 1;
        Some(added)
    }

    fn apply(&mut self, sc: &mut ActiveScenario, t0: i64, recs: &mut Vec<Rec>) {
        let i = sc.spec.intensity;
        let rate = self.cfg.rate;
        if sc.spec.kind.overlays() {
            let p = match sc.spec.kind {
                ScenarioKind::UnknownSource => (0.25 * i).min(1.0),
                _ => (0.30 * i).min(1.0),
            };
            for r in recs.iter_mut() {
                if self.rng.random::<f64>() < p {
                    sc.records += 1;
                    if sc.spec.kind == ScenarioKind::UnknownSource {
                        r.source = "-";
                    } else {
                        r.status = if self.rng.random_range(0..100) < 85 {
                            one(&mut self.rng, &[503, 503, 502, 500, 504])
                        } else {
                            429
                        };
                    }
                }
            }
            return;
        }
        let per_second = match sc.spec.kind {
            ScenarioKind::BlockStorm => 0.60 * rate * i,
            ScenarioKind::GeoAnomaly => 0.30 * rate * i,
            ScenarioKind::DeleteBurst => (0.05 * rate * i).max(i),
            ScenarioKind::CredentialStuffing => 0.20 * rate * i,
            _ => 0.15 * rate * i,
        };
        sc.carry += per_second;
        let n = sc.carry.floor();
        sc.carry -= n;
        for _ in 0..n as usize {
            let mut r = self.normal(t0);
            r.action = Action::Allow;
            r.source = SOURCES[0].0;
            match sc.spec.kind {
                ScenarioKind::BlockStorm => {
                    r.ip = one(&mut self.rng, &sc.pool);
                    r.country = one(&mut self.rng, &["US", "IN", "UK"]);
                    r.agent = one(&mut self.rng, ATTACK_AGENTS);
                    r.action = Action::Block;
                    r.status = 403;
                }
                ScenarioKind::GeoAnomaly => {
                    r.ip = one(&mut self.rng, &sc.pool);
                    r.country = one(&mut self.rng, ANOMALOUS_COUNTRIES);
                    if r.status >= 400 {
                        r.status = 200;
                    }
                }
                ScenarioKind::DeleteBurst => {
                    r.method = "DELETE";
                    r.path = one(&mut self.rng, DELETE_PATHS);
                    r.args = "";
                    r.status = 204;
                }
                ScenarioKind::CredentialStuffing => {
                    r.ip = one(&mut self.rng, &sc.pool);
                    r.country = "US";
                    r.agent = ATTACK_AGENTS[0];
                    r.method = "POST";
                    r.path = "/login";
                    r.args = "";
                    r.status = if self.rng.random_range(0..100) < 92 { 401 } else { 200 };
                }
                _ => {
                    r.ip = sc.pool[0];
                    r.country = "US";
                    r.agent = ATTACK_AGENTS[4];
                    r.method = "GET";
                    r.args = "";
                    if self.rng.random_range(0..3) == 0 {
                        r.path = one(&mut self.rng, SCANNER_PATHS);
                    } else {
                        r.path = "/";
                        r.probe = self.rng.random_range(1..u32::MAX);
                    }
                    r.status = 404;
                }
            }
            sc.records += 1;
            recs.push(r);
        }
    }

    /// The labels of the run's scenarios (their record counts so far).
    pub fn labels(&self) -> Vec<Label> {
        let fmt = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        self.scenarios
            .iter()
            .map(|s| Label {
                scenario: s.spec.kind.name(),
                start: fmt(self.cfg.start_ms + s.start_s * 1000),
                end: fmt(self.cfg.start_ms + s.end_s * 1000),
                fields: s.spec.kind.fields(),
                records: s.records,
            })
            .collect()
    }

    fn write(&self, r: &Rec, out: &mut Batch) {
        let o = &mut out.data;
        let mut num = itoa::Buffer::new();
        o.extend_from_slice(b"{\"timestamp\":");
        o.extend_from_slice(num.format(r.ts).as_bytes());
        o.extend_from_slice(b",\"formatVersion\":1,\"webaclId\":\"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shop-acl/4f7c2a1e-9b3d-4c55-8e21-0a6d2b9f7e10\",\"terminatingRuleId\":\"");
        let (rule, rule_type) =
            if r.action == Action::Allow { ("Default_Action", "REGULAR") } else { BLOCK_RULES[r.rule as usize] };
        o.extend_from_slice(rule.as_bytes());
        o.extend_from_slice(b"\",\"terminatingRuleType\":\"");
        o.extend_from_slice(rule_type.as_bytes());
        o.extend_from_slice(b"\",\"action\":\"");
        let flat = self.cfg.format == OutputFormat::Flat;
        o.extend_from_slice(match (r.action, flat) {
            (Action::Allow, _) => b"ALLOW".as_slice(),
            (Action::Block, _) => b"BLOCK",
            (Action::Captcha, _) => b"CAPTCHA",
            (Action::Challenge, true) => b"Challenge",
            (Action::Challenge, false) => b"CHALLENGE",
        });
        o.extend_from_slice(b"\",\"httpSourceName\":\"");
        o.extend_from_slice(r.source.as_bytes());
        let country = if !flat && r.country == "UK" { "GB" } else { r.country };
        if flat {
            o.extend_from_slice(b"\",\"httpStatus\":");
            o.extend_from_slice(num.format(r.status).as_bytes());
            o.extend_from_slice(b",\"country\":\"");
            o.extend_from_slice(country.as_bytes());
            o.extend_from_slice(b"\",\"httpMethod\":\"");
            o.extend_from_slice(r.method.as_bytes());
            o.extend_from_slice(b"\",");
        } else {
            o.extend_from_slice(b"\",\"httpSourceId\":\"111122223333-app/shop-alb/7d3f9a2b6c1e4d08\",\"terminatingRuleMatchDetails\":[],\"ruleGroupList\":[],\"rateBasedRuleList\":[],\"nonTerminatingMatchingRules\":[],\"requestHeadersInserted\":null,\"responseCodeSent\":");
            o.extend_from_slice(match r.action {
                Action::Captcha => b"405".as_slice(),
                Action::Challenge => b"202",
                _ => b"null",
            });
            o.extend_from_slice(b",\"httpRequest\":{\"country\":\"");
            o.extend_from_slice(country.as_bytes());
            o.extend_from_slice(b"\",\"httpMethod\":\"");
            o.extend_from_slice(r.method.as_bytes());
            o.extend_from_slice(b"\",");
        }
        o.extend_from_slice(b"\"clientIp\":\"");
        let ip = self.ips[r.ip as usize];
        for (k, part) in ip.iter().enumerate() {
            if k > 0 {
                o.push(b'.');
            }
            o.extend_from_slice(num.format(*part).as_bytes());
        }
        o.extend_from_slice(b"\",\"uri\":\"");
        o.extend_from_slice(r.path.as_bytes());
        if r.probe != 0 {
            write_hex(o, u64::from(r.probe), 8);
            o.extend_from_slice(b".php");
        }
        o.extend_from_slice(b"\",\"args\":\"");
        o.extend_from_slice(r.args.as_bytes());
        o.extend_from_slice(b"\",\"httpVersion\":\"HTTP/1.1\",\"requestId\":\"");
        write_hex(o, r.id, 16);
        o.extend_from_slice(
            b"\",\"headers\":[{\"name\":\"Host\",\"value\":\"shop.example.com\"},{\"name\":\"User-Agent\",\"value\":\"",
        );
        o.extend_from_slice(r.agent.as_bytes());
        o.extend_from_slice(b"\"},{\"name\":\"Accept\",\"value\":\"*/*\"}]");
        if flat {
            o.extend_from_slice(b"}\n");
        } else {
            o.extend_from_slice(b"},\"labels\":[]}\n");
        }
        out.ends.push(o.len());
        out.timestamps.push(r.ts);
    }
}

fn write_hex(o: &mut Vec<u8>, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        o.push(HEX[((v >> (i * 4)) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rate: f64, secs: i64) -> SimConfig {
        SimConfig {
            start_ms: 1_767_225_600_000, // 2026-01-01T00:00Z
            duration_ms: Some(secs * 1000),
            rate,
            seed: 7,
            format: OutputFormat::Flat,
            scenarios: vec![],
            anomaly_rate: 0.0,
        }
    }

    #[test]
    fn every_line_is_valid_json_in_timestamp_order() {
        for format in [OutputFormat::Flat, OutputFormat::AwsWaf] {
            let mut sim = Simulation::new(SimConfig {
                format,
                scenarios: ScenarioKind::ALL.iter().map(|k| k.name().parse().unwrap()).collect(),
                ..cfg(50.0, 1200)
            });
            let mut b = Batch::default();
            while sim.next_second(&mut b).is_some() {}
            let mut last = 0;
            for (i, line) in b.lines().enumerate() {
                let v: serde_json::Value = serde_json::from_slice(line).unwrap();
                assert_eq!(v["timestamp"].as_i64(), Some(b.timestamps[i]));
                assert!(b.timestamps[i] >= last);
                last = b.timestamps[i];
            }
        }
    }
}
