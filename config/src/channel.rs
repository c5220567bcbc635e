//! The `[[channel]]` sections of `wafwatch.toml`: where alerts go.
//!
//! Each channel becomes an OpenSearch Notifications channel whose `config_id` is the channel's `id`
//! (stable across deploys, so monitors can name it before it exists), and `wafwatch run --deliver`
//! sends the local run's alerts to the channels reachable from this machine.
//!
//! Secrets never live in the file, a flag or a plan: a Slack, Chime, Teams or webhook URL (which
//! carries its token) and webhook header values must be written as `${VAR}` (read from the
//! environment when a command needs them) or, for URLs, given as `url_file`. Plans show them as
//! `{{secret:...}}`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Problems};
pub use crate::expand::Resolve;
use crate::expand::{is_env_reference, process_env, resolve_setting};
use crate::names;

/// The kind of channel, as the Notifications plugin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    /// Amazon SNS topic (the notifications plugin assumes `role_arn` to publish).
    Sns,
    /// Slack incoming webhook.
    Slack,
    /// Amazon Chime webhook.
    Chime,
    /// Microsoft Teams webhook.
    MicrosoftTeams,
    /// Any HTTP endpoint.
    Webhook,
    /// Email through an SMTP or SES account configured in OpenSearch.
    Email,
}

impl ChannelType {
    /// The wire name (`config_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Sns => "sns",
            ChannelType::Slack => "slack",
            ChannelType::Chime => "chime",
            ChannelType::MicrosoftTeams => "microsoft_teams",
            ChannelType::Webhook => "webhook",
            ChannelType::Email => "email",
        }
    }

    fn has_url(self) -> bool {
        matches!(self, ChannelType::Slack | ChannelType::Chime | ChannelType::MicrosoftTeams | ChannelType::Webhook)
    }
}

/// `[[channel]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSection {
    /// The Notifications `config_id`: letters, digits, `+`, `/`, `_`, `-`. Monitors name it.
    pub id: String,
    /// Display name; default the id.
    #[serde(default)]
    pub name: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `sns`, `slack`, `chime`, `microsoft_teams`, `webhook` or `email`.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// sns: the topic ARN.
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// sns: the IAM role the OpenSearch domain assumes to publish.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// slack, chime, microsoft_teams, webhook: the URL, as `${VAR}` (it carries a token).
    #[serde(default)]
    pub url: Option<String>,
    /// ...or a file holding the URL (its first line).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// webhook: `POST` (default), `PUT` or `PATCH`.
    #[serde(default)]
    pub method: Option<String>,
    /// webhook: headers; values as `${VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// email: the id of an `smtp_account` or `ses_account` configured in OpenSearch.
    #[serde(default)]
    pub email_account: Option<String>,
    /// email: recipient addresses.
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// A validated channel, values not yet resolved (they may name variables and files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The section as written.
    pub section: ChannelSection,
}

impl Channel {
    /// The `config_id`.
    pub fn id(&self) -> &str {
        &self.section.id
    }
    /// The display name.
    pub fn name(&self) -> &str {
        self.section.name.as_deref().unwrap_or(&self.section.id)
    }
    /// The type.
    pub fn kind(&self) -> ChannelType {
        self.section.kind
    }
}

/// The payload of a resolved channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// SNS.
    Sns {
        /// Topic ARN.
        topic_arn: String,
        /// Role ARN.
        role_arn: Option<String>,
    },
    /// Slack, Chime, Teams: a URL.
    Url(String),
    /// Webhook.
    Webhook {
        /// URL.
        url: String,
        /// Method.
        method: String,
        /// Headers.
        headers: BTreeMap<String, String>,
    },
    /// Email.
    Email {
        /// Account id.
        account: String,
        /// Recipients.
        recipients: Vec<String>,
    },
}

/// A channel with its values resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedChannel {
    /// `config_id`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Type.
    pub kind: ChannelType,
    /// Values.
    pub payload: Payload,
}

/// Why a channel's values could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel `{id}`, `{key}`: {problem}")]
pub struct ResolveError {
    /// The channel.
    pub id: String,
    /// The key.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// `^arn:aws(-[^:]+)?:sns:REGION:ACCOUNT:NAME$`, as the Notifications plugin checks it.
pub fn valid_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && (parts[1] == "aws" || parts[1].strip_prefix("aws-").is_some_and(|p| !p.is_empty()))
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[3].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty()
        && parts[5].bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
}

