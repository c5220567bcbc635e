//! End to end: the real `transformer` binary, run as Lambda runs it, under the AWS Lambda Runtime
//! Interface Emulator (RIE).
//!
//! `scripts/lambda-rie` installs the emulator (built with `go install`, cached) and prints its path;
//! the test command exports it as `WAFWATCH_TEST_LAMBDA_RIE`. Without it these tests are skipped
//! locally, and fail under CI.
//!
//! Each test starts its own emulator on free loopback ports with the binary as the bootstrap, and
//! invokes it over HTTP as `docker run` users of the emulator do. What the emulator does (verified
//! with the version `scripts/lambda-rie` pins):
//! - it starts the bootstrap on the first invocation and keeps it for the next ones; it passes its
//!   own environment on to the function, so the configuration goes in the emulator's environment;
//! - a function error (what the runtime posts to `/invocation/{id}/error`) comes back as HTTP 200
//!   with the runtime's `{"errorType", "errorMessage"}` body (no `X-Amz-Function-Error` header);
//!   a bootstrap that exits during init gives HTTP 502 with an empty body;
//! - the function's stdout and stderr come out on the emulator's stdout, the emulator's own log on
//!   its stderr;
//! - it serves one invocation at a time: a second concurrent one crashes it, so invoke in sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // test code: a failed unwrap is a failed test

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use wafwatch_config::transform::TransformSections;
use wafwatch_config::wire::TRANSFORM_CONFIG_ENV;
use wafwatch_transformer::reingest::MemoryReingest;
use wafwatch_transformer::{FirehoseEvent, FirehoseResponse, Outcome, Transformer, handle};

const BIN: &str = env!("CARGO_BIN_EXE_transformer");
/// The path of the emulator binary.
const RIE_ENV: &str = "WAFWATCH_TEST_LAMBDA_RIE";
/// The emulator's invoke endpoint (the function name is always `function`).
const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";
/// The function timeout given to the emulator: a hung function fails the test rather than waiting
/// the emulator's default of 300 s.
const FUNCTION_TIMEOUT_S: u64 = 30;

/// The emulator binary, or `None` (the test is skipped) when `WAFWATCH_TEST_LAMBDA_RIE` is unset
/// outside CI.
fn rie_binary() -> Option<PathBuf> {
    let Some(path) = std::env::var_os(RIE_ENV).filter(|p| !p.is_empty()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{RIE_ENV} is not set under CI: run the tests with scripts/test (it installs the emulator with scripts/lambda-rie)"
        );
        eprintln!("skipped: {RIE_ENV} is not set (scripts/test sets it to the binary scripts/lambda-rie installs)");
        return None;
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{RIE_ENV}={} is not a file: run scripts/lambda-rie to install the emulator",
        path.display()
    );
    Some(path)
}

/// A loopback port nobody listens on at the moment.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running emulator with the `transformer` binary as its bootstrap. Stopped on drop.
struct Emulator {
    child: Child,
    /// Where the invoke endpoint listens.
    addr: SocketAddr,
    /// The emulator's stdout: the function's output, and START/END/REPORT lines.
    stdout: PathBuf,
    /// The emulator's own log.
    stderr: PathBuf,
}

