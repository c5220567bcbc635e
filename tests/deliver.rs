//! `wafwatch run --deliver`: alerts reach webhooks, Slack and SNS, rendered from the monitors'
//! message templates, with retries, clear failures and no secret in the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // test code

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use wafwatch_aws::AwsArgs;

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

/// One request the inbox received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order, per path; 200 when none is left.
    script: Arc<Mutex<Vec<(String, u16)>>>,
}

async fn receive(State(inbox): State<Inbox>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let path = uri.path().to_owned();
    inbox.received.lock().unwrap().push(Received {
        method: method.to_string(),
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut script = inbox.script.lock().unwrap();
    match script.iter().position(|(p, _)| *p == path) {
        Some(i) => StatusCode::from_u16(script.remove(i).1).unwrap(),
        None => StatusCode::OK,
    }
}

/// An HTTP server on loopback that records every request, on its own thread.
fn inbox() -> (Inbox, SocketAddr) {
    let inbox = Inbox::default();
    let state = inbox.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(receive).with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (inbox, rx.recv().unwrap())
}

/// Twenty-five requests for a path only scanners ask for, each answered 404 to the one client: the
/// scanner-probes monitor fires once, and so does not-found-per-ip (at least 20 404s to one IP in 2m).
fn scanner_log(dir: &std::path::Path) -> std::path::PathBuf {
    let mut lines = String::new();
    for i in 0..25 {
        lines.push_str(&format!(
            "{{\"timestamp\":{},\"action\":\"ALLOW\",\"httpStatus\":404,\"uri\":\"/.env\",\"clientIp\":\"198.51.100.7\"}}\n",
            1_767_225_600_000i64 + i * 1000
        ));
    }
    lines.push_str("{\"timestamp\":1767225900000,\"action\":\"ALLOW\",\"uri\":\"/\"}\n");
    let input = dir.join("probes.ndjson");
    std::fs::write(&input, lines).unwrap();
    input
}

/// The bundled default with the monitors' channels replaced.
fn config(dir: &std::path::Path, channels: &str, sections: &str) -> std::path::PathBuf {
    let text = wafwatch_config::file::BUNDLED_DEFAULT_TOML.replace("channels = [\"security-team\"]", channels);
    let path = dir.join("wafwatch.toml");
    std::fs::write(&path, format!("{text}\n{sections}")).unwrap();
    path
}

fn run(dir: &std::path::Path, config: &std::path::Path, input: &std::path::Path, env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .args(["run", "--deliver", "--input"])
        .arg(input)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--summary-json")
        .arg(dir.join("summary.json"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wafwatch-deliver-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn webhook_and_slack_get_the_rendered_message_with_retries() {
    let dir = temp_dir("hooks");
    let (inbox, addr) = inbox();
    // The webhook is unavailable once: the retry delivers it.
    inbox.script.lock().unwrap().push(("/hook/s3cr3t-path".into(), 503));
    let cfg = config(
        &dir,
        "channels = [\"ops\", \"chat\"]",
        "[[channel]]\nid = \"ops\"\ntype = \"webhook\"\nurl = \"${TEST_HOOK_URL}\"\nheaders = { X-Token = \"${TEST_HOOK_TOKEN}\" }\n\
         [[channel]]\nid = \"chat\"\ntype = \"slack\"\nurl = \"${TEST_SLACK_URL}\"\n",
    );
    let out = run(
        &dir,
        &cfg,
        &scanner_log(&dir),
        &[
            ("TEST_HOOK_URL", format!("http://{addr}/hook/s3cr3t-path")),
            ("TEST_HOOK_TOKEN", "t0ken".into()),
            ("TEST_SLACK_URL", format!("http://{addr}/services/T0/B0/slacksecret")),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let received = inbox.received.lock().unwrap().clone();
    let hooks: Vec<&Received> = received.iter().filter(|r| r.path == "/hook/s3cr3t-path").collect();
    // Two alerts: the first one 503 then its retry (the same message), the second at once.
    assert_eq!(hooks.len(), 3, "one 503, then the retry, then the other alert: {received:?}");
    assert_eq!(hooks[0].body, hooks[1].body, "the retry carries the same message");
    assert_ne!(hooks[1].body, hooks[2].body, "{received:?}");
    let alert = |prefix: &str| hooks[1..].iter().copied().find(|h| h.body.starts_with(prefix));
    let per_ip = alert("not-found-per-ip: ").unwrap_or_else(|| panic!("{received:?}"));
    assert!(per_ip.body.contains("New: clientIp 198.51.100.7"), "{}", per_ip.body);
    let hook = alert("scanner-probes: ").unwrap_or_else(|| panic!("{received:?}"));
    assert_eq!(hook.method, "POST");
    assert_eq!(hook.headers["x-token"], "t0ken");
    assert_eq!(hook.headers["content-type"], "text/plain; charset=utf-8");
    assert!(
        hook.body.starts_with("scanner-probes: 25 documents tagged by rule scanner-probe, severity medium"),
        "{}",
        hook.body
    );
    for needle in
        ["How bad: the alert threshold is 20; priority 3 of 5", "Where: waf-logs-*.", "See: file://", "report.html"]
    {
        assert!(hook.body.contains(needle), "{needle} in {}", hook.body);
    }
    let slack = received
        .iter()
        .find(|r| r.path == "/services/T0/B0/slacksecret" && r.body.contains("scanner-probes: "))
        .unwrap();
    assert_eq!(slack.headers["content-type"], "application/json");
    let payload: serde_json::Value = serde_json::from_str(&slack.body).unwrap();
    assert_eq!(payload["text"].as_str().unwrap(), hook.body, "the same message on every channel");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["deliveries"], serde_json::json!({"sent": 4, "failed": 0, "skipped": 0}));
    assert!(!stderr.contains("s3cr3t") && !stderr.contains("slacksecret") && !stderr.contains("t0ken"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_refused_delivery_is_reported_without_its_secret_and_fails_the_run() {
    let dir = temp_dir("refused");
    let (inbox, addr) = inbox();
    inbox.script.lock().unwrap().push(("/gone/s3cr3t".into(), 404));
    let cfg = config(
        &dir,
        "channels = [\"ops\"]",
        "[[channel]]\nid = \"ops\"\ntype = \"webhook\"\nurl = \"${TEST_HOOK_URL}\"\n",
    );
    let out = run(&dir, &cfg, &scanner_log(&dir), &[("TEST_HOOK_URL", format!("http://{addr}/gone/s3cr3t"))]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("http://{addr} answered 404 Not Found: the webhook does not exist")), "{stderr}");
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
    assert_eq!(inbox.received.lock().unwrap().len(), 2, "a 404 is not retried: one request per alert");
    // The report and alerts are still written.
    assert!(dir.join("out/report.html").exists() && dir.join("out/alerts.ndjson").exists());

    // A variable that is not set fails at start, naming the channel and the variable.
    let out = run(&dir, &cfg, &scanner_log(&dir), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("channel `ops`, `url`: environment variable `TEST_HOOK_URL` is not set"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sns_publishes_through_the_aws_sdk() {
    let Some(moto) = std::env::var("WAFWATCH_TEST_MOTO_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(std::env::var_os("CI").is_none(), "WAFWATCH_TEST_MOTO_URL is not set under CI: run scripts/test");
        eprintln!("skipped: WAFWATCH_TEST_MOTO_URL is not set (scripts/test starts moto and sets it)");
        return;
    };
    let dir = temp_dir("sns");
    let (inbox, addr) = inbox();
    // A topic in moto, with the inbox subscribed over HTTP: moto posts each notification to it.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let topic = rt.block_on(async {
        let args = AwsArgs { region: Some("us-east-1".into()), endpoint_url: Some(moto.clone()), profile: None };
        let conf = args
            .loader()
            .credentials_provider(aws_sdk_sns::config::Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await;
        let sns = aws_sdk_sns::Client::new(&conf);
        let topic = sns.create_topic().name(format!("wafwatch-test-{}", std::process::id())).send().await.unwrap();
        let arn = topic.topic_arn().unwrap().to_owned();
        sns.subscribe().topic_arn(&arn).protocol("http").endpoint(format!("http://{addr}/sns")).send().await.unwrap();
        arn
    });
    let cfg = config(&dir, "channels = [\"security-team\"]", "");
    let out = run(
        &dir,
        &cfg,
        &scanner_log(&dir),
        &[
            ("WAFWATCH_ALERT_TOPIC_ARN", topic.clone()),
            ("WAFWATCH_ENDPOINT_URL", moto.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let received = inbox.received.lock().unwrap().clone();
    let notes: Vec<serde_json::Value> = received
        .iter()
        .filter(|r| r.path == "/sns")
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap())
        .filter(|v| v["Type"] == "Notification")
        .collect();
    // The scanner's 25 probes, answered 404 from one IP, raise two alerts: scanner-probes, and
    // not-found-per-ip for that IP; each is one notification on the topic.
    assert_eq!(notes.len(), 2, "{received:?}");
    assert!(notes.iter().all(|n| n["TopicArn"] == topic.as_str()));
    let subject = |s: &str| notes.iter().find(|n| n["Subject"] == s).unwrap_or_else(|| panic!("no {s}: {notes:?}"));
    let probes = subject("[wafwatch] scanner-probes (priority 3)");
    assert!(
        probes["Message"].as_str().unwrap().starts_with("scanner-probes: 25 documents tagged by rule scanner-probe")
    );
    let per_ip = subject("[wafwatch] not-found-per-ip per clientIp (priority 4)");
    assert!(per_ip["Message"].as_str().unwrap().contains("New: clientIp 198.51.100.7"), "{per_ip}");

    // A topic that does not exist: one sentence naming it, exit status 1.
    let missing = topic.replace("wafwatch-test", "no-such-topic");
    let out = run(
        &dir,
        &cfg,
        &scanner_log(&dir),
        &[
            ("WAFWATCH_ALERT_TOPIC_ARN", missing.clone()),
            ("WAFWATCH_ENDPOINT_URL", moto),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("SNS topic {missing} does not exist")), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
