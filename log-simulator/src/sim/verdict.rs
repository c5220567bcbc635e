//! The AWS WAF shape's verdict members: which rule terminated the request and how, the managed
//! rule groups that matched (with COUNT overrides), the rate-based rules that acted, the response
//! WAF sent itself, the labels, the CAPTCHA and Challenge outcomes, and the TLS fingerprints.
//!
//! A child of `record.rs` (it writes with the same [`JsonLine`] and macros). What the members
//! say follows from the request's action, terminating rule, user agent and [`Verdict`]; the names
//! and fingerprints come from [`crate::webacl`].
//! <https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html>

use super::{JsonLine, Key, OutputFormat, dotted_quad};
use crate::model::BLOCK_RULES;
use crate::sim::traffic::{Action, Request, Verdict};
use crate::webacl::{self, labels};

/// The rate-based rule the rate flood trips (the normal traffic's is [`BLOCK_RULES`]' own).
const API_RATE_RULE: &str = "api-rate-limit";
/// The rule that answers with a CAPTCHA, and the one that answers with a Challenge.
const CAPTCHA_RULE: &str = "captcha-checkout";
const CHALLENGE_RULE: &str = "challenge-bots";

/// `matchedData` for each of [`webacl::SQLI_ARGS`], in its order, as whole members.
const SQLI_MATCHED: [[&str; 3]; 4] = [
    constant! { "matchedData": r#"["1'","OR","'1'='1"]"# },
    constant! { "matchedData": r#"["'","UNION","SELECT"]"# },
    constant! { "matchedData": r#"[";","DROP","TABLE"]"# },
    constant! { "matchedData": r#"["'","AND","SLEEP"]"# },
];

/// The terminating rule's id and type.
pub(super) fn terminating(r: &Request, format: OutputFormat) -> (&'static str, &'static str) {
    match (r.action, r.verdict, format) {
        (Action::Allow, _, _) => ("Default_Action", "REGULAR"),
        (_, Verdict::RateLimited, _) => (API_RATE_RULE, "RATE_BASED"),
        (_, Verdict::Atp(_), _) => ("AWS-AWSManagedRulesATPRuleSet", "MANAGED_RULE_GROUP"),
        (Action::Captcha, _, OutputFormat::AwsWaf) => (CAPTCHA_RULE, "REGULAR"),
        (Action::Challenge, _, OutputFormat::AwsWaf) => (CHALLENGE_RULE, "REGULAR"),
        _ => BLOCK_RULES[r.rule as usize],
    }
}

/// Which of [`BLOCK_RULES`] terminated a blocked request (none for any other action).
fn blocked_by(r: &Request) -> Option<u8> {
    (r.action == Action::Block && r.verdict == Verdict::Plain).then_some(r.rule)
}

/// The SQL injection payload a request carries: the campaign's, or the first for a normal
/// request the SQL database group blocked.
fn sqli(r: &Request) -> Option<usize> {
    match (r.verdict, blocked_by(r)) {
        (Verdict::Sqli(p), _) => Some(p as usize % SQLI_MATCHED.len()),
        (_, Some(1)) => Some(0),
        _ => None,
    }
}

/// The members between `httpSourceId` and `httpRequest`: from `terminatingRuleMatchDetails` to
/// `responseCodeSent`.
pub(super) fn members(w: &mut JsonLine<'_>, r: &Request, ip: [u8; 4]) {
    w.array(key!("terminatingRuleMatchDetails"));
    if let Some(p) = sqli(r).filter(|_| r.action == Action::Block) {
        match_detail(w, p);
    }
    w.end_array();
    rule_groups(w, r);
    w.array(key!("rateBasedRuleList"));
    let rate = match (r.verdict, blocked_by(r)) {
        (Verdict::RateLimited, _) => Some((API_RATE_RULE, 1000)),
        (_, Some(4)) => Some((BLOCK_RULES[4].0, 100)),
        _ => None,
    };
    if let Some((name, limit)) = rate {
        w.element_object();
        // The shape WAF logs: the ARN of the IP set the rule keeps its offenders in.
        w.str(
            key!("rateBasedRuleId"),
            "arn:aws:wafv2:us-east-1:111122223333_MANAGED:regional/ipset/4f7c2a1e-9b3d-4c55-8e21-0a6d2b9f7e10_5b8e2c1d-7a4f-4e6b-9c3d-2e1f0a9b8c7d_IPV4/5b8e2c1d-7a4f-4e6b-9c3d-2e1f0a9b8c7d",
        );
        w.str(key!("rateBasedRuleName"), name);
        w.constant(constant! { "limitKey": "\"IP\"" });
        w.int(key!("maxRateAllowed"), limit);
        w.constant(constant! { "evaluationWindowSec": "\"300\"" });
        let (text, len) = dotted_quad(ip);
        w.str(key!("limitValue"), &text[..len]);
        w.end_object();
    }
    w.end_array();
    w.constant(constant! { "nonTerminatingMatchingRules": "[]", "requestHeadersInserted": "null" });
    w.constant(match (r.action, r.verdict) {
        (Action::Captcha, _) => constant! { "responseCodeSent": "405" },
        (Action::Challenge, _) => constant! { "responseCodeSent": "202" },
        (Action::Block, Verdict::RateLimited) => constant! { "responseCodeSent": "429" },
        _ if blocked_by(r) == Some(4) => constant! { "responseCodeSent": "429" },
        _ => constant! { "responseCodeSent": "null" },
    });
}

/// One SQL injection match detail, as an element of the array open.
fn match_detail(w: &mut JsonLine<'_>, payload: usize) {
    w.element_object();
    w.constant(constant! {
        "conditionType": "\"SQL_INJECTION\"",
        "sensitivityLevel": "\"LOW\"",
        "location": "\"QUERY_STRING\"",
    });
    w.constant(SQLI_MATCHED[payload]);
    w.end_object();
}

/// A rule group's entry in `ruleGroupList`: `rule` terminated it (BLOCK) or, when `counted`,
/// matched under a COUNT override (as an element of the array open). `sqli` adds the match
/// details of that payload.
fn group(w: &mut JsonLine<'_>, id: &str, rule: &str, counted: bool, sqli: Option<usize>) {
    w.element_object();
    w.str(key!("ruleGroupId"), id);
    if counted {
        w.constant(constant! { "terminatingRule": "null" });
        w.array(key!("nonTerminatingMatchingRules"));
        w.element_object();
        w.str(key!("ruleId"), rule);
        w.constant(constant! { "action": "\"COUNT\"", "overriddenAction": "\"BLOCK\"" });
        w.array(key!("ruleMatchDetails"));
        if let Some(p) = sqli {
            match_detail(w, p);
        }
        w.end_array();
        w.end_object();
        w.end_array();
    } else {
        w.object(key!("terminatingRule"));
        w.str(key!("ruleId"), rule);
        w.constant(constant! { "action": "\"BLOCK\"", "ruleMatchDetails": "null" });
        w.end_object();
        w.constant(constant! { "nonTerminatingMatchingRules": "[]" });
    }
    w.constant(constant! { "excludedRules": "null" });
    w.end_object();
}

/// `ruleGroupList`: Bot Control's category match (counted), then the group that decided or
/// counted an attack.
fn rule_groups(w: &mut JsonLine<'_>, r: &Request) {
    w.array(key!("ruleGroupList"));
    const BOT_CONTROL: &str = "AWS#AWSManagedRulesBotControlRuleSet";
    if r.verdict == Verdict::Scraper {
        group(w, BOT_CONTROL, "CategoryScrapingFramework", true, None);
    } else if webacl::is_http_library(r.agent) {
        group(w, BOT_CONTROL, "CategoryHttpLibrary", true, None);
    }
    let blocked = r.action == Action::Block;
    match (r.verdict, blocked_by(r)) {
        (Verdict::Sqli(_), _) | (_, Some(1)) => {
            group(w, "AWS#AWSManagedRulesSQLiRuleSet", "SQLi_QUERYARGUMENTS", !blocked, sqli(r).filter(|_| !blocked))
        }
        (Verdict::Atp(_), _) => group(w, "AWS#AWSManagedRulesATPRuleSet", "VolumetricIpHigh", !blocked, None),
        (_, Some(0)) => group(w, "AWS#AWSManagedRulesCommonRuleSet", "SizeRestrictions_QUERYSTRING", false, None),
        (_, Some(2)) => group(w, "AWS#AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_HEADER", false, None),
        _ => {}
    }
    w.end_array();
}

/// The members after `httpRequest`: `labels`, the CAPTCHA or Challenge outcome, and the TLS
/// fingerprints (CloudFront and ALB only, as WAF logs them).
pub(super) fn after_request(w: &mut JsonLine<'_>, r: &Request) {
    w.array(key!("labels"));
    let mut label = |name: &str| {
        w.element_object();
        w.str(key!("name"), name);
        w.end_object();
    };
    if r.verdict == Verdict::Scraper {
        label(labels::BOT_SCRAPING);
        label(labels::BOT_NAME_SCRAPY);
    } else if webacl::is_http_library(r.agent) {
        label(labels::BOT_HTTP_LIBRARY);
    }
    if sqli(r).is_some() {
        label(labels::SQLI_QUERY);
    }
    match (r.verdict, blocked_by(r)) {
        (Verdict::Atp(compromised), _) => {
            if compromised {
                label(labels::ATP_COMPROMISED);
            }
            label(labels::ATP_VOLUMETRIC_IP);
        }
        (_, Some(0)) => label(labels::CRS_SIZE),
        (_, Some(2)) => label(labels::BAD_INPUT_LOG4J),
        _ => {}
    }
    if matches!(r.action, Action::Captcha | Action::Challenge) {
        label(labels::TOKEN_ABSENT);
    }
    w.end_array();
    match r.action {
        Action::Captcha => w.constant(constant! {
            "captchaResponse": r#"{"responseCode":405,"solveTimestamp":0,"failureReason":"TOKEN_MISSING"}"#,
        }),
        Action::Challenge => w.constant(constant! {
            "challengeResponse": r#"{"responseCode":202,"solveTimestamp":0,"failureReason":"TOKEN_MISSING"}"#,
        }),
        Action::Allow | Action::Block => {}
    }
    if matches!(r.source, "CF" | "ALB") {
        let stack = if r.verdict == Verdict::NewStack { webacl::NEW_STACK } else { webacl::stack_of(r.agent) };
        w.str(key!("ja3Fingerprint"), stack.ja3);
        w.str(key!("ja4Fingerprint"), stack.ja4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_has_its_matched_data() {
        assert_eq!(SQLI_MATCHED.len(), webacl::SQLI_ARGS.len());
        for (m, (_, tokens)) in SQLI_MATCHED.iter().zip(webacl::SQLI_ARGS) {
            assert_eq!(m[0], format!("\"matchedData\":{tokens}"));
        }
    }
}
