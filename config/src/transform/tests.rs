//! The transformer sections' validation, one behaviour per test.

use super::*;

fn parse(text: &str) -> TransformSections {
    toml::from_str(text).unwrap()
}

fn problems(text: &str) -> Vec<String> {
    parse(text).validate(Expansion::Literal).unwrap_err().problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let err = toml::from_str::<TransformSections>("[source]\nformt = \"json\"\n").unwrap_err().to_string();
    assert!(err.contains("unknown field `formt`"), "{err}");
    let err = toml::from_str::<TransformSections>(
        "[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", value = [\"a\"] }]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `value`"), "{err}");
}

#[test]
fn duplicate_columns_empty_values_and_bad_pointers_are_named() {
    let p = problems(
        r#"
        [[encode]]
        field = "action"
        columns = [ { name = "A", values = [] }, { name = "A", otherwise = true } ]
        "#,
    );
    assert!(p.iter().any(|m| m.starts_with("`encode[0].field`") && m.contains("starts with `/`")), "{p:?}");
    assert!(p.iter().any(|m| m.starts_with("`encode[0].columns[0].values`") && m.contains("non-empty")), "{p:?}");
    assert!(
        p.iter().any(|m| m.starts_with("`encode[0].columns[1].name`") && m.contains("duplicate column name `A`")),
        "{p:?}"
    );
}

#[test]
fn a_value_may_set_only_one_column() {
    let p = problems(
        r#"
        [[encode]]
        field = "/a"
        ignore_case = true
        columns = [ { name = "x", values = ["BLOCK"] }, { name = "y", values = ["block"] } ]
        "#,
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("also listed for column `x`"), "{p:?}");
}

#[test]
fn invalid_regex_and_reserved_names_are_refused() {
    let p = problems(
        r#"
        [[encode]]
        field = "/a"
        columns = [ { name = "@timestamp", otherwise = true }, { name = "_id", values = ["1"] } ]
        [[rule]]
        name = "r"
        severity = "high"
        match = { regex = "(unclosed" }
        "#,
    );
    assert!(p.iter().any(|m| m.contains("`@timestamp` is written by the transformer")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("`_id` is not a usable column name")), "{p:?}");
    assert!(
        p.iter().any(|m| m.starts_with("`rule[0].match[0].regex`") && m.contains("not a valid regular expression")),
        "{p:?}"
    );
}

#[test]
fn match_accepts_a_table_or_a_list() {
    let one = parse("[[rule]]\nname = \"r\"\nseverity = \"low\"\nmatch = { regex = \"x\" }\n");
    let many = parse("[[rule]]\nname = \"r\"\nseverity = \"low\"\nmatch = [{ regex = \"x\" }]\n");
    assert_eq!(one, many);
}

#[test]
fn numbers_in_values_match_by_their_text() {
    let s = parse("[[encode]]\nfield = \"/s\"\ncolumns = [{ name = \"e\", values = [404, \"5xx\", true] }]\n");
    assert_eq!(s.encode[0].columns[0].values.as_ref().unwrap()[0].0, "404");
    assert_eq!(s.encode[0].columns[0].values.as_ref().unwrap()[2].0, "true");
}

#[test]
fn variables_expand_only_when_asked() {
    let s = parse("[source]\ntimestamp = \"${WAFWATCH_TEST_SURELY_UNSET:-/ts}\"\n");
    let cfg = s.validate(Expansion::Environment).unwrap();
    assert_eq!(cfg.resolved().source.timestamp, "/ts");
    let err = s.validate(Expansion::Literal).unwrap_err().to_string();
    assert!(err.contains("source.timestamp"), "{err}");
    let unset = parse("[source]\ntimestamp = \"${WAFWATCH_TEST_SURELY_UNSET}\"\n");
    let err = unset.validate(Expansion::Environment).unwrap_err().to_string();
    assert!(err.contains("`WAFWATCH_TEST_SURELY_UNSET` is not set"), "{err}");
}

#[test]
fn partition_keys_need_an_s3_destination() {
    let p = problems("[delivery]\npartition_keys = { src = \"/httpSourceName\" }\n");
    assert!(p[0].contains("only read by an S3 destination"), "{p:?}");
    let ok = parse("[delivery]\ndestination = \"s3\"\npartition_keys = { src = \"/httpSourceName\" }\n");
    assert!(ok.validate(Expansion::Literal).unwrap().has_partition_keys());
}

#[test]
fn error_message_lists_every_problem_with_origin() {
    let err = parse("[[encode]]\nfield = \"x\"\ncolumns = []\n")
        .validate(Expansion::Literal)
        .unwrap_err()
        .with_origin("wafwatch.toml");
    let text = err.to_string();
    assert!(text.starts_with("wafwatch.toml: 2 problems"), "{text}");
    assert!(text.contains("`encode[0].columns`: expected at least one column"), "{text}");
}

