//! `wafwatch run --deliver`: the local run's alerts to the configured channels reachable from here.
//!
//! Off by default, so a laptop with AWS credentials never pages anyone by accident. Each new alert,
//! and each throttled repeat of one still active, is rendered with its monitor's message template
//! (the same template the OpenSearch monitor carries) and sent to the monitor's channels:
//!
//! - `sns`: `Publish` to the topic through the AWS SDK, as the local identity (the channel's
//!   `role_arn` is what the OpenSearch domain assumes; it is not used here). `--endpoint-url`
//!   points it at any SNS-compatible server.
//! - `slack` / `microsoft_teams`: POST `{"text": message}`; `chime`: POST `{"Content": message}`.
//! - `webhook`: the message as the body, with the channel's method and headers (Content-Type
//!   `text/plain; charset=utf-8` unless a header sets it).
//! - `email`: needs the SMTP or SES account configured in OpenSearch, so it is delivered only from
//!   there; the run says so once.
//!
//! A failed delivery is retried (HTTP 429, 502, 503, 504 and connection errors: three attempts
//! with backoff and jitter; SNS: the SDK's standard retries), then logged with the channel and what
//! to do, and counted; it never stops the run.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use wafwatch_config::channel::{ChannelType, Payload, Resolve, ResolvedChannel};
use wafwatch_config::detection::{Detection, Monitor};
use wafwatch_engine::Alert;
use wafwatch_engine::context::local_context;
use wafwatch_message::{Site, Template, render, template};
use wafwatch_retry::{Attempt, RetryPolicy, retry_blocking, retryable_status};

/// SNS messages are at most 256 KB.
/// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
pub const MAX_SNS_MESSAGE_BYTES: usize = 256 * 1024;

/// How hard a webhook delivery tries: 3 attempts, waits below 500 ms then 1 s.
const HTTP_RETRY: RetryPolicy = RetryPolicy::new(3, Duration::from_millis(500), Duration::from_secs(1));

/// What the deliveries came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Messages accepted by a channel.
    pub sent: u64,
    /// Messages a channel did not accept after retries.
    pub failed: u64,
    /// Messages for channels that cannot be reached from here (email).
    pub skipped: u64,
}

/// Why delivery cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// A channel's values could not be resolved.
    #[error("--deliver: {0}")]
    Channel(#[from] wafwatch_config::channel::ResolveError),
    /// The HTTP client could not be built.
    #[error("--deliver: building the HTTP client: {0}")]
    Http(String),
}

/// Sends alerts to channels.
pub struct Deliverer {
    rt: tokio::runtime::Runtime,
    channels: HashMap<String, ResolvedChannel>,
    templates: HashMap<String, Template>,
    monitors: HashMap<String, Monitor>,
    /// The detectors and monitors, for the context an alert is rendered with.
    detection: Detection,
    http: reqwest::Client,
    aws: Option<wafwatch_aws::AwsArgs>,
    sns: Option<aws_sdk_sns::Client>,
    /// Per channel id.
    pub counts: HashMap<String, DeliveryCounts>,
    warned_email: bool,
}

