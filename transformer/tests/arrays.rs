//! Columns matched inside arrays (`each`) and header lookup by name (`each` with `where`): the
//! semantics one case at a time, then against a reference model built on a full DOM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wafwatch_transformer::Transformer;

const CONFIG: &str = r#"
[[encode]]
field = "/labels"
each = "/name"
columns = [
  { name = "bot_library", values = ["awswaf:managed:aws:bot-control:bot:category:http_library"] },
  { name = "bot_any", prefixes = ["awswaf:managed:aws:bot-control:bot:category:"] },
  { name = "atp", regex = "^awswaf:managed:aws:atp:(signal|aggregate):" },
  { name = "no_label", otherwise = true },
]

[[encode]]
field = "/httpRequest/headers"
each = "/value"
where = { member = "/name", equals = "User-Agent" }
columns = [
  { name = "ua_mobile", regex = "(?i)mobile|android|iphone" },
  { name = "ua_browser", prefixes = ["Mozilla/"] },
  { name = "ua_tool", regex = "(?i)^(curl|python-requests|sqlmap)" },
  { name = "ua_empty", values = [""] },
  { name = "ua_none", otherwise = true },
]

[[encode]]
field = "/ruleGroupList"
each = "/terminatingRule/ruleId"
ignore_case = true
columns = [ { name = "sqli_group", prefixes = ["sqli_"] } ]
"#;

static T: std::sync::LazyLock<Transformer> = std::sync::LazyLock::new(|| from_toml(CONFIG));

/// The columns set for `doc`, by name.
fn on(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    T.transform(doc.to_string().as_bytes(), 1_795_262_283_412, &mut out).unwrap();
    let got: Map<String, Value> = serde_json::from_slice(&out).unwrap();
    T.config().column_names().filter(|c| got[*c] == 1).map(str::to_owned).collect()
}

fn labels(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|n| json!({ "name": n })).collect())
}

#[test]
fn any_element_sets_each_column_it_matches() {
    let doc = json!({ "labels": labels(&[
        "awswaf:managed:aws:core-rule-set:NoUserAgent_Header",
        "awswaf:managed:aws:bot-control:bot:category:http_library",
        "awswaf:managed:aws:atp:signal:credential_compromised",
    ]) });
    assert_eq!(on(&doc), ["bot_library", "bot_any", "atp", "ua_none"]);
    let doc = json!({ "labels": labels(&["awswaf:managed:aws:bot-control:bot:category:scraping_framework"]) });
    assert_eq!(on(&doc), ["bot_any", "ua_none"]);
}

#[test]
fn no_match_missing_empty_null_and_non_object_elements_give_otherwise() {
    for labels in [
        json!(["awswaf:managed:aws:bot-control:bot:category:http_library"]),
        json!([{ "name": "awswaf:managed:aws:core-rule-set:SizeRestrictions_BODY" }]),
        json!([]),
        Value::Null,
        json!({ "name": "awswaf:managed:aws:bot-control:bot:category:http_library" }),
        json!([7, null, [{ "name": "awswaf:managed:aws:atp:signal:x" }], { "nom": "awswaf:managed:aws:atp:signal:x" }]),
        json!([{ "name": 42 }, { "name": null }]),
    ] {
        assert_eq!(on(&json!({ "labels": labels })), ["no_label", "ua_none"], "{labels}");
    }
    assert_eq!(on(&json!({})), ["no_label", "ua_none"]);
}

#[test]
fn prefixes_are_case_sensitive_unless_the_field_ignores_case() {
    let doc = json!({ "labels": labels(&["AWSWAF:managed:aws:bot-control:bot:category:seo"]) });
    assert_eq!(on(&doc), ["no_label", "ua_none"]);
    let doc = json!({ "ruleGroupList": [
        { "ruleGroupId": "AWS#AWSManagedRulesCommonRuleSet", "terminatingRule": null },
        { "ruleGroupId": "AWS#AWSManagedRulesSQLiRuleSet", "terminatingRule": { "ruleId": "SQLi_QUERYARGUMENTS" } },
    ] });
    assert_eq!(on(&doc), ["no_label", "ua_none", "sqli_group"]);
}

fn with_headers(headers: Value) -> Value {
    json!({ "httpRequest": { "headers": headers } })
}

