//! What the scenarios that only the AWS WAF shape's verdicts reveal do to one request: SQL
//! injection, a Bot Control category surge, a rate-based block flood, ATP-labelled credential
//! stuffing, and a new TLS fingerprint. `apply.rs` hands these kinds here; the verdict members
//! they imply are written by `verdict.rs`.

use rand::prelude::*;

use crate::model::{ATTACK_AGENTS, USER_AGENTS};
use crate::scenario::ScenarioKind;
use crate::sim::traffic::{Action, Request, Verdict, one};
use crate::webacl::{SCRAPER_AGENT, SQLI_ARGS};

/// Index of the SQL database group in [`crate::model::BLOCK_RULES`].
pub(super) const SQLI_RULE: u8 = 1;

/// Percent of the campaign's requests the SQL database group blocks (the rest it only counts).
const SQLI_BLOCKED_PERCENT: u32 = 75;
/// Percent of ATP-labelled logins ATP blocks (volumetric); the rest are counted.
const ATP_BLOCKED_PERCENT: u32 = 40;
/// Percent of ATP-labelled logins whose credentials are known to be compromised.
const ATP_COMPROMISED_PERCENT: u32 = 30;

/// Pages a scraper or a flood asks for.
const PRODUCT_PAGES: &[(&str, &str)] =
    &[("/api/products", "category=shoes&page=2"), ("/api/products/1042", ""), ("/api/search", "q=running+shoes")];

/// Turns `r` (an ordinary ALLOW) into one request of `kind`, from an address of `pool`.
///
/// Any other kind leaves `r` as it is.
pub(super) fn change(kind: ScenarioKind, r: &mut Request, pool: &[u32], rng: &mut StdRng) {
    match kind {
        ScenarioKind::SqlInjection => {
            r.ip = one(rng, pool);
            r.agent = ATTACK_AGENTS[2];
            r.method = "GET";
            r.path = "/api/search";
            let payload = rng.random_range(0..SQLI_ARGS.len());
            r.args = SQLI_ARGS[payload].0;
            r.verdict = Verdict::Sqli(payload as u8);
            if rng.random_range(0..100) < SQLI_BLOCKED_PERCENT {
                r.action = Action::Block;
                r.rule = SQLI_RULE;
                r.status = 403;
            } else {
                r.status = 200;
            }
        }
        ScenarioKind::BotSurge => {
            r.ip = one(rng, pool);
            r.agent = SCRAPER_AGENT;
            (r.path, r.args) = one(rng, PRODUCT_PAGES);
            r.method = "GET";
            r.verdict = Verdict::Scraper;
        }
        ScenarioKind::RateFlood => {
            r.ip = one(rng, pool);
            r.agent = ATTACK_AGENTS[3];
            (r.path, r.args) = one(rng, PRODUCT_PAGES);
            r.method = "GET";
            r.action = Action::Block;
            r.verdict = Verdict::RateLimited;
            r.status = 429;
        }
        ScenarioKind::AtpStuffing => {
            r.ip = one(rng, pool);
            r.agent = one(rng, &USER_AGENTS[..6]);
            r.method = "POST";
            r.path = "/login";
            r.args = "";
            r.verdict = Verdict::Atp(rng.random_range(0..100) < ATP_COMPROMISED_PERCENT);
            if rng.random_range(0..100) < ATP_BLOCKED_PERCENT {
                r.action = Action::Block;
                r.status = 403;
            } else {
                r.status = 401;
            }
        }
        ScenarioKind::NewFingerprint => {
            r.ip = one(rng, pool);
            r.agent = USER_AGENTS[0];
            r.verdict = Verdict::NewStack;
        }
        _ => {}
    }
}