impl Deliverer {
    /// Resolves the channels the monitors use (reading `${VAR}`s and files now, so a missing one
    /// fails before the run) and renders each monitor's template with `link` as its "See:" line.
    pub fn new(
        channels: &[wafwatch_config::channel::Channel],
        detection: &Detection,
        site: &Site<'_>,
        aws: wafwatch_aws::AwsArgs,
    ) -> Result<Self, DeliverError> {
        let used: std::collections::HashSet<&str> =
            detection.monitors.iter().flat_map(|m| m.channels.iter().map(String::as_str)).collect();
        let mut resolved = HashMap::new();
        for c in channels.iter().filter(|c| used.contains(c.id())) {
            resolved.insert(c.id().to_owned(), c.resolve(Resolve::Live)?);
        }
        let templates = detection.monitors.iter().map(|m| (m.name.clone(), template(m, detection, site))).collect();
        let monitors = detection.monitors.iter().map(|m| (m.name.clone(), m.clone())).collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DeliverError::Http(e.to_string()))?;
        // The client's connector belongs to the runtime it is built in.
        let http = {
            let _in_runtime = rt.enter();
            wafwatch_http::client(&wafwatch_http::Tls::default(), Duration::from_secs(15))
                .map_err(|e| DeliverError::Http(e.to_string()))?
        };
        Ok(Deliverer {
            rt,
            channels: resolved,
            templates,
            monitors,
            detection: detection.clone(),
            http,
            aws: Some(aws),
            sns: None,
            counts: HashMap::new(),
            warned_email: false,
        })
    }

    /// The channel ids that will be used, for the start-up log.
    pub fn channel_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.channels.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// Sends one alert (`repeat`: a throttled repeat of an alert still active) to its monitor's
    /// channels.
    pub fn send(&mut self, alert: &Alert, repeat: bool) {
        let Some(monitor) = self.monitors.get(&alert.monitor_name) else { return };
        let Some(t) = self.templates.get(&alert.monitor_name) else { return };
        let ctx = local_context(alert, monitor, &self.detection, repeat);
        let subject = t.subject.clone();
        let body = render(&t.body, &ctx);
        for id in monitor.channels.clone() {
            let Some(channel) = self.channels.get(&id).cloned() else { continue };
            let outcome = match &channel.payload {
                Payload::Email { .. } => {
                    if !self.warned_email {
                        self.warned_email = true;
                        tracing::warn!(channel = %id, "Email channels are delivered by OpenSearch only (they need its SMTP or SES account); skipping.");
                    }
                    self.counts.entry(id).or_default().skipped += 1;
                    continue;
                }
                Payload::Sns { topic_arn, .. } => self.publish(topic_arn, &subject, &body),
                Payload::Url(url) => {
                    let payload = match channel.kind {
                        ChannelType::Chime => serde_json::json!({ "Content": body }),
                        _ => serde_json::json!({ "text": body }),
                    };
                    self.post(url, "POST", &[("Content-Type".into(), "application/json".into())], payload.to_string())
                }
                Payload::Webhook { url, method, headers } => {
                    let mut h: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    if !h.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                        h.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
                    }
                    self.post(url, method, &h, body.clone())
                }
            };
            let counts = self.counts.entry(id.clone()).or_default();
            match outcome {
                Ok(()) => {
                    counts.sent += 1;
                    tracing::debug!(channel = %id, monitor = %alert.monitor_name, "Delivered.");
                }
                Err(e) => {
                    counts.failed += 1;
                    tracing::warn!(channel = %id, monitor = %alert.monitor_name, "Delivery failed: {e}");
                }
            }
        }
    }

    fn publish(&mut self, topic: &str, subject: &str, body: &str) -> Result<(), String> {
        if self.sns.is_none() {
            let aws = self.aws.take().unwrap_or_default();
            let conf = self.rt.block_on(aws.sdk_config());
            self.sns = Some(aws_sdk_sns::Client::new(&conf));
        }
        let Some(client) = &self.sns else { return Err("no SNS client".into()) };
        let mut message = body.to_owned();
        if message.len() > MAX_SNS_MESSAGE_BYTES {
            let mut cut = MAX_SNS_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        // SNS subjects are ASCII without line breaks.
        let subject: String =
            subject.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
        let call = client.publish().topic_arn(topic).subject(subject).message(message);
        self.rt
            .block_on(async { call.send().await })
            .map(|_| ())
            .map_err(|e| wafwatch_aws::explain(&format!("SNS topic {topic}"), &e))
    }

    fn post(&self, url: &str, method: &str, headers: &[(String, String)], body: String) -> Result<(), String> {
        // Only the URL's origin is ever printed: the path and query of a webhook carry its token.
        let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| format!("{origin}: {e}"))?;
        let mut tries = 0;
        retry_blocking(&HTTP_RETRY, |attempt| {
            tries = attempt;
            let mut req = self.http.request(method.clone(), url).body(body.clone());
            for (k, v) in headers {
                req = req.header(k, v);
            }
            // `send` starts the request's timer, so it must run inside the runtime.
            match self.rt.block_on(async { req.send().await }) {
                Ok(resp) if resp.status().is_success() => Attempt::Done(()),
                Ok(resp) => {
                    let status = resp.status();
                    let answer = format!("{origin} answered {status}");
                    match status.as_u16() {
                        s if retryable_status(s) => Attempt::Retry(answer),
                        401 | 403 => Attempt::Fail(format!(
                            "{answer}: the URL's token or the headers are not accepted; check the channel's secret"
                        )),
                        404 => Attempt::Fail(format!(
                            "{answer}: the webhook does not exist (revoked?); check the channel's URL"
                        )),
                        _ => Attempt::Fail(answer),
                    }
                }
                Err(e) => Attempt::Retry(format!("cannot reach {origin}: {e}")),
            }
        })
        .map_err(|last| if tries > 1 { format!("{last} (after {tries} attempts)") } else { last })
    }

    /// All counts together.
    pub fn total(&self) -> DeliveryCounts {
        self.counts.values().fold(DeliveryCounts::default(), |a, c| DeliveryCounts {
            sent: a.sent + c.sent,
            failed: a.failed + c.failed,
            skipped: a.skipped + c.skipped,
        })
    }
}
