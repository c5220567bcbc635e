//! The OpenSearch `_bulk` sink against a loopback stand-in that speaks the bulk API: documents
//! encoded by the transformer, deterministic ids (a replay does not double count), per-item
//! errors reported, 429 items retried, basic auth with the password from the environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::{HashMap, HashSet};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_log-simulator");

#[derive(Default)]
struct Cluster {
    docs: HashMap<(String, String), Value>,
    retried: HashSet<String>,
    bulk_calls: usize,
    /// `Basic base64(user:password)` required when set.
    auth: Option<String>,
}

fn authorized(c: &Cluster, h: &HeaderMap) -> bool {
    c.auth.as_deref().is_none_or(|want| h.get("authorization").and_then(|v| v.to_str().ok()) == Some(want))
}

async fn root(State(c): State<Arc<Mutex<Cluster>>>, h: HeaderMap) -> (StatusCode, String) {
    if !authorized(&c.lock().unwrap(), &h) {
        return (StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"}).to_string());
    }
    (StatusCode::OK, json!({"version": {"number": "2.17.0", "distribution": "opensearch"}}).to_string())
}

async fn bulk(State(c): State<Arc<Mutex<Cluster>>>, h: HeaderMap, body: String) -> (StatusCode, String) {
    let mut c = c.lock().unwrap();
    if !authorized(&c, &h) {
        return (StatusCode::UNAUTHORIZED, "{}".into());
    }
    assert_eq!(h.get("content-type").unwrap(), "application/x-ndjson");
    c.bulk_calls += 1;
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len() % 2, 0, "action and document lines in pairs");
    let mut items = Vec::new();
    let mut errors = false;
    for pair in lines.chunks(2) {
        let action: Value = serde_json::from_str(pair[0]).unwrap();
        let index = action["index"]["_index"].as_str().unwrap().to_owned();
        let id = action["index"]["_id"].as_str().unwrap().to_owned();
        let doc: Value = serde_json::from_str(pair[1]).expect("each document is one JSON object");
        let status = if pair[1].contains("reject-me") {
            errors = true;
            items.push(json!({"index": {"_index": index, "_id": id, "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [reject-me]"}}}));
            continue;
        } else if pair[1].contains("retry-me") && c.retried.insert(id.clone()) {
            errors = true;
            items.push(json!({"index": {"_index": index, "_id": id, "status": 429,
                "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}}));
            continue;
        } else if c.docs.insert((index.clone(), id.clone()), doc).is_some() {
            200
        } else {
            201
        };
        items.push(json!({"index": {"_index": index, "_id": id, "status": status}}));
    }
    (StatusCode::OK, json!({"took": 3, "errors": errors, "items": items}).to_string())
}

async fn cluster(auth: Option<String>) -> (String, Arc<Mutex<Cluster>>) {
    let state = Arc::new(Mutex::new(Cluster { auth, ..Cluster::default() }));
    let app = Router::new()
        .route("/", get(root))
        .route("/_bulk", post(bulk))
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

async fn sim(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("NO_COLOR", "1")
            .env_remove("WAFWATCH_OPENSEARCH_PASSWORD")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn documents_are_encoded_and_a_replay_does_not_double_count() {
    let (url, state) = cluster(None).await;
    let args = s(&[
        "--from",
        "2026-01-01T00:00Z",
        "--duration",
        "2m",
        "--rate",
        "20",
        "--seed",
        "5",
        "--sink",
        "opensearch:waf-logs",
        "--opensearch-url",
        &url,
    ]);
    let first = sim(args.clone(), vec![]).await;
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let n = state.lock().unwrap().docs.len();
    assert!((2300..2500).contains(&n), "{n}");
    let again = sim(args, vec![]).await;
    assert!(again.status.success());
    let c = state.lock().unwrap();
    assert_eq!(c.docs.len(), n, "the same records get the same ids");
    for ((index, _), doc) in c.docs.iter().take(50) {
        assert_eq!(index, "waf-logs");
        assert!(doc["@timestamp"].as_str().unwrap().starts_with("2026-01-01T00:0"));
        assert_eq!(doc["K_action"].as_i64().unwrap() + doc["B_action"].as_i64().unwrap(), 1);
    }
}

#[tokio::test]
async fn rejected_items_are_reported_and_429s_retried() {
    let (url, state) = cluster(None).await;
    let dir = std::env::temp_dir().join(format!("wafwatch-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.ndjson");
    let undelivered = dir.join("undelivered.ndjson");
    std::fs::write(
        &input,
        "{\"timestamp\":1767225600000,\"action\":\"ALLOW\"}\nnot json at all\n{\"timestamp\":1767225600001,\"action\":\"BLOCK\",\"note\":\"reject-me\"}\n{\"timestamp\":1767225600002,\"action\":\"BLOCK\",\"note\":\"retry-me\"}\n",
    )
    .unwrap();
    let out = sim(
        s(&[
            "replay",
            input.to_str().unwrap(),
            "--sink",
            "opensearch:waf-logs",
            "--opensearch-url",
            &url,
            "--undelivered",
            undelivered.to_str().unwrap(),
        ]),
        vec![],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("delivered=2") && err.contains("failed=2"), "{err}");
    let kept = std::fs::read_to_string(&undelivered).unwrap();
    assert_eq!(
        kept.lines().collect::<Vec<_>>(),
        ["not json at all", "{\"timestamp\":1767225600001,\"action\":\"BLOCK\",\"note\":\"reject-me\"}"]
    );
    let c = state.lock().unwrap();
    assert_eq!(c.docs.len(), 2, "the 429 item was retried and indexed");
    assert_eq!(c.bulk_calls, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn basic_auth_takes_the_password_from_the_environment() {
    use base64::Engine;
    let token = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("admin:s3cret!"));
    let (url, state) = cluster(Some(token)).await;
    let args = s(&[
        "--files",
        "1",
        "--rate",
        "2",
        "--sink",
        "opensearch:waf",
        "--opensearch-url",
        &url,
        "--opensearch-user",
        "admin",
    ]);
    let ok = sim(args.clone(), vec![("WAFWATCH_OPENSEARCH_PASSWORD", "s3cret!".into())]).await;
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(!state.lock().unwrap().docs.is_empty());

    let wrong = sim(args.clone(), vec![("WAFWATCH_OPENSEARCH_PASSWORD", "guess".into())]).await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("refused the credentials (401)"));

    let none = sim(args, vec![]).await;
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("there is no password: set WAFWATCH_OPENSEARCH_PASSWORD"));
}