/// `^arn:aws(-[^:]+)?:iam::ACCOUNT:NAME$`, as the Notifications plugin checks it.
pub fn valid_iam_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && (parts[1] == "aws" || parts[1].strip_prefix("aws-").is_some_and(|p| !p.is_empty()))
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty()
        && parts[5].bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
}

/// An http or https URL with a host, as `java.net.URL` and the plugin accept it.
pub fn valid_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains(char::is_whitespace)
    }) && !url.contains(char::is_whitespace)
}

impl Channel {
    /// Resolves the values from the process environment and files, applying the plugin's own checks
    /// on ARNs and URLs.
    pub fn resolve(&self, mode: Resolve) -> Result<ResolvedChannel, ResolveError> {
        self.resolve_with(mode, &process_env)
    }

    /// [`Channel::resolve`] with the variables looked up by `env`.
    pub fn resolve_with(
        &self,
        mode: Resolve,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedChannel, ResolveError> {
        let r = Resolver { section: &self.section, mode, env };
        let payload = match self.section.kind {
            ChannelType::Sns => r.sns()?,
            ChannelType::Webhook => r.webhook()?,
            ChannelType::Email => r.email()?,
            _ => Payload::Url(r.url()?),
        };
        let s = &self.section;
        Ok(ResolvedChannel {
            id: s.id.clone(),
            name: self.name().to_owned(),
            description: s.description.clone().unwrap_or_default(),
            kind: s.kind,
            payload,
        })
    }
}

/// Resolves one channel's values, each kind of payload by its own function.
struct Resolver<'a> {
    section: &'a ChannelSection,
    mode: Resolve,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    fn err(&self, key: &str, problem: String) -> ResolveError {
        ResolveError { id: self.section.id.clone(), key: key.to_owned(), problem }
    }

    /// A setting with its variables expanded (placeholders in plans).
    fn plain(&self, key: &str, v: &str) -> Result<String, ResolveError> {
        resolve_setting(v, self.mode, self.env).map_err(|e| self.err(key, e.to_string()))
    }

    /// A secret: its value when live, `{{secret:NAME}}` in plans.
    fn secret(&self, key: &str, v: &str) -> Result<String, ResolveError> {
        match self.mode {
            Resolve::Placeholders => Ok(format!("{{{{secret:{}}}}}", v.trim_start_matches("${").trim_end_matches('}'))),
            Resolve::Live => self.plain(key, v),
        }
    }

    fn sns(&self) -> Result<Payload, ResolveError> {
        let s = self.section;
        let placeholder = |v: &str| v.contains("{{env:");
        let topic = self.plain("topic_arn", s.topic_arn.as_deref().unwrap_or_default())?;
        if !placeholder(&topic) && !valid_sns_topic_arn(&topic) {
            return Err(
                self.err("topic_arn", format!("`{topic}` is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"))
            );
        }
        let role = s.role_arn.as_deref().map(|r| self.plain("role_arn", r)).transpose()?.filter(|r| !r.is_empty());
        if let Some(r) = &role
            && !placeholder(r)
            && !valid_iam_role_arn(r)
        {
            return Err(self.err("role_arn", format!("`{r}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")));
        }
        Ok(Payload::Sns { topic_arn: topic, role_arn: role })
    }