#[test]
fn a_header_is_found_by_name_wherever_it_sits_in_any_case() {
    for name in ["User-Agent", "user-agent", "USER-AGENT", "uSeR-aGeNt"] {
        let doc = with_headers(json!([
            { "name": "Host", "value": "shop.example.com" },
            { "name": "Accept", "value": "*/*" },
            { "name": name, "value": "curl/8.5.0" },
        ]));
        assert_eq!(on(&doc), ["no_label", "ua_tool"], "{name}");
    }
}

#[test]
fn the_first_matching_column_wins_for_a_looked_up_value() {
    let mobile = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
    let desktop = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0";
    let ua = |v: &str| with_headers(json!([{ "name": "user-agent", "value": v }]));
    assert_eq!(on(&ua(mobile)), ["no_label", "ua_mobile"]);
    assert_eq!(on(&ua(desktop)), ["no_label", "ua_browser"]);
    assert_eq!(on(&ua("")), ["no_label", "ua_empty"]);
    assert_eq!(on(&ua("Googlebot/2.1")), ["no_label", "ua_none"]);
}

#[test]
fn the_first_header_of_that_name_is_read_and_a_missing_one_is_otherwise() {
    let doc = with_headers(json!([
        { "name": "User-Agent", "value": "python-requests/2.32.3" },
        { "name": "User-Agent", "value": "Mozilla/5.0" },
    ]));
    assert_eq!(on(&doc), ["no_label", "ua_tool"]);
    for headers in [
        json!([{ "name": "Host", "value": "x" }]),
        json!([]),
        json!("User-Agent: curl"),
        json!([{ "name": "User-Agent" }]),
        json!([{ "name": "User-Agent-X", "value": "curl/8" }]),
    ] {
        assert_eq!(on(&with_headers(headers.clone())), ["no_label", "ua_none"], "{headers}");
    }
}

#[test]
fn escaped_strings_in_elements_are_unescaped_before_matching() {
    let text = r#"{"labels":[{"name":"awswaf:managed:aws:atp:signal:\u0078"}],"httpRequest":{"headers":[{"name":"User\u002DAgent","value":"curl\/8"}]}}"#;
    let mut out = Vec::new();
    T.transform(text.as_bytes(), 0, &mut out).unwrap();
    let got: Map<String, Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!((got["atp"].as_i64(), got["ua_tool"].as_i64(), got["no_label"].as_i64()), (Some(1), Some(1), Some(0)));
}

/// The reference model, on a full DOM: the label columns of `doc`.
fn expected_labels(doc: &Map<String, Value>) -> Vec<&'static str> {
    let names: Vec<&str> = match doc.get("labels") {
        Some(Value::Array(items)) => items.iter().filter_map(|i| i.get("name")?.as_str()).collect(),
        _ => Vec::new(),
    };
    let any = |f: &dyn Fn(&str) -> bool| names.iter().any(|n| f(n));
    let mut on = Vec::new();
    if any(&|n| n == "awswaf:managed:aws:bot-control:bot:category:http_library") {
        on.push("bot_library");
    }
    if any(&|n| n.starts_with("awswaf:managed:aws:bot-control:bot:category:")) {
        on.push("bot_any");
    }
    if any(&|n| n.starts_with("awswaf:managed:aws:atp:signal:") || n.starts_with("awswaf:managed:aws:atp:aggregate:")) {
        on.push("atp");
    }
    if on.is_empty() {
        on.push("no_label");
    }
    on
}

/// The reference model of the header lookup: the user-agent column of `doc`.
fn expected_agent(doc: &Map<String, Value>) -> &'static str {
    let headers = doc.get("httpRequest").and_then(|r| r.get("headers")).and_then(Value::as_array);
    let agent = headers.and_then(|hs| {
        hs.iter().find(|h| h.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case("user-agent")))
    });
    let Some(v) = agent.and_then(|h| h.get("value")).and_then(Value::as_str) else { return "ua_none" };
    let lower = v.to_ascii_lowercase();
    if ["mobile", "android", "iphone"].iter().any(|m| lower.contains(m)) {
        "ua_mobile"
    } else if v.starts_with("Mozilla/") {
        "ua_browser"
    } else if ["curl", "python-requests", "sqlmap"].iter().any(|t| lower.starts_with(t)) {
        "ua_tool"
    } else if v.is_empty() {
        "ua_empty"
    } else {
        "ua_none"
    }
}

