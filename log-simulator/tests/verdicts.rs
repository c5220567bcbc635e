//! The AWS WAF shape's verdicts: every record of every scenario follows the documented log format,
//! each scenario that only the verdicts reveal leaves what real WAF would log (golden records), its
//! label counts exactly its records, and the AWS WAF preset's columns see it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use serde_json::{Map, Value, json};
use wafwatch_config::expand::Expansion;
use wafwatch_config::transform::TransformSections;
use wafwatch_log_simulator::model::ATTACK_AGENTS;
use wafwatch_log_simulator::scenario::ScenarioKind;
use wafwatch_log_simulator::sim::{Batch, Label, OutputFormat, SimConfig, Simulation};
use wafwatch_log_simulator::webacl::{self, labels};
use wafwatch_transformer::Transformer;

const JAN_1: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MINUTE: i64 = 60_000;

fn run(scenarios: &[String], minutes: i64, rate: f64) -> (Vec<Value>, Vec<i64>, Vec<Label>) {
    let mut sim = Simulation::new(SimConfig {
        start_ms: JAN_1,
        duration_ms: Some(minutes * MINUTE),
        rate,
        seed: 11,
        format: OutputFormat::AwsWaf,
        scenarios: scenarios.iter().map(|s| s.parse().unwrap()).collect(),
        anomaly_rate: 0.0,
    });
    let mut b = Batch::default();
    while sim.next_second(&mut b).is_some() {}
    let docs = b.lines().map(|l| serde_json::from_slice(l).unwrap()).collect();
    (docs, b.timestamps.clone(), sim.labels())
}

fn one_of(v: &Value, allowed: &[&str]) -> bool {
    v.as_str().is_some_and(|s| allowed.contains(&s))
}

fn hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The documented AWS WAF log format (the contract's section 7), one rule per check.
fn check_format(d: &Value) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{what}: {d}"));
    if !(d["timestamp"].is_i64()
        && d["formatVersion"] == 1
        && d["webaclId"].as_str().is_some_and(|w| w.starts_with("arn:aws:wafv2:")))
    {
        return fail("timestamp, formatVersion or webaclId");
    }
    if !one_of(&d["terminatingRuleType"], &["RATE_BASED", "REGULAR", "GROUP", "MANAGED_RULE_GROUP"])
        || !one_of(&d["action"], &["ALLOW", "BLOCK", "CAPTCHA", "CHALLENGE"])
        || !d["terminatingRuleId"].is_string()
    {
        return fail("terminating rule or action");
    }
    for m in d["terminatingRuleMatchDetails"].as_array().unwrap() {
        let tokens = m["matchedData"].as_array().unwrap();
        if !one_of(&m["conditionType"], &["SQL_INJECTION", "XSS"])
            || !m["location"].is_string()
            || !tokens.iter().all(Value::is_string)
        {
            return fail("terminatingRuleMatchDetails");
        }
    }
    for g in d["ruleGroupList"].as_array().unwrap() {
        let terminating = &g["terminatingRule"];
        let counted = g["nonTerminatingMatchingRules"].as_array().unwrap();
        if !g["ruleGroupId"].is_string()
            || !(terminating.is_null() || (terminating["ruleId"].is_string() && terminating["action"].is_string()))
            || !counted
                .iter()
                .all(|c| one_of(&c["action"], &["COUNT", "CAPTCHA", "CHALLENGE"]) && c["ruleMatchDetails"].is_array())
            || !(g["excludedRules"].is_null() || g["excludedRules"].is_array())
        {
            return fail("ruleGroupList");
        }
    }
    for r in d["rateBasedRuleList"].as_array().unwrap() {
        if !r["rateBasedRuleName"].is_string()
            || !one_of(&r["limitKey"], &["IP", "FORWARDED_IP", "CUSTOMKEYS"])
            || !r["maxRateAllowed"].is_u64()
            || !one_of(&r["evaluationWindowSec"], &["60", "120", "300", "600"])
        {
            return fail("rateBasedRuleList");
        }
    }
    if d["terminatingRuleType"] == "RATE_BASED"
        && !d["rateBasedRuleList"].as_array().unwrap().iter().any(|r| r["rateBasedRuleName"] == d["terminatingRuleId"])
    {
        return fail("a RATE_BASED termination without its rate-based rule");
    }
    let code = &d["responseCodeSent"];
    if !(code.is_null() || code.as_u64().is_some_and(|c| (200..600).contains(&c))) {
        return fail("responseCodeSent");
    }
    let labels = d["labels"].as_array().unwrap();
    if labels.len() > 100 || !labels.iter().all(|l| l["name"].is_string() && l.as_object().unwrap().len() == 1) {
        return fail("labels");
    }
    for (action, member, code) in [("CAPTCHA", "captchaResponse", 405), ("CHALLENGE", "challengeResponse", 202)] {
        let outcome = &d[member];
        if (d["action"] == action) != outcome.is_object() {
            return fail(member);
        }
        if outcome.is_object()
            && !(outcome["responseCode"] == code
                && d["responseCodeSent"] == code
                && outcome["failureReason"].is_string())
        {
            return fail(member);
        }
    }
    let fingerprinted = one_of(&d["httpSourceName"], &["CF", "ALB"]);
    let ja3 = d["ja3Fingerprint"].as_str();
    let ja4 = d["ja4Fingerprint"].as_str();
    if fingerprinted != (ja3.is_some() && ja4.is_some())
        || ja3.is_some_and(|j| j.len() != 32 || !hex(j))
        || ja4.is_some_and(|j| j.len() != 36)
    {
        return fail("ja3Fingerprint/ja4Fingerprint (CloudFront and ALB only)");
    }
    let req = &d["httpRequest"];
    let headers = req["headers"].as_array().unwrap();
    if !(req["clientIp"].is_string()
        && req["uri"].is_string()
        && req["args"].is_string()
        && headers.iter().all(|h| h["name"].is_string() && h["value"].is_string()))
    {
        return fail("httpRequest");
    }
    Ok(())
}

