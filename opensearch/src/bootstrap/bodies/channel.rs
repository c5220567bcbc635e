//! The Notifications channels' bodies.

use serde_json::{Value, json};
use wafwatch_config::channel::{Payload, ResolvedChannel};

use super::mark::fingerprint;

/// The channel's `config` object (what `POST` wraps and `PUT` sends).
pub fn channel_config(c: &ResolvedChannel) -> Value {
    let payload = match &c.payload {
        Payload::Sns { topic_arn, role_arn } => {
            let mut p = json!({"topic_arn": topic_arn});
            if let Some(r) = role_arn {
                p["role_arn"] = json!(r);
            }
            p
        }
        Payload::Url(url) => json!({"url": url}),
        Payload::Webhook { url, method, headers } => json!({"url": url, "method": method, "header_params": headers}),
        Payload::Email { account, recipients } => json!({
            "email_account_id": account,
            "recipient_list": recipients.iter().map(|r| json!({"recipient": r})).collect::<Vec<_>>(),
            "email_group_id_list": [],
        }),
    };
    let description = if c.description.is_empty() { "wafwatch alerts".to_owned() } else { c.description.clone() };
    json!({
        "name": c.name,
        "description": format!("{description} (managed by wafwatch)"),
        "config_type": c.kind.as_str(),
        "is_enabled": true,
        c.kind.as_str(): payload,
    })
}

/// `POST /_plugins/_notifications/configs`.
pub fn channel_create(c: &ResolvedChannel) -> Value {
    json!({"config_id": c.id, "config": channel_config(c)})
}

/// A channel's configuration with its secret values (URLs, which carry tokens, and header values)
/// replaced by a short fingerprint: a diff then shows that a secret changed, never the secret.
pub fn mask_secrets(config: &Value) -> Value {
    let mask = |v: &mut Value| {
        if let Some(text) = v.as_str() {
            *v = json!(format!("(secret {})", &fingerprint(&json!(text))[..8]));
        }
    };
    let mut out = config.clone();
    for kind in ["slack", "chime", "microsoft_teams", "mattermost", "webhook"] {
        if let Some(url) = out.pointer_mut(&format!("/{kind}/url")) {
            mask(url);
        }
        if let Some(headers) = out.pointer_mut(&format!("/{kind}/header_params")).and_then(Value::as_object_mut) {
            headers.values_mut().for_each(mask);
        }
    }
    out
}
