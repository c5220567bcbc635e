//! The `wafwatch` command line, run as a user runs it: exit codes, messages, stdout vs stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::process::{Command, Output, Stdio};

use wafwatch_config::expand::Expansion;
use wafwatch_config::transform::TransformSections;
use wafwatch_config::wire::LAMBDA_ENV_TOTAL_BYTES;
use wafwatch_transformer::Transformer;

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/transformer/tests/fixtures");

fn wafwatch(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("WAFWATCH_CONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("wafwatch-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn version_and_help() {
    let out = wafwatch(&["--version"], b"");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), format!("wafwatch {}", env!("CARGO_PKG_VERSION")));
    let out = wafwatch(&["--help"], b"");
    assert!(
        text(&out.stdout).contains("--config FILE, else\n$WAFWATCH_CONFIG")
            || text(&out.stdout).contains("$WAFWATCH_CONFIG")
    );
}

#[test]
fn check_prints_the_resolved_columns_and_rules_of_the_bundled_default() {
    let out = wafwatch(&["check"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("configuration: bundled wafwatch.toml"), "{stdout}");
    assert!(stdout.contains("columns (11, every document gets each as 0 or 1)"), "{stdout}");
    assert!(stdout.contains("B_action           BLOCK"), "{stdout}");
    assert!(stdout.contains("failed-login       high"), "{stdout}");
}

#[test]
fn a_bad_configuration_fails_with_the_file_and_the_key() {
    let typo = temp_file("typo.toml", "[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", valeus = [\"A\"] }]\n");
    let out = wafwatch(&["--config", typo.to_str().unwrap(), "check"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(typo.to_str().unwrap()), "{err}");
    assert!(err.contains("unknown field `valeus`"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout when the configuration is bad");

    let invalid = temp_file("invalid.toml", "[[encode]]\nfield = \"a\"\ncolumns = [{ name = \"x\", values = [] }]\n");
    let out = wafwatch(&["--config", invalid.to_str().unwrap(), "check"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("2 problems"), "{err}");
    assert!(err.contains("`encode[0].field`: a JSON pointer starts with `/`"), "{err}");
    assert!(err.contains("`encode[0].columns[0].values`: expected a non-empty list of values"), "{err}");

    let missing = wafwatch(&["--config", "/nonexistent/wafwatch.toml", "check"], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("cannot read configuration /nonexistent/wafwatch.toml (chosen by --config)")
    );
}

#[test]
fn variables_expand_and_unset_ones_are_named() {
    let cfg = temp_file("vars.toml", "[source]\ntimestamp = \"${WAFWATCH_TEST_TS}\"\n");
    let out = wafwatch(&["--config", cfg.to_str().unwrap(), "check"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`source.timestamp`: environment variable `WAFWATCH_TEST_TS` is not set"));
}

#[test]
fn lambda_env_fits_and_parses_with_the_transformers_own_loader() {
    // The default's eleven columns (E_httpstatus beside G/B); the preset's ten plus its sixteen
    // verdict columns.
    for (config, columns) in [(None, 11), (Some(concat!(env!("CARGO_MANIFEST_DIR"), "/presets/aws-waf.toml")), 26)] {
        let mut args = vec![];
        if let Some(c) = config {
            args.extend(["--config", c]);
        }
        args.extend(["config", "lambda-env"]);
        let out = wafwatch(&args, b"");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let json = text(&out.stdout);
        assert!(json.trim().len() + "WAFWATCH_TRANSFORM_CONFIG".len() <= LAMBDA_ENV_TOTAL_BYTES);
        assert_eq!(json.trim().lines().count(), 1, "compact");
        let cfg = TransformSections::from_json(json.trim()).unwrap().validate(Expansion::Literal).unwrap();
        assert_eq!(cfg.column_names().count(), columns);
        Transformer::new(cfg).unwrap();
    }
}

#[test]
fn lambda_env_refuses_a_configuration_over_the_limit() {
    let mut toml = String::new();
    for i in 0..40 {
        toml.push_str(&format!(
            "[[rule]]\nname = \"rule-{i}\"\nseverity = \"low\"\ndescription = \"{}\"\nmatch = {{ regex = \"x{i}\" }}\n",
            "a long description ".repeat(4)
        ));
    }
    let cfg = temp_file("big.toml", &toml);
    let out = wafwatch(&["--config", cfg.to_str().unwrap(), "config", "lambda-env"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("over Lambda's 4096-byte limit"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn transform_invoke_exit_codes() {
    let event = format!("{FIXTURES}/firehose_waf_event.json");
    let out = wafwatch(&["transform", "invoke", "--event", &event], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let resp: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resp["records"].as_array().unwrap().len(), 4);

    let out = wafwatch(&["transform", "invoke", "--event", "-"], br#"{"not": "firehose"}"#);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a Firehose data-transformation event"));

    let out = wafwatch(&["transform", "invoke", "--event", "/nonexistent.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = wafwatch(&["transform", "invoke"], b"");
    assert_eq!(out.status.code(), Some(2), "usage error");
}

#[test]
fn transform_encode_counts_bad_lines_and_keeps_going() {
    let input = b"{\"action\":\"BLOCK\"}\nnot json\n\n{\"action\":\"ALLOW\"}\n[1]\n";
    let out = wafwatch(&["transform", "encode"], input);
    assert_eq!(out.status.code(), Some(1), "some lines failed");
    let docs: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs.iter().map(|d| d["B_action"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 0]);
    let err = text(&out.stderr);
    assert!(err.contains("line=2"), "{err}");
    assert!(err.contains("line=5"), "{err}");
    assert!(err.contains("failed=2"), "{err}");

    let out = wafwatch(&["transform", "encode", &format!("{FIXTURES}/flat_waf_examples.ndjson")], b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 4);
}