fn label_names(d: &Value) -> Vec<&str> {
    d["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect()
}

fn agent(d: &Value) -> &str {
    d["httpRequest"]["headers"].as_array().unwrap().iter().find(|h| h["name"] == "User-Agent").unwrap()["value"]
        .as_str()
        .unwrap()
}

/// Whether `d` is one of the records `scenario` made.
fn made_by(scenario: &str, d: &Value) -> bool {
    let names = label_names(d);
    match scenario {
        "sql-injection" => names.contains(&labels::SQLI_QUERY) && agent(d) == ATTACK_AGENTS[2],
        "bot-surge" => names.contains(&labels::BOT_SCRAPING),
        "rate-flood" => d["terminatingRuleId"] == "api-rate-limit",
        "atp-stuffing" => names.contains(&labels::ATP_VOLUMETRIC_IP),
        "new-fingerprint" => d["ja4Fingerprint"] == webacl::NEW_STACK.ja4,
        other => panic!("{other}"),
    }
}

fn new_kinds() -> impl Iterator<Item = ScenarioKind> {
    ScenarioKind::VERDICTS.into_iter()
}

#[test]
fn every_record_of_every_scenario_follows_the_documented_format() {
    let specs: Vec<String> =
        ScenarioKind::ALL.iter().enumerate().map(|(i, k)| format!("{}@{}m+3m", k.name(), i * 2)).collect();
    let (docs, _, _) = run(&specs, 30, 20.0);
    let mut actions = std::collections::BTreeSet::new();
    for d in &docs {
        check_format(d).unwrap();
        actions.insert(d["action"].as_str().unwrap().to_owned());
    }
    assert_eq!(actions.into_iter().collect::<Vec<_>>(), ["ALLOW", "BLOCK", "CAPTCHA", "CHALLENGE"]);
}

#[test]
fn each_new_scenario_leaves_the_verdicts_real_waf_would_log() {
    for kind in new_kinds() {
        let (docs, _, _) = run(&[format!("{}@1m+1m", kind.name())], 3, 5.0);
        let d = docs.iter().find(|d| made_by(kind.name(), d)).unwrap_or_else(|| panic!("{kind}: no record"));
        let keep = [
            "terminatingRuleId",
            "terminatingRuleType",
            "action",
            "terminatingRuleMatchDetails",
            "ruleGroupList",
            "rateBasedRuleList",
            "responseCodeSent",
            "labels",
            "ja3Fingerprint",
            "ja4Fingerprint",
        ];
        let mut golden: Map<String, Value> = keep.iter().map(|k| ((*k).to_owned(), d[*k].clone())).collect();
        golden.insert(
            "request".into(),
            json!([d["httpRequest"]["httpMethod"], d["httpRequest"]["uri"], d["httpRequest"]["args"], agent(d)]),
        );
        insta::assert_json_snapshot!(kind.name(), golden, { ".rateBasedRuleList[].limitValue" => "[client ip]" });
    }
}

#[test]
fn labels_count_each_new_scenarios_records_and_the_preset_sees_them() {
    let preset = wafwatch_config::file::AWS_WAF_PRESET_TOML;
    let t = Transformer::new(TransformSections::from_whole_toml(preset).unwrap().validate(Expansion::Literal).unwrap())
        .unwrap();
    for kind in new_kinds() {
        let (docs, times, labels) = run(&[format!("{}@4m+3m", kind.name())], 10, 20.0);
        let (start, end) = (JAN_1 + 4 * MINUTE, JAN_1 + 7 * MINUTE);
        let mine: Vec<i64> =
            docs.iter().zip(&times).filter(|(d, _)| made_by(kind.name(), d)).map(|(_, t)| *t).collect();
        assert_eq!(mine.len() as u64, labels[0].records, "{kind}");
        assert!(mine.iter().all(|t| (start..end).contains(t)), "{kind}: a record outside its window");
        // Each labelled column's share inside the window clearly above its share outside.
        for column in kind.fields() {
            let (mut inside, mut n_in, mut outside, mut n_out) = (0.0, 0.0, 0.0, 0.0);
            for (d, ts) in docs.iter().zip(&times) {
                let mut out = Vec::new();
                t.transform(d.to_string().as_bytes(), 0, &mut out).unwrap();
                let on = serde_json::from_slice::<Value>(&out).unwrap()[*column].as_f64().unwrap();
                if (start..end).contains(ts) {
                    (inside, n_in) = (inside + on, n_in + 1.0);
                } else {
                    (outside, n_out) = (outside + on, n_out + 1.0);
                }
            }
            let (share_in, share_out) = (inside / n_in, outside / n_out);
            assert!(share_in > share_out + 0.05, "{kind} {column}: {share_in} vs {share_out}");
        }
    }
}
