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
