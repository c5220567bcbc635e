//! Injection: the simulator's scenarios as records to merge into a recorded input, with their
//! ground truth.
//!
//! Each scenario does what it does in a simulated run (its definition in `apply.rs`: its
//! attackers, its rate, what it changes), but over the input's own traffic:
//! - its window counts from the input's first timestamp (the whole second holding it) and is cut
//!   at the input's last second, so that every injected record lies inside the input;
//! - its rate is relative to the input's observed mean rate ([`Observed::rate`]);
//! - each injected request starts as a copy of one of the input's requests (client, country, user
//!   agent, URI, method, source, status), which the scenario then changes as it would a simulated
//!   one: an error burst keeps the client and the URI and gets a 5xx, a block storm keeps the URI
//!   and gets its attackers and their tools;
//! - the input's records are never changed or dropped. A scenario that in a simulated run changes
//!   a share `p` of the requests already there (`error-burst`, `unknown-source`) adds changed
//!   copies instead, `p / (1 - p)` of the rate (with `p` at most 0.9), so that the same share of
//!   the traffic in its window is affected;
//! - the records are written in the shape the input has (flat or AWS WAF), sorted by time.

use rand::prelude::*;

use super::apply::{Effect, Label, attackers, change, effect};
use super::observe::{Observed, Seen};
use super::record::{self, OutputFormat};
use super::traffic::{Action, Request, Verdict, public_address, request_id};
use crate::batch::Batch;
use crate::scenario::ScenarioSpec;

/// The largest share of the traffic an overlay scenario's copies may make up.
const MAX_OVERLAY_SHARE: f64 = 0.9;

/// Why scenarios cannot be injected into an input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InjectError {
    /// No record of the input has a timestamp, so there is no time to place a scenario at.
    #[error("none of the input's {0} records has a timestamp, so there is no time to place the scenarios at")]
    NoTimestamps(u64),
    /// The scenario starts at or after the input's last second.
    #[error(
        "`{spec}` starts {offset} after the input's first record, but the input covers only {covers} \
         (from {from} to {to}); give an offset within it"
    )]
    Beyond {
        /// The scenario as given.
        spec: String,
        /// Its offset, readable.
        offset: String,
        /// How long the input is, readable.
        covers: String,
        /// The input's first and last timestamps, RFC 3339.
        from: String,
        /// See `from`.
        to: String,
    },
}

/// The injected records, in time order, and their ground truth.
#[derive(Debug, Default)]
pub struct Injection {
    /// The records, in the input's shape.
    pub batch: Batch,
    /// For each record, the index in `labels` of the scenario that made it.
    pub scenario: Vec<usize>,
    /// One label per scenario, in the order given.
    pub labels: Vec<Label>,
}

/// One injected request before it is written.
struct Planned {
    request: Request,
    scenario: usize,
}

/// Makes the records of `specs` for the input `observed` describes; `seed` makes it reproducible.
pub fn inject(specs: &[ScenarioSpec], observed: &Observed, seed: u64) -> Result<Injection, InjectError> {
    let (first, last) = observed.span().ok_or(InjectError::NoTimestamps(observed.counts().1))?;
    let base = first - first.rem_euclid(1000);
    // Seconds from `base`; the last second of the input gets nothing, so no record is injected
    // after the input's end.
    let last_s = (last - base) / 1000;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1_2ec7);
    let mut ips: Vec<[u8; 4]> = Vec::new();
    let mut templates: Vec<(Seen, u32)> = Vec::new();
    for s in observed.seen.iter().copied().chain(observed.seen.is_empty().then_some(ORDINARY)) {
        ips.push(s.ip.unwrap_or_else(|| public_address(&mut rng)));
        templates.push((s, (ips.len() - 1) as u32));
    }
    let rate = observed.rate();
    let mut planned = Vec::new();
    let mut labels = Vec::with_capacity(specs.len());
    for (n, spec) in specs.iter().enumerate() {
        let start_s = (spec.offset.as_millis() / 1000) as i64;
        let end_s = (start_s + spec.duration.as_secs().max(1) as i64).min(last_s);
        if start_s >= end_s {
            return Err(beyond(spec, first, last));
        }
        if end_s < start_s + spec.duration.as_secs() as i64 {
            tracing::warn!(scenario = %spec, "The scenario is cut at the input's last second.");
        }
        let pool: Vec<u32> = (0..attackers(spec.kind))
            .map(|_| {
                ips.push(public_address(&mut rng));
                (ips.len() - 1) as u32
            })
            .collect();
        let per_second = match effect(spec.kind, rate, spec.intensity) {
            Effect::Extra(n) => n,
            Effect::Overlay(p) => {
                let p = p.min(MAX_OVERLAY_SHARE);
                rate * p / (1.0 - p)
            }
        };
        let before = planned.len();
        let mut carry = 0.0;
        for s in start_s..end_s {
            carry += per_second;
            let count = carry.floor();
            carry -= count;
            for _ in 0..count as usize {
                let mut request = template(&templates, &mut rng, base + s * 1000);
                change(spec.kind, &mut request, &pool, &mut rng);
                planned.push(Planned { request, scenario: n });
            }
        }
        let records = (planned.len() - before) as u64;
        labels.push(Label::new(spec.kind, base + start_s * 1000, base + end_s * 1000, records));
    }
    Ok(write(planned, labels, &ips, observed.format(), seed))
}

/// Writes the planned requests in time order (ties in the order planned).
fn write(mut planned: Vec<Planned>, labels: Vec<Label>, ips: &[[u8; 4]], format: OutputFormat, seed: u64) -> Injection {
    planned.sort_by_key(|p| p.request.ts);
    let mut out = Injection { labels, ..Injection::default() };
    for (i, p) in planned.iter_mut().enumerate() {
        // Ids of their own, apart from the simulator's (`seed`) and the input's.
        p.request.id = request_id(!seed, i as u64 + 1);
        record::write(format, &p.request, ips[p.request.ip as usize], &mut out.batch);
        out.scenario.push(p.scenario);
    }
    out
}

/// The request injected requests copy when none of the input's could be read.
const ORDINARY: Seen = Seen {
    ip: None,
    country: "US",
    agent: crate::model::USER_AGENTS[0],
    uri: "/",
    args: "",
    method: "GET",
    source: crate::model::SOURCES[0].0,
    status: 200,
};

/// A copy of one of `templates` (never empty) within the second starting at `t0`, allowed.
fn template(templates: &[(Seen, u32)], rng: &mut StdRng, t0: i64) -> Request {
    let ts = t0 + rng.random_range(0..1000);
    let (seen, ip) = templates[rng.random_range(0..templates.len())];
    Request {
        ts,
        ip,
        country: seen.country,
        agent: seen.agent,
        path: seen.uri,
        probe: 0,
        args: seen.args,
        method: seen.method,
        status: seen.status,
        action: Action::Allow,
        rule: 0,
        source: seen.source,
        verdict: Verdict::Plain,
        id: 0,
    }
}

/// The error for a scenario that starts after the input's last second.
fn beyond(spec: &ScenarioSpec, first: i64, last: i64) -> InjectError {
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let readable = |ms: i64| humantime::format_duration(std::time::Duration::from_secs((ms / 1000).max(0) as u64));
    InjectError::Beyond {
        spec: spec.to_string(),
        offset: readable(spec.offset.as_millis() as i64).to_string(),
        covers: readable(last - first).to_string(),
        from: time(first),
        to: time(last),
    }
}

#[cfg(test)]
mod tests;
