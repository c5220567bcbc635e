//! The `log-simulator` binary as users and cron run it: S3 and Firehose against moto on loopback,
//! and one clear message with a non-zero exit for each kind of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // test code

use std::io::Read;
use std::process::{Command, Output};

use aws_sdk_s3::config::Credentials;
use wafwatch_aws::AwsArgs;

const BIN: &str = env!("CARGO_BIN_EXE_log-simulator");

fn sim(args: &[&str], endpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(e) = endpoint {
        cmd.arg("--endpoint-url").arg(e);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn moto() -> Option<String> {
    match std::env::var("WAFWATCH_TEST_MOTO_URL") {
        Ok(u) => Some(u),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "WAFWATCH_TEST_MOTO_URL is not set under CI: run scripts/test");
            eprintln!("skipped: WAFWATCH_TEST_MOTO_URL is not set (scripts/test starts moto and sets it)");
            None
        }
    }
}

/// Clients of moto, built the way the binary builds its own (the one AWS home), with moto's
/// fixed credentials.
async fn clients(url: &str) -> (aws_sdk_s3::Client, aws_sdk_firehose::Client) {
    let args = AwsArgs { region: Some("us-east-1".into()), profile: None, endpoint_url: Some(url.into()) };
    let conf =
        args.loader().credentials_provider(Credentials::new("testing", "testing", None, None, "moto")).load().await;
    (wafwatch_log_simulator::sinks::s3_client(&args, &conf), aws_sdk_firehose::Client::new(&conf))
}

async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
    let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut out = Vec::new();
    for o in list.contents() {
        let key = o.key().unwrap().to_owned();
        let got = s3.get_object().bucket(bucket).key(&key).send().await.unwrap();
        let ct = got.content_type().map(str::to_owned);
        out.push((key, ct, got.body.collect().await.unwrap().into_bytes().to_vec()));
    }
    out.sort();
    out
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(b).read_to_end(&mut out).unwrap();
    out
}

const RUN: [&str; 8] = ["--from", "2026-01-01T00:30Z", "--duration", "1h", "--rate", "2", "--seed", "11"];

#[tokio::test]
async fn s3_objects_are_date_partitioned_gzip_and_hold_exactly_the_run() {
    let Some(url) = moto() else { return };
    let (s3, _) = clients(&url).await;
    let bucket = format!("wafwatch-sim-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    let expected = sim(&RUN, None);
    assert!(expected.status.success(), "{}", stderr(&expected));
    let sink = format!("s3://{bucket}/raw/waf");
    let mut args = RUN.to_vec();
    args.extend(["--sink", &sink, "--rotate-records", "3000"]);
    let out = sim(&args, Some(&url));
    assert!(out.status.success(), "{}", stderr(&out));

    let objs = objects(&s3, &bucket).await;
    let keys: Vec<&str> = objs.iter().map(|o| o.0.as_str()).collect();
    assert!(keys.iter().any(|k| k.starts_with("raw/waf/2026/01/01/00/wafwatch_20260101T003000Z_")), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("raw/waf/2026/01/01/01/")), "a new object at the hour: {keys:?}");
    assert!(keys.iter().all(|k| k.ends_with(".log.gz")));
    let mut all = Vec::new();
    for (key, ct, body) in &objs {
        assert_eq!(ct.as_deref(), Some("application/gzip"), "{key}");
        assert_eq!(&body[..2], &[0x1f, 0x8b], "{key} is gzip");
        all.push(gunzip(body));
    }
    // Keys sort by time within the run, so the objects concatenate back into the run.
    assert_eq!(all.concat(), expected.stdout);
}

#[tokio::test]
async fn firehose_delivers_every_record_newline_terminated() {
    let Some(url) = moto() else { return };
    let (s3, firehose) = clients(&url).await;
    let name = format!("aws-waf-logs-sim-{}", std::process::id());
    let bucket = format!("{name}-dest");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    firehose
        .create_delivery_stream()
        .delivery_stream_name(&name)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let expected = sim(&RUN, None);
    let sink = format!("firehose:{name}");
    let mut args = RUN.to_vec();
    args.extend(["--sink", &sink]);
    let out = sim(&args, Some(&url));
    assert!(out.status.success(), "{}", stderr(&out));
    let objs = objects(&s3, &bucket).await;
    // moto writes one object per PutRecordBatch call; their order is by key (time), as sent.
    let mut delivered: Vec<&[u8]> = Vec::new();
    let bodies: Vec<Vec<u8>> = objs.into_iter().map(|o| o.2).collect();
    for b in &bodies {
        delivered.extend(b.split_inclusive(|&c| c == b'\n'));
    }
    let mut want: Vec<&[u8]> = expected.stdout.split_inclusive(|&c| c == b'\n').collect();
    delivered.sort();
    want.sort();
    assert_eq!(delivered.len(), want.len());
    assert!(delivered == want, "the stream received exactly the run's records");
}