impl Emulator {
    /// Starts the emulator with the environment a Lambda function gets, plus `extra` (which the
    /// emulator hands on to the function). `name` names its log files.
    fn start(rie: &Path, name: &str, extra: &[(&str, &str)]) -> Emulator {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lambda-rie");
        std::fs::create_dir_all(&dir).unwrap();
        let stdout = dir.join(format!("{name}-{}.stdout", std::process::id()));
        let stderr = dir.join(format!("{name}-{}.stderr", std::process::id()));
        let mut last = String::new();
        // Another process may take a port between our probe and the emulator's bind; try again then.
        for _ in 0..3 {
            let (invoke, runtime_api) = loop {
                let (a, b) = (free_port(), free_port());
                if a != b {
                    break (a, b);
                }
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], invoke));
            let child = Command::new(rie)
                .arg("--runtime-interface-emulator-address")
                .arg(addr.to_string())
                .arg("--runtime-api-address")
                .arg(format!("127.0.0.1:{runtime_api}"))
                .arg(BIN)
                // The emulator passes its whole environment to the function: only what Lambda sets.
                .env_clear()
                .envs([
                    ("AWS_LAMBDA_FUNCTION_NAME", "wafwatch-transformer"),
                    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
                    ("AWS_LAMBDA_FUNCTION_TIMEOUT", &FUNCTION_TIMEOUT_S.to_string()),
                    ("AWS_REGION", "eu-west-1"),
                ])
                .envs(extra.iter().copied())
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(File::create(&stdout).unwrap())
                .stderr(File::create(&stderr).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("could not start the emulator {}: {e}", rie.display()));
            let mut emulator = Emulator { child, addr, stdout: stdout.clone(), stderr: stderr.clone() };
            if emulator.wait_until_listening() {
                return emulator;
            }
            last = emulator.logs().1;
        }
        panic!("the emulator did not start; its last log:\n{last}");
    }

    /// Whether the invoke endpoint accepts connections within 10 s; false if the emulator exits
    /// first (it panics when either of its ports is taken).
    fn wait_until_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Invokes the function with `event` as the payload, as `curl -d @event` does.
    fn invoke(&self, event: &[u8]) -> Reply {
        http_post(self.addr, INVOKE_PATH, event)
            .unwrap_or_else(|e| panic!("invoking the emulator failed: {e}\nits log:\n{}", self.logs().1))
    }

    /// The emulator's stdout and stderr so far.
    fn logs(&self) -> (String, String) {
        let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        (read(&self.stdout), read(&self.stderr))
    }

    /// Stops the emulator the way its container would be (SIGTERM: it kills the function and exits),
    /// and returns its stdout and stderr.
    fn stop(mut self) -> (String, String) {
        self.terminate();
        self.logs()
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emulator {
    /// Stops the emulator; keeps its logs when the test failed, and says where.
    fn drop(&mut self) {
        self.terminate();
        if std::thread::panicking() {
            eprintln!("the emulator's logs: {} and {}", self.stdout.display(), self.stderr.display());
        } else {
            let _ = std::fs::remove_file(&self.stdout);
            let _ = std::fs::remove_file(&self.stderr);
        }
    }
}

/// An HTTP response.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A one-shot HTTP/1.1 POST (`Connection: close`), enough for the emulator: no HTTP client crate is
/// a dependency of this package.
fn http_post(addr: SocketAddr, path: &str, body: &[u8]) -> std::io::Result<Reply> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    // Past the function timeout the emulator answers by itself.
    stream.set_read_timeout(Some(Duration::from_secs(FUNCTION_TIMEOUT_S + 30)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;

    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| invalid("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| invalid("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let chunked = lines.filter_map(|l| l.split_once(':')).any(|(name, value)| {
        name.trim().eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked")
    });
    let rest = &raw[end + 4..];
    let body = if chunked { dechunk(rest).ok_or_else(|| invalid("bad chunked body"))? } else { rest.to_vec() };
    Ok(Reply { status, body })
}

/// The payload of a `Transfer-Encoding: chunked` body (the emulator streams larger responses so).
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&data[..eol]).ok()?.split(';').next()?;
        let size = usize::from_str_radix(size_field.trim(), 16).ok()?;
        data = data.get(eol + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// What the library answers to `event` in-process with `t`: the expected response.
fn expected(event: &Value, t: &Transformer) -> FirehoseResponse {
    let event: FirehoseEvent = serde_json::from_value(event.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(handle(event, t, &MemoryReingest::default()))
}

/// The decoded document of a response record.
fn document(data: &str) -> Value {
    let bytes = b64(data);
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("the data is not a JSON document ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// Checks the emulator's answer to `event` record by record: every `recordId` answered once and in
/// order, each with the result and the encoded document the library gives in-process with `t`.
fn check_batch(reply: &Reply, event: &Value, t: &Transformer) -> FirehoseResponse {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got: FirehoseResponse = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("not a Firehose response ({e}): {}", reply.text()));
    let sent: Vec<&str> =
        event["records"].as_array().unwrap().iter().map(|r| r["recordId"].as_str().unwrap()).collect();
    let answered: Vec<&str> = got.records.iter().map(|r| r.record_id.as_deref().unwrap_or("<missing>")).collect();
    assert_eq!(answered, sent, "every recordId answered once, in order");

    let want = expected(event, t);
    assert_eq!(want.records.len(), got.records.len());
    for ((g, w), id) in got.records.iter().zip(&want.records).zip(&answered) {
        assert_eq!(g.result, w.result, "record {id}");
        match g.result {
            Outcome::Ok => assert_eq!(document(&g.data), document(&w.data), "record {id}: the encoded document"),
            // The original bytes, unchanged (ProcessingFailed), or nothing (Dropped).
            _ => assert_eq!(g.data, w.data, "record {id}"),
        }
        assert_eq!(g.metadata, w.metadata, "record {id}: partition keys");
    }
    got
}

/// A Firehose event of simulator records (the `flat` shape the log simulator writes by default and
/// the bundled default configuration reads), with `bad` inserted as the record at index `at`.
fn simulator_event(bad: &[u8], at: usize) -> Value {
    let mut payloads: Vec<Vec<u8>> =
        fixture("flat_waf_examples.ndjson").lines().map(|l| l.as_bytes().to_vec()).collect();
    payloads.insert(at, bad.to_vec());
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    serde_json::to_value(event_of(&refs)).unwrap()
}

/// The JSON log lines the function wrote (the emulator's stdout also has START/END/REPORT lines).
fn json_logs(stdout: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect()
}

#[test]
fn transforms_batches_in_sequence_and_reports_a_malformed_event() {
    let Some(rie) = rie_binary() else { return };
    let rie = Emulator::start(&rie, "sequence", &[]);
    let t = default_transformer();

    // 1. The Firehose WAF event: four real-shape AWS WAF records.
    let event: Value = serde_json::from_str(&fixture("firehose_waf_event.json")).unwrap();
    let resp = check_batch(&rie.invoke(event.to_string().as_bytes()), &event, &t);
    assert_eq!(resp.counts(), (4, 0, 0));
    // ALLOW, BLOCK, BLOCK, CAPTCHA: the action columns, independently of the library's answer.
    let actions: Vec<(i64, i64)> = resp
        .records
        .iter()
        .map(|r| document(&r.data))
        .map(|d| (d["K_action"].as_i64().unwrap(), d["B_action"].as_i64().unwrap()))
        .collect();
    assert_eq!(actions, [(1, 0), (0, 1), (0, 1), (1, 0)]);

    // 2. Simulator records with one bad record among them: it alone fails, with its bytes returned.
    let bad = b"upstream said: 502 Bad Gateway";
    let event = simulator_event(bad, 2);
    let resp = check_batch(&rie.invoke(event.to_string().as_bytes()), &event, &t);
    let results: Vec<Outcome> = resp.records.iter().map(|r| r.result).collect();
    let (ok, failed) = (Outcome::Ok, Outcome::ProcessingFailed);
    assert_eq!(results, [ok, ok, failed, ok, ok]);
    assert_eq!(b64(&resp.records[2].data), bad);
    assert_eq!(document(&resp.records[1].data)["B_action"], 1, "the simulator's BLOCK record");

    // 3. Not a Firehose event: the function error, as the emulator reports it.
    let reply = rie.invoke(br#"{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"}}}]}"#);
    assert_eq!(reply.status, 200, "the emulator reports a function error with 200: {}", reply.text());
    let err = reply.json();
    let error_type = err["errorType"].as_str().unwrap_or_else(|| panic!("no errorType: {err}"));
    let message = err["errorMessage"].as_str().unwrap_or_else(|| panic!("no errorMessage: {err}"));
    assert!(error_type.contains("DeserializeError"), "{err}");
    assert!(message.contains("missing field `records`"), "{err}");
    assert_eq!(err.as_object().unwrap().len(), 2, "only errorType and errorMessage: {err}");

    // 4. Not JSON at all: also a function error, not a crash.
    let err = rie.invoke(b"this is not an event").json();
    assert!(err["errorType"].as_str().is_some_and(|t| t.contains("DeserializeError")), "{err}");

    // 5. Still alive after the bad events: the next one is answered.
    let reply = rie.invoke(br#"{"records":[]}"#);
    assert_eq!((reply.status, reply.json()), (200, json!({"records": []})));

    let (stdout, stderr) = rie.stop();
    // One bootstrap process served every invocation: the emulator initialised the function once.
    assert_eq!(stderr.matches("INIT START").count(), 1, "emulator log:\n{stderr}");
    assert_eq!(stdout.matches("START RequestId:").count(), 5, "{stdout}");

    let summaries: Vec<Value> =
        json_logs(&stdout).into_iter().filter(|l| l["fields"]["message"] == "Batch transformed.").collect();
    assert_eq!(summaries.len(), 3, "one summary per batch the handler saw:\n{stdout}");
    let first = &summaries[0];
    assert_eq!(first["level"], "INFO");
    assert!(first["timestamp"].is_string(), "JSON logs by default inside Lambda: {first}");
    assert_eq!((first["fields"]["ok"].as_u64(), first["fields"]["processing_failed"].as_u64()), (Some(4), Some(0)));
    let second = &summaries[1];
    assert_eq!((second["fields"]["ok"].as_u64(), second["fields"]["processing_failed"].as_u64()), (Some(4), Some(1)));
    // The request id the emulator gave ties each line to its invocation.
    assert!(first["span"]["requestId"].is_string(), "{first}");
}

#[test]
fn reads_its_configuration_from_the_environment() {
    let Some(rie) = rie_binary() else { return };
    let json = TransformSections::from_whole_toml(AWS_WAF_PRESET).unwrap().to_compact_json();
    let rie = Emulator::start(&rie, "preset", &[(TRANSFORM_CONFIG_ENV, &json)]);

    let event: Value = serde_json::from_str(&fixture("firehose_waf_event.json")).unwrap();
    let resp = check_batch(&rie.invoke(event.to_string().as_bytes()), &event, &preset_transformer());
    assert_eq!(resp.counts(), (4, 0, 0));
    let doc = document(&resp.records[1].data);
    // The preset reads /httpRequest/country and tags SQL injection; the default would not.
    assert_eq!(doc["rules"], json!(["injection-attempt"]));
    assert_eq!(doc["B_action"], 1);
}

#[test]
fn refuses_to_start_with_an_invalid_configuration() {
    let Some(rie) = rie_binary() else { return };
    let bad = r#"{"encode":[{"field":"action","columns":[]}]}"#;
    let rie = Emulator::start(&rie, "invalid-config", &[(TRANSFORM_CONFIG_ENV, bad)]);

    let event = fixture("firehose_waf_event.json");
    let reply = rie.invoke(event.as_bytes());
    // The bootstrap exits during init: the emulator answers 502 (with no body).
    assert_eq!(reply.status, 502, "{}", reply.text());

    let (stdout, stderr) = rie.stop();
    assert!(stdout.contains("WAFWATCH_TRANSFORM_CONFIG"), "{stdout}");
    assert!(stdout.contains("encode[0].field"), "{stdout}");
    assert!(stderr.contains("exit status 2"), "the bootstrap exits with 2:\n{stderr}");
}

#[test]
fn outside_lambda_it_explains_itself() {
    let out = Command::new(BIN).env_remove("AWS_LAMBDA_RUNTIME_API").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running inside AWS Lambda"));
}

#[test]
fn chunked_bodies_are_decoded() {
    assert_eq!(dechunk(b"4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n").unwrap(), b"Wikipedia ");
    assert_eq!(dechunk(b"4\r\nWi"), None);
}