    /// A Slack, Chime, Teams or webhook URL: from its variable or its file, checked when live.
    fn url(&self) -> Result<String, ResolveError> {
        let s = self.section;
        match (self.mode, &s.url, &s.url_file) {
            (_, Some(v), _) => {
                let url = self.secret("url", v)?;
                if self.mode == Resolve::Live && !valid_http_url(&url) {
                    return Err(self.err("url", format!("the value of {v} is not an http or https URL")));
                }
                Ok(url)
            }
            (Resolve::Placeholders, None, Some(f)) => Ok(format!("{{{{secret:{}}}}}", f.display())),
            (Resolve::Live, None, Some(f)) => {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| self.err("url_file", format!("cannot read {}: {e}", f.display())))?;
                let url = text.lines().next().unwrap_or("").trim().to_owned();
                if !valid_http_url(&url) {
                    return Err(self.err("url_file", format!("{} does not hold an http or https URL", f.display())));
                }
                Ok(url)
            }
            (_, None, None) => Err(self.err("url", "missing".into())),
        }
    }

    fn webhook(&self) -> Result<Payload, ResolveError> {
        let s = self.section;
        let url = self.url()?;
        let mut headers = BTreeMap::new();
        for (k, v) in &s.headers {
            headers.insert(k.clone(), self.secret(&format!("headers.{k}"), v)?);
        }
        Ok(Payload::Webhook { url, method: s.method.clone().unwrap_or_else(|| "POST".into()), headers })
    }

    fn email(&self) -> Result<Payload, ResolveError> {
        let s = self.section;
        Ok(Payload::Email {
            account: self.plain("email_account", s.email_account.as_deref().unwrap_or_default())?,
            recipients: s
                .recipients
                .iter()
                .enumerate()
                .map(|(i, r)| self.plain(&format!("recipients[{i}]"), r))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Validates the channels' shape (values are resolved later, by the commands that use them).
pub fn validate(sections: &[ChannelSection]) -> Result<Vec<Channel>, ConfigError> {
    let mut problems = Problems::default();
    let mut ids = std::collections::HashSet::new();
    for (i, c) in sections.iter().enumerate() {
        let key = format!("channel[{i}]");
        if let Err(problem) = names::channel_id(&c.id) {
            problems.push(format!("{key}.id"), problem);
        }
        if !ids.insert(c.id.clone()) {
            problems.push(format!("{key}.id"), format!("duplicate channel id `{}`", c.id));
        }
        if c.name.as_deref().is_some_and(str::is_empty) {
            problems.push(format!("{key}.name"), "expected a non-empty name");
        }
        check_keys_apply(c, &key, &mut problems);
        check_required(c, &key, &mut problems);
        check_webhook(c, &key, &mut problems);
    }
    problems.finish(sections.iter().map(|s| Channel { section: s.clone() }).collect())
}

/// Only the keys of the channel's type are set.
fn check_keys_apply(c: &ChannelSection, key: &str, problems: &mut Problems) {
    let allowed: &[&str] = match c.kind {
        ChannelType::Sns => &["topic_arn", "role_arn"],
        ChannelType::Webhook => &["url", "url_file", "method", "headers"],
        ChannelType::Email => &["email_account", "recipients"],
        _ => &["url", "url_file"],
    };
    let present = [
        ("topic_arn", c.topic_arn.is_some()),
        ("role_arn", c.role_arn.is_some()),
        ("url", c.url.is_some()),
        ("url_file", c.url_file.is_some()),
        ("method", c.method.is_some()),
        ("headers", !c.headers.is_empty()),
        ("email_account", c.email_account.is_some()),
        ("recipients", !c.recipients.is_empty()),
    ];
    for (name, is_set) in present {
        if is_set && !allowed.contains(&name) {
            problems.push(format!("{key}.{name}"), format!("does not apply to a {} channel", c.kind.as_str()));
        }
    }
}

/// What the channel's type needs is there: a topic, an account and recipients, or a URL that comes
/// from the environment or a file (it carries its token).
fn check_required(c: &ChannelSection, key: &str, problems: &mut Problems) {
    match c.kind {
        ChannelType::Sns if c.topic_arn.is_none() => {
            problems.push(format!("{key}.topic_arn"), "an sns channel needs `topic_arn`")
        }
        ChannelType::Email => {
            if c.email_account.is_none() {
                problems.push(
                    format!("{key}.email_account"),
                    "an email channel needs the id of an smtp_account or ses_account",
                );
            }
            if c.recipients.is_empty() {
                problems.push(format!("{key}.recipients"), "an email channel needs at least one recipient");
            }
            for (j, r) in c.recipients.iter().enumerate() {
                let looks_like_address = r.contains('@') && !r.starts_with('@') && !r.ends_with('@');
                if !r.starts_with("${") && !looks_like_address {
                    problems.push(format!("{key}.recipients[{j}]"), format!("`{r}` is not an email address"));
                }
            }
        }
        k if k.has_url() => match (&c.url, &c.url_file) {
            (None, None) => problems
                .push(format!("{key}.url"), format!("a {} channel needs `url` (as ${{VAR}}) or `url_file`", k.as_str())),
            (Some(_), Some(_)) => problems.push(format!("{key}.url_file"), "give `url` or `url_file`, not both"),
            (Some(u), None) if !is_env_reference(u) => problems.push(
                format!("{key}.url"),
                "a webhook URL carries its token: write it as ${VAR} (set in the environment) or use url_file, never in the file",
            ),
            _ => {}
        },
        _ => {}
    }
}

/// A webhook's method is one the plugin sends, and its header values come from the environment.
fn check_webhook(c: &ChannelSection, key: &str, problems: &mut Problems) {
    if let Some(m) = &c.method
        && !["POST", "PUT", "PATCH"].contains(&m.as_str())
    {
        problems.push(format!("{key}.method"), format!("`{m}`: expected POST, PUT or PATCH"));
    }
    for (k, v) in &c.headers {
        if !is_env_reference(v) {
            problems.push(format!("{key}.headers.{k}"), "header values may carry secrets: write them as ${VAR}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<ChannelSection> {
        #[derive(Deserialize)]
        struct F {
            channel: Vec<ChannelSection>,
        }
        toml::from_str::<F>(text).unwrap().channel
    }

    #[test]
    fn checks_arns_and_urls_as_the_plugin_does() {
        assert!(valid_sns_topic_arn("arn:aws:sns:eu-west-1:111122223333:wafwatch-alerts"));
        assert!(valid_sns_topic_arn("arn:aws-cn:sns:cn-north-1:111122223333:a"));
        assert!(!valid_sns_topic_arn("arn:aws:sns:eu-west-1:1111:wafwatch"));
        assert!(!valid_sns_topic_arn("arn:aws:sqs:eu-west-1:111122223333:q"));
        assert!(valid_iam_role_arn("arn:aws:iam::111122223333:role/wafwatch-sns"));
        assert!(!valid_iam_role_arn("arn:aws:iam:eu-west-1:111122223333:role/x"));
        assert!(valid_http_url("https://hooks.slack.com/services/T0/B0/x"));
        assert!(!valid_http_url("ftp://x") && !valid_http_url("https://") && !valid_http_url("hooks.slack.com"));
    }

    #[test]
    fn secrets_must_come_from_the_environment_or_a_file() {
        let sections = parse(
            "[[channel]]\nid = \"ops\"\ntype = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/token\"\n\
             [[channel]]\nid = \"hook\"\ntype = \"webhook\"\nurl = \"${HOOK}\"\nheaders = { X-Token = \"abc\" }\nmethod = \"GET\"\n\
             [[channel]]\nid = \"bad id!\"\ntype = \"sns\"\nurl = \"${X}\"\n\
             [[channel]]\nid = \"mail\"\ntype = \"email\"\nrecipients = [\"nobody\"]\n",
        );
        let joined =
            validate(&sections).unwrap_err().problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        for needle in [
            "`channel[0].url`: a webhook URL carries its token: write it as ${VAR}",
            "`channel[1].headers.X-Token`: header values may carry secrets",
            "`channel[1].method`: `GET`: expected POST, PUT or PATCH",
            "`channel[2].id`: `bad id!`: expected letters",
            "`channel[2].url`: does not apply to a sns channel",
            "`channel[2].topic_arn`: an sns channel needs `topic_arn`",
            "`channel[3].email_account`: an email channel needs the id",
            "`channel[3].recipients[0]`: `nobody` is not an email address",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
    }

    #[test]
    fn resolves_live_values_and_masks_secrets_in_plans() {
        let env = |k: &str| (k == "SLACK_URL").then(|| "https://hooks.example.com/T/B/sekret".to_string());
        let sections = parse(
            "[[channel]]\nid = \"ops\"\ntype = \"slack\"\nurl = \"${SLACK_URL}\"\n\
             [[channel]]\nid = \"sec\"\ntype = \"sns\"\ntopic_arn = \"${TOPIC}\"\nrole_arn = \"${ROLE:-}\"\n",
        );
        let channels = validate(&sections).unwrap();
        let live = channels[0].resolve_with(Resolve::Live, &env).unwrap();
        assert_eq!(live.payload, Payload::Url("https://hooks.example.com/T/B/sekret".into()));
        let plan = channels[0].resolve_with(Resolve::Placeholders, &env).unwrap();
        assert_eq!(plan.payload, Payload::Url("{{secret:SLACK_URL}}".into()));
        let err = channels[1].resolve_with(Resolve::Live, &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "channel `sec`, `topic_arn`: environment variable `TOPIC` is not set (write `${TOPIC:-default}` to give a default)"
        );
        let plan = channels[1].resolve_with(Resolve::Placeholders, &env).unwrap();
        assert_eq!(plan.payload, Payload::Sns { topic_arn: "{{env:TOPIC}}".into(), role_arn: None });
        let bad = |k: &str| (k == "TOPIC").then(|| "arn:aws:sns:eu-west-1:42:t".to_string());
        let err = channels[1].resolve_with(Resolve::Live, &bad).unwrap_err();
        assert!(err.to_string().contains("is not an SNS topic ARN"), "{err}");
    }
}