#[tokio::test]
async fn a_missing_bucket_or_stream_is_one_clear_message() {
    let Some(url) = moto() else { return };
    let out = sim(&["--files", "1", "--sink", "s3://no-such-bucket-wafwatch/raw"], Some(&url));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("S3 bucket `no-such-bucket-wafwatch`") && err.contains("does not exist"), "{err}");
    let out = sim(&["--files", "1", "--sink", "firehose:aws-waf-logs-nope"], Some(&url));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("Firehose delivery stream `aws-waf-logs-nope`") && err.contains("does not exist"), "{err}");
}

#[test]
fn an_unreachable_endpoint_is_one_clear_message() {
    let out = sim(&["--files", "1", "--sink", "s3://b/raw"], Some("http://127.0.0.1:9"));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the service for S3 bucket `b`"), "{err}");
}

#[tokio::test]
async fn denied_access_is_one_clear_message() {
    // A stand-in that denies everything, as S3 does without permission.
    let app = axum::Router::new().fallback(|| async { (axum::http::StatusCode::FORBIDDEN, "") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let out = tokio::task::spawn_blocking(move || sim(&["--files", "1", "--sink", "s3://locked/raw"], Some(&url)))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("access to S3 bucket `locked`") && err.contains("is denied"), "{err}");
}

#[test]
fn bad_options_are_one_message_and_exit_2() {
    for (args, needle) in [
        (vec!["--scenario", "blockstorm"], "unknown scenario `blockstorm`; the scenarios are: block-storm,"),
        (vec!["--duration", "soon"], "`soon` is not a duration"),
        (vec!["--from", "yesterday", "--duration", "1h"], "`yesterday` is not a time"),
        (vec!["--from", "2026-01-01T00:00Z"], "--from needs --duration"),
        (vec!["--rate", "0", "--files", "1"], "--rate must be a positive number"),
        (vec!["--sink", "kafka:x"], "`kafka:x` is not a sink"),
    ] {
        let out = sim(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn scenarios_are_listed_one_a_line() {
    let out = sim(&["scenarios"], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "block-storm",
            "unknown-source",
            "error-burst",
            "geo-anomaly",
            "delete-burst",
            "credential-stuffing",
            "scanner",
            "sql-injection",
            "bot-surge",
            "rate-flood",
            "atp-stuffing",
            "new-fingerprint"
        ]
    );
}

#[test]
fn cron_one_shot_writes_n_files_for_the_current_minute_and_labels() {
    let dir = std::env::temp_dir().join(format!("wafwatch-cron-{}/", std::process::id()));
    let labels = dir.join("labels.ndjson");
    std::fs::create_dir_all(&dir).unwrap();
    let out = sim(
        &[
            "--files",
            "4",
            "--rate",
            "10",
            "--sink",
            &format!("file:{}", dir.display()),
            "--scenario",
            "scanner@0s+30s",
            "--labels",
            labels.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert_eq!(files.len(), 4);
    let lines: usize = files.iter().map(|f| std::fs::read_to_string(f).unwrap().lines().count()).sum();
    let label: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&labels).unwrap().trim()).unwrap();
    assert_eq!(label["scenario"], "scanner");
    let scanner = label["records"].as_u64().unwrap() as usize;
    assert!((570..=630).contains(&(lines - scanner)), "one minute at 10/s: {lines} - {scanner}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_feeds_files_back_unchanged() {
    let dir = std::env::temp_dir().join(format!("wafwatch-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = dir.join("in.ndjson");
    let mut args = RUN.to_vec();
    let sink = format!("file:{}", gz.display());
    args.extend(["--sink", &sink, "--gzip"]);
    assert!(sim(&args, None).status.success());
    let out = sim(&["replay", &format!("{}.gz", gz.display())], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, sim(&RUN, None).stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_in_real_time_flushes_every_sink_and_loses_nothing() {
    let file = std::env::temp_dir().join(format!("wafwatch-ctrlc-{}.ndjson", std::process::id()));
    let child = Command::new(BIN)
        .args(["--rate", "50", "--seed", "3", "--sink", &format!("file:{}", file.display())])
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Interrupted; flushing every sink."), "{err}");
    let generated: usize = err.split("records=").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let written = std::fs::read_to_string(&file).unwrap().lines().count();
    assert!(generated > 0);
    assert_eq!(written, generated, "everything generated before Ctrl-C is in the file");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::BufRead;
    let mut child = Command::new(BIN)
        .args(["--from", "2026-01-01T00:00Z", "--duration", "24h", "--rate", "100", "--seed", "1"])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here: the pipe closes, as with `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("{\"timestamp\":"));
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(!err.contains("ERROR") && !err.contains("panicked"), "{err}");
}
