//! The normal traffic: a fixed population of clients, how many requests each second holds, and
//! what one ordinary request looks like.
//!
//! Every random choice is drawn from the one generator the simulation owns, in a fixed order:
//! changing the order of the draws here changes every byte a seed produces.

use rand::prelude::*;

use crate::model::*;

/// One day, in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// What WAF did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Let through.
    Allow,
    /// Blocked (403).
    Block,
    /// Answered with a CAPTCHA.
    Captcha,
    /// Answered with a silent challenge.
    Challenge,
}

/// What the web ACL's managed rule groups and rate-based rules made of a request, beyond its action
/// and terminating rule: what the AWS WAF shape's verdict members say (`sim/verdict.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Verdict {
    /// Only what the action, the terminating rule and the user agent imply (normal traffic).
    #[default]
    Plain,
    /// SQL injection in the query string: blocked by the SQL database group, or only counted
    /// (a COUNT override) when the action is ALLOW.
    Sqli(u8),
    /// A scraping framework that Bot Control (in COUNT mode) labels.
    Scraper,
    /// Over the rate-based rule's limit: blocked with a 429 custom response.
    RateLimited,
    /// A login that Account Takeover Prevention labels (with the compromised-credential signal
    /// when true); blocked by ATP or only counted.
    Atp(bool),
    /// Nothing WAF objects to, from a TLS stack the site never saw.
    NewStack,
}

/// One simulated request, before it is written in a record shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    /// Epoch milliseconds.
    pub(crate) ts: i64,
    /// Index of the client address in [`Population::ip`].
    pub(crate) ip: u32,
    /// ISO country code (the flat shape's `UK`; the AWS WAF shape writes `GB`).
    pub(crate) country: &'static str,
    /// The user agent.
    pub(crate) agent: &'static str,
    /// The URI path.
    pub(crate) path: &'static str,
    /// Non-zero: a generated path `/<hex>.php` (scanner sweeps).
    pub(crate) probe: u32,
    /// The query string.
    pub(crate) args: &'static str,
    /// The HTTP method.
    pub(crate) method: &'static str,
    /// The origin's status (written only in the flat shape).
    pub(crate) status: u16,
    /// WAF's verdict.
    pub(crate) action: Action,
    /// Index into [`BLOCK_RULES`] of the terminating rule when the action is not ALLOW.
    pub(crate) rule: u8,
    /// `httpSourceName`.
    pub(crate) source: &'static str,
    /// What the managed rule groups made of it.
    pub(crate) verdict: Verdict,
    /// The request id (set when the second's requests are in order).
    pub(crate) id: u64,
}

/// A normal client: one address, one country, one user agent.
struct Client {
    ip: u32,
    country: &'static str,
    agent: &'static str,
}

/// The addresses of the run (clients' and attackers'), the clients, and the weighted tables they
/// draw from.
pub(crate) struct Population {
    ips: Vec<[u8; 4]>,
    clients: Vec<Client>,
    client_cdf: Vec<u32>,
    page_cdf: Vec<u32>,
    source_cdf: Vec<u32>,
}

/// Running sums of `weights`, for [`pick`].
fn cdf(weights: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut acc = 0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// An index drawn with the weights whose running sums are `cdf`.
fn pick(rng: &mut StdRng, cdf: &[u32]) -> usize {
    let total = cdf.last().copied().unwrap_or(1).max(1);
    let x = rng.random_range(0..total);
    cdf.partition_point(|&c| c <= x)
}

/// One of `items`, uniformly.
pub(crate) fn one<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Draws a public-looking unicast address (avoiding 0/8, 10/8, 127/8 and 224+/3, and the first
/// octets of the other private ranges).
pub(crate) fn public_address(rng: &mut StdRng) -> [u8; 4] {
    let a = loop {
        let a: u8 = rng.random_range(1..224);
        if a != 10 && a != 127 && a != 100 && a != 172 && a != 192 {
            break a;
        }
    };
    [a, rng.random(), rng.random(), rng.random_range(1..255)]
}

/// The id of the `counter`th request of a run: SplitMix64, so that ids do not consume the
/// generator's randomness.
pub(crate) fn request_id(seed: u64, counter: u64) -> u64 {
    let mut z = seed ^ counter.wrapping_mul(0x2545_F491_4F6C_DD1D);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Population {
    /// Draws the [`CLIENTS`] normal clients.
    pub(crate) fn new(rng: &mut StdRng) -> Self {
        let mut population = Population {
            ips: Vec::with_capacity(CLIENTS + 512),
            clients: Vec::with_capacity(CLIENTS),
            // A few heavy clients, a long tail: weight ~ 1/(rank+10).
            client_cdf: cdf((0..CLIENTS).map(|i| (100_000 / (i + 10)) as u32)),
            page_cdf: cdf(PAGES.iter().map(|p| p.weight)),
            source_cdf: cdf(SOURCES.iter().map(|s| s.1)),
        };
        let country_cdf = cdf(COUNTRIES.iter().map(|c| c.1));
        for _ in 0..CLIENTS {
            let ip = population.new_ip(rng);
            let country = COUNTRIES[pick(rng, &country_cdf)].0;
            let agent = one(rng, USER_AGENTS);
            population.clients.push(Client { ip, country, agent });
        }
        population
    }

    /// Draws a new public-looking address ([`public_address`]); returns its index.
    pub(crate) fn new_ip(&mut self, rng: &mut StdRng) -> u32 {
        self.ips.push(public_address(rng));
        (self.ips.len() - 1) as u32
    }

    /// The address with index `ip`.
    pub(crate) fn ip(&self, ip: u32) -> [u8; 4] {
        self.ips[ip as usize]
    }

    /// An ordinary request of a random client within the second starting at `t0`.
    pub(crate) fn normal(&self, rng: &mut StdRng, t0: i64) -> Request {
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
        Request {
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
            verdict: Verdict::Plain,
            id: 0,
        }
    }
}

/// How many normal requests each second holds: the rate shaped by the time of day, normalised over
/// the run's own window (so a run yields rate x duration requests whatever hours it covers), with
/// +-5% noise, accumulated with carry so the total is exact to within the noise.
pub(crate) struct Pace {
    mean_diurnal: f64,
    carry: f64,
}

impl Pace {
    /// The pace of a run of `seconds` (unbounded: `None`) from `start_ms`.
    pub(crate) fn new(start_ms: i64, seconds: Option<i64>) -> Self {
        let mean_diurnal = match seconds {
            Some(n) if n > 0 => {
                let step = (n / 10_000).max(1);
                let samples: Vec<f64> = (0..n)
                    .step_by(step as usize)
                    .map(|s| diurnal((start_ms + s * 1000 + 500).rem_euclid(DAY_MS)))
                    .collect();
                samples.iter().sum::<f64>() / samples.len() as f64
            }
            _ => 1.0,
        };
        // Starting at one half rounds the run's total instead of truncating it.
        Pace { mean_diurnal, carry: 0.5 }
    }

    /// The number of normal requests in the second starting at `t0`.
    pub(crate) fn requests(&mut self, rng: &mut StdRng, t0: i64, rate: f64) -> usize {
        let shape = diurnal((t0 + 500).rem_euclid(DAY_MS)) / self.mean_diurnal;
        let noise = 0.95 + 0.1 * rng.random::<f64>();
        self.carry += rate * shape * noise;
        let n = self.carry.floor().max(0.0);
        self.carry -= n;
        n as usize
    }
}
