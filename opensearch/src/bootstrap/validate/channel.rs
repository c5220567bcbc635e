//! Rule 16: the Notifications channels.

use serde_json::Value;
use wafwatch_config::channel::{valid_http_url, valid_iam_role_arn, valid_sns_topic_arn};
use wafwatch_config::names::channel_id;

use super::check::{Check, str_at};

/// Notifications channel types (`config_type` tags).
const CHANNEL_TYPES: [&str; 10] = [
    "slack",
    "chime",
    "microsoft_teams",
    "webhook",
    "email",
    "sns",
    "ses_account",
    "smtp_account",
    "email_group",
    "mattermost",
];

/// Rule 16: a channel's create (`create`) or update.
pub(super) fn channel(b: &Value, create: bool, c: &mut Check<'_>) {
    if let Some(top) = b.as_object() {
        let allowed: &[&str] = if create { &["config_id", "config"] } else { &["config"] };
        if let Some(k) = top.keys().find(|k| !allowed.contains(&k.as_str())) {
            c.fail(16, format!("top-level key {k} is ignored by the server; only config_id and config are read"));
        }
    }
    if create {
        match str_at(b, "/config_id") {
            Some(id) if channel_id(id).is_ok() => {}
            other => c.fail(16, format!("config_id {other:?} may hold only letters, digits, +, /, _ and -")),
        }
    }
    let cfg = b.get("config").unwrap_or(&Value::Null);
    if str_at(cfg, "/name").is_none_or(str::is_empty) {
        c.fail(16, "config.name must be non-empty");
    }
    let kind = str_at(cfg, "/config_type").unwrap_or("");
    if !CHANNEL_TYPES.contains(&kind) {
        c.fail(16, format!("config_type {kind:?} is not a channel type"));
        return;
    }
    let Some(payload) = cfg.get(kind) else {
        c.fail(16, format!("the payload object must be keyed by the config_type {kind}"));
        return;
    };
    let placeholder = |v: &str| v.starts_with("{{");
    match kind {
        "sns" => {
            let topic = str_at(payload, "/topic_arn").unwrap_or("");
            if !placeholder(topic) && !valid_sns_topic_arn(topic) {
                c.fail(16, format!("sns.topic_arn {topic:?} is not an SNS topic ARN"));
            }
            if let Some(role) = str_at(payload, "/role_arn")
                && !placeholder(role)
                && !valid_iam_role_arn(role)
            {
                c.fail(16, format!("sns.role_arn {role:?} is not an IAM role ARN"));
            }
        }
        "slack" | "chime" | "microsoft_teams" | "mattermost" | "webhook" => {
            let url = str_at(payload, "/url").unwrap_or("");
            if !placeholder(url) && !valid_http_url(url) {
                c.fail(16, format!("{kind}.url is not an http or https URL"));
            }
            if kind == "webhook"
                && let Some(m) = str_at(payload, "/method")
                && !["POST", "PUT", "PATCH"].contains(&m)
            {
                c.fail(16, format!("webhook.method {m} is not POST, PUT or PATCH"));
            }
        }
        "email" => {
            let recipients = payload.get("recipient_list").and_then(Value::as_array).cloned().unwrap_or_default();
            if recipients.iter().any(|r| r.get("recipient").and_then(Value::as_str).is_none()) {
                c.fail(16, "email recipients are objects {\"recipient\": address}, not strings");
            }
        }
        _ => {}
    }
}