#[test]
fn the_section_names_are_the_fields() {
    let json = serde_json::to_value(TransformSections::default()).unwrap();
    let mut fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let mut names = sections::NAMES.to_vec();
    fields.sort_unstable();
    names.sort_unstable();
    assert_eq!(fields, names, "NAMES lists exactly what the Lambda reads of a whole file");
}

#[test]
fn array_fields_and_header_lookups_are_validated_into_shapes() {
    let cfg = parse(
        r#"
        [[encode]]
        field = "/labels"
        each = "/name"
        columns = [ { name = "bot", prefixes = ["awswaf:managed:aws:bot-control:bot:category:"] },
                    { name = "atp", regex = "^awswaf:managed:aws:atp:" } ]

        [[encode]]
        field = "/httpRequest/headers"
        each = "/value"
        where = { member = "/name", equals = "User-Agent" }
        columns = [ { name = "ua_tool", regex = "(?i)^curl" }, { name = "ua_other", otherwise = true } ]
        "#,
    )
    .validate(Expansion::Literal)
    .unwrap();
    let p = |s: &str| Pointer::parse(s).unwrap();
    assert_eq!(cfg.fields()[0].shape, FieldShape::Each { member: p("/name") });
    assert!(cfg.fields()[0].shape.is_multi());
    assert_eq!(
        cfg.fields()[1].shape,
        FieldShape::Select { member: p("/value"), key: p("/name"), name: "User-Agent".into() }
    );
    assert_eq!(
        cfg.columns()[0].values,
        ColumnValues::Prefixes(vec!["awswaf:managed:aws:bot-control:bot:category:".into()])
    );
    assert_eq!(cfg.columns()[1].values, ColumnValues::Regex("^awswaf:managed:aws:atp:".into()));
}

#[test]
fn array_field_mistakes_are_named_with_their_key() {
    let p = problems(
        r#"
        [[encode]]
        field = "/labels"
        where = { member = "/name", equals = "x" }
        columns = [ { name = "a", values = ["x"] } ]

        [[encode]]
        field = "/h"
        each = "value"
        where = { member = "name", equals = "" }
        columns = [ { name = "b", regex = "(" }, { name = "c", prefixes = [] },
                    { name = "d", values = ["x"], regex = "x" }, { name = "e" } ]
        "#,
    );
    let has = |key: &str, text: &str| p.iter().any(|m| m.starts_with(&format!("`{key}`")) && m.contains(text));
    assert!(has("encode[0].where", "needs `each`"), "{p:?}");
    assert!(has("encode[1].each", "starts with `/`"), "{p:?}");
    assert!(has("encode[1].where.member", "starts with `/`"), "{p:?}");
    assert!(has("encode[1].where.equals", "non-empty name"), "{p:?}");
    assert!(has("encode[1].columns[0].regex", "not a valid regular expression"), "{p:?}");
    assert!(has("encode[1].columns[1].prefixes", "non-empty list of prefixes"), "{p:?}");
    assert!(has("encode[1].columns[2]", "exactly one of"), "{p:?}");
    assert!(has("encode[1].columns[3]", "exactly one of"), "{p:?}");
    assert_eq!(p.len(), 8, "{p:?}");
}

#[test]
fn a_field_may_have_more_than_one_group_of_columns() {
    let p = problems(
        r#"
        [[encode]]
        field = "/h"
        each = "/value"
        where = { member = "/name", equals = "User-Agent" }
        columns = [ { name = "a", regex = "x" } ]

        [[encode]]
        field = "/h"
        each = "/value"
        where = { member = "/name", equals = "user-agent" }
        columns = [ { name = "c", regex = "y" } ]

        [[encode]]
        field = "/status"
        columns = [ { name = "bad", values = ["4xx", "5xx"] } ]

        [[encode]]
        field = "/status"
        columns = [ { name = "server_error", values = ["5xx"] }, { name = "server_error", values = ["500"] } ]
        "#,
    );
    assert_eq!(p.len(), 1, "a column name is still unique: {p:?}");
    assert!(p[0].starts_with("`encode[3].columns[1].name`"), "{p:?}");
}

#[test]
fn array_options_survive_the_lambda_json() {
    let s = parse(
        r#"
        [[encode]]
        field = "/httpRequest/headers"
        each = "/value"
        where = { member = "/name", equals = "User-Agent" }
        columns = [ { name = "ua_tool", regex = "curl" }, { name = "lib", prefixes = ["python"] } ]
        "#,
    );
    let json = s.to_compact_json();
    assert!(json.contains(r#""where":{"member":"/name","equals":"User-Agent"}"#), "{json}");
    assert_eq!(TransformSections::from_json(&json).unwrap(), s);
}
