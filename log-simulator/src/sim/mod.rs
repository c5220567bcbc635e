//! The generator: one simulated second at a time, in timestamp order, reproducible from a seed.
//!
//! Normal traffic comes from a fixed population of clients (each with its own IP, country and user
//! agent) following a diurnal shape (`traffic`). The number of requests in each second is the rate,
//! shaped by the time of day and normalised over the run's own window (so a run yields rate x
//! duration requests whatever hours it covers), with +-5% noise, accumulated with carry so the
//! total is exact to within the noise. Scenarios either change requests already there (overlays)
//! or add their own, and every request they touch is counted for the labels (`apply`). Each second's
//! requests are then sorted by time and written in the chosen shape (`record`).

mod apply;
pub mod inject;
pub mod observe;
mod record;
mod traffic;
mod waf_attacks;

use rand::prelude::*;

pub use crate::batch::Batch;
use crate::scenario::ScenarioSpec;
pub use apply::Label;
use apply::{ActiveScenario, random_anomalies};
pub use record::OutputFormat;
use traffic::{Pace, Population, Request, request_id};

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

/// The simulation. Call [`Simulation::next_second`] until it returns `None`.
pub struct Simulation {
    cfg: SimConfig,
    rng: StdRng,
    population: Population,
    scenarios: Vec<ActiveScenario>,
    pace: Pace,
    second: i64,
    end_second: Option<i64>,
    /// Requests written so far, for their ids.
    counter: u64,
    /// The current second's requests (kept for its memory).
    recs: Vec<Request>,
    /// Their time order, as (time, index) pairs (kept for its memory).
    order: Vec<(i64, usize)>,
    generated: u64,
    anomalies: u64,
}

impl Simulation {
    /// Sets up the population and the scenarios.
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut population = Population::new(&mut rng);
        let scenarios = cfg.scenarios.iter().map(|spec| ActiveScenario::new(spec, &mut population, &mut rng)).collect();
        let end_second = cfg.duration_ms.map(|d| (d + 999) / 1000);
        Simulation {
            pace: Pace::new(cfg.start_ms, end_second),
            rng,
            population,
            scenarios,
            second: 0,
            end_second,
            counter: 0,
            recs: Vec::new(),
            order: Vec::new(),
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

    /// Generates the next simulated second into `out`; returns how many records it added, or
    /// `None` when a bounded run is over.
    pub fn next_second(&mut self, out: &mut Batch) -> Option<usize> {
        if self.finished() {
            return None;
        }
        let t0 = self.next_second_start();
        let n = self.pace.requests(&mut self.rng, t0, self.cfg.rate);
        let mut recs = std::mem::take(&mut self.recs);
        recs.clear();
        for _ in 0..n {
            recs.push(self.population.normal(&mut self.rng, t0));
        }
        self.anomalies += random_anomalies(&mut recs, self.cfg.anomaly_rate, &mut self.rng);
        for sc in self.scenarios.iter_mut().filter(|s| s.covers(self.second)) {
            sc.apply(&self.population, &mut self.rng, t0, self.cfg.rate, &mut recs);
        }
        // In time order, ties in the order made: sorting (time, index) pairs gives the order a
        // stable sort of the requests would, without moving the requests themselves.
        self.order.clear();
        self.order.extend(recs.iter().enumerate().map(|(i, r)| (r.ts, i)));
        self.order.sort_unstable();
        for &(_, i) in &self.order {
            let r = &mut recs[i];
            self.counter += 1;
            r.id = request_id(self.cfg.seed, self.counter);
            record::write(self.cfg.format, r, self.population.ip(r.ip), out);
        }
        let added = recs.len();
        self.generated += added as u64;
        self.recs = recs;
        self.second += 1;
        Some(added)
    }

    /// The labels of the run's scenarios (their record counts so far).
    pub fn labels(&self) -> Vec<Label> {
        self.scenarios.iter().map(|s| s.label(self.cfg.start_ms)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ScenarioKind;

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
