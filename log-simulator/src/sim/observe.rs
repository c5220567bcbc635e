//! What a recorded input says about itself, for injection: its time span, its rate, and a sample
//! of its requests (client, country, user agent, URI, method, source, status) for injected
//! requests to reuse.
//!
//! The sample is a reservoir of [`KEPT`] requests drawn uniformly from the whole input with the
//! injection's seed, so a long input costs no more memory than a short one and the same input and
//! seed give the same sample. Only the requests drawn are parsed.

use std::collections::HashSet;

use rand::prelude::*;
use serde_json::Value;

use super::record::OutputFormat;

/// Requests kept as templates.
pub const KEPT: usize = 2_000;

/// One request of the input, as injected requests reuse it. Its text is JSON-escaped, ready for
/// the record writer, which writes strings as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The client's IPv4 address, when it has one (an IPv6 client gets a drawn address).
    pub(crate) ip: Option<[u8; 4]>,
    pub(crate) country: &'static str,
    pub(crate) agent: &'static str,
    pub(crate) uri: &'static str,
    pub(crate) args: &'static str,
    pub(crate) method: &'static str,
    pub(crate) source: &'static str,
    /// The origin's status when the shape has one (the flat shape's `httpStatus`), else 200.
    pub(crate) status: u16,
}

/// What the input said: read every record with [`Observed::record`].
pub struct Observed {
    format: OutputFormat,
    /// The first and last timestamps (epoch ms) of the records that have one.
    span: Option<(i64, i64)>,
    timed: u64,
    untimed: u64,
    pub(crate) seen: Vec<Seen>,
    rng: StdRng,
    /// The distinct texts of the sample. The record writer takes `'static` text (so its hot path
    /// copies without lifetimes); the sample holds at most a few thousand distinct values, kept
    /// for the rest of the process.
    texts: HashSet<&'static str>,
}

impl Observed {
    /// Nothing observed yet, of records in `format`; `seed` draws the sample.
    pub fn new(format: OutputFormat, seed: u64) -> Self {
        Observed {
            format,
            span: None,
            timed: 0,
            untimed: 0,
            seen: Vec::new(),
            rng: StdRng::seed_from_u64(seed ^ 0x0b5e_12ed),
            texts: HashSet::new(),
        }
    }

    /// The record shape observed (and injected).
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Observes one record (its JSON text) at `timestamp_ms`, `None` when it has no timestamp of
    /// its own.
    pub fn record(&mut self, line: &[u8], timestamp_ms: Option<i64>) {
        let Some(ts) = timestamp_ms else {
            self.untimed += 1;
            return;
        };
        self.timed += 1;
        self.span = Some(self.span.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
        let slot = if self.seen.len() < KEPT {
            self.seen.len()
        } else {
            match self.rng.random_range(0..self.timed) as usize {
                j if j < KEPT => j,
                _ => return,
            }
        };
        if let Some(seen) = self.parse(line) {
            if slot == self.seen.len() {
                self.seen.push(seen);
            } else {
                self.seen[slot] = seen;
            }
        }
    }

    /// The first and last timestamps (epoch ms); `None` when no record had one.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.span
    }

    /// Records with a timestamp, and records without.
    pub fn counts(&self) -> (u64, u64) {
        (self.timed, self.untimed)
    }

    /// The mean rate, requests per second, over the span (at least one second).
    pub fn rate(&self) -> f64 {
        let secs = self.span.map_or(1.0, |(a, b)| ((b - a) as f64 / 1000.0).max(1.0));
        self.timed as f64 / secs
    }

    /// Reads the members injected requests reuse from one record of the shape.
    fn parse(&mut self, line: &[u8]) -> Option<Seen> {
        let v: Value = serde_json::from_slice(line).ok()?;
        let req = match self.format {
            OutputFormat::Flat => &v,
            OutputFormat::AwsWaf => v.get("httpRequest")?,
        };
        let agent = req.get("headers").and_then(Value::as_array).and_then(|hs| {
            hs.iter()
                .find(|h| text(h.get("name")).is_some_and(|n| n.eq_ignore_ascii_case("user-agent")))
                .and_then(|h| text(h.get("value")))
        });
        let status = match &v["httpStatus"] {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        Some(Seen {
            ip: text(req.get("clientIp")).and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok()).map(|ip| ip.octets()),
            country: self.intern(text(req.get("country")).unwrap_or("-")),
            agent: self.intern(agent.unwrap_or("-")),
            uri: self.intern(text(req.get("uri")).unwrap_or("/")),
            args: self.intern(text(req.get("args")).unwrap_or("")),
            method: self.intern(text(req.get("httpMethod")).unwrap_or("GET")),
            source: self.intern(text(v.get("httpSourceName")).unwrap_or("-")),
            status: status.filter(|s| (100..600).contains(s)).unwrap_or(200),
        })
    }

    /// `s` JSON-escaped, as `'static` text shared by every request that has it.
    fn intern(&mut self, s: &str) -> &'static str {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        let escaped = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default();
        if let Some(t) = self.texts.get(escaped) {
            return t;
        }
        let t: &'static str = Box::leak(escaped.to_owned().into_boxed_str());
        self.texts.insert(t);
        t
    }
}

/// A string member's text.
fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_shapes_and_escapes_what_it_keeps() {
        let mut o = Observed::new(OutputFormat::AwsWaf, 1);
        o.record(
            br#"{"timestamp":5000,"httpSourceName":"CF","httpRequest":{"clientIp":"2001:db8::1","country":"GB","uri":"/a\"b","args":"","httpMethod":"PUT","headers":[{"name":"user-agent","value":"x/1"}]}}"#,
            Some(5_000),
        );
        o.record(b"{}", None);
        o.record(b"not json", Some(1_000));
        let s = o.seen[0];
        assert_eq!((s.ip, s.country, s.uri, s.method, s.agent, s.source), (None, "GB", r#"/a\"b"#, "PUT", "x/1", "CF"));
        assert_eq!((o.span(), o.counts(), o.seen.len()), (Some((1_000, 5_000)), (2, 1), 1));
        assert_eq!(o.rate(), 0.5);

        let mut o = Observed::new(OutputFormat::Flat, 1);
        o.record(br#"{"clientIp":"203.0.113.9","httpStatus":"404","country":"UK"}"#, Some(0));
        assert_eq!((o.seen[0].ip, o.seen[0].status, o.seen[0].country), (Some([203, 0, 113, 9]), 404, "UK"));
    }

    #[test]
    fn the_sample_is_bounded_and_drawn_from_the_whole_input() {
        let mut o = Observed::new(OutputFormat::Flat, 3);
        for i in 0..10 * KEPT as i64 {
            o.record(format!("{{\"uri\":\"/p{i}\"}}").as_bytes(), Some(i));
        }
        assert_eq!(o.seen.len(), KEPT);
        let late = o.seen.iter().filter(|s| s.uri[2..].parse::<usize>().unwrap() >= 5 * KEPT).count();
        assert!((800..1_200).contains(&late), "about half the sample from the second half: {late}");
    }
}