#[test]
fn the_real_waf_fixture_follows_the_reference_model() {
    let mut agents = Vec::new();
    for line in fixture("waf_examples.ndjson").lines() {
        let doc: Map<String, Value> = serde_json::from_str(line).unwrap();
        let mut expected: Vec<String> = expected_labels(&doc).into_iter().map(str::to_owned).collect();
        expected.push(expected_agent(&doc).to_owned());
        let group = doc["ruleGroupList"].as_array().unwrap().iter().any(|g| {
            g.pointer("/terminatingRule/ruleId")
                .and_then(Value::as_str)
                .is_some_and(|r| r.to_ascii_lowercase().starts_with("sqli_"))
        });
        if group {
            expected.push("sqli_group".into());
        }
        agents.push(expected_agent(&doc));
        assert_eq!(on(&Value::Object(doc)), expected, "{line}");
    }
    // The fixture covers a missing User-Agent, two tools in lower and mixed case, and a browser.
    assert_eq!(agents, ["ua_none", "ua_tool", "ua_tool", "ua_browser"]);
}

fn label_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "awswaf:managed:aws:bot-control:bot:category:http_library",
            "awswaf:managed:aws:bot-control:bot:category:scraping_framework",
            "awswaf:managed:aws:bot-control:bot:category:",
            "awswaf:managed:aws:atp:signal:credential_compromised",
            "awswaf:managed:aws:atp:aggregate:volumetric:ip:high",
            "awswaf:managed:aws:atp:",
            "awswaf:managed:aws:sql-database:SQLi_QueryArguments",
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        Just(Value::Null),
        any::<i32>().prop_map(Value::from),
    ]
}

fn element(value: impl Strategy<Value = Value>, name_key: &'static str) -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => value.prop_map(move |v| json!({ name_key: v })),
        1 => Just(json!("loose string")),
        1 => Just(Value::Null),
        1 => Just(json!({ "other": 1 })),
    ]
}

fn header() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec!["User-Agent", "user-agent", "USER-AGENT", "Host", "Accept", "User-Agents"]);
    let value = prop::sample::select(vec![
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Mozilla/5.0 (Linux; Android 14) Mobile",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "",
        "Googlebot/2.1",
    ]);
    prop_oneof![
        6 => (name, value).prop_map(|(n, v)| json!({ "name": n, "value": v })),
        1 => Just(json!(["nested"])),
        1 => Just(json!({ "name": "User-Agent" })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn array_columns_follow_the_reference_model(
        labels in proptest::option::of(proptest::collection::vec(element(label_name(), "name"), 0..6)),
        headers in proptest::option::of(proptest::collection::vec(header(), 0..6)),
    ) {
        let mut doc = Map::new();
        if let Some(l) = labels {
            doc.insert("labels".into(), Value::Array(l));
        }
        if let Some(h) = headers {
            doc.insert("httpRequest".into(), json!({ "clientIp": "192.0.2.1", "headers": h }));
        }
        let mut expected: Vec<String> = expected_labels(&doc).into_iter().map(str::to_owned).collect();
        expected.push(expected_agent(&doc).to_owned());
        prop_assert_eq!(on(&Value::Object(doc)), expected);
    }
}

/// Two groups of columns over one field are two one-hot groups: a value sets one column of each.
#[test]
fn a_field_with_two_groups_sets_a_column_in_each() {
    let t = from_toml(
        r#"
        [[encode]]
        field = "/httpStatus"
        columns = [ { name = "good", values = ["2xx", "3xx"] }, { name = "bad", values = ["4xx", "5xx"] } ]

        [[encode]]
        field = "/httpStatus"
        columns = [ { name = "server_error", values = ["5xx"] }, { name = "not_server_error", otherwise = true } ]
        "#,
    );
    let on = |status: Value| {
        let mut out = Vec::new();
        t.transform(json!({ "httpStatus": status }).to_string().as_bytes(), 1_795_262_283_412, &mut out).unwrap();
        let got: Map<String, Value> = serde_json::from_slice(&out).unwrap();
        t.config().column_names().filter(|c| got[*c] == 1).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(on(json!(503)), ["bad", "server_error"]);
    assert_eq!(on(json!(404)), ["bad", "not_server_error"]);
    assert_eq!(on(json!("200")), ["good", "not_server_error"]);
    assert_eq!(on(Value::Null), ["not_server_error"]);
}
