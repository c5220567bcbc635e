//! What the bootstrap builds from: the [`Spec`], made from a validated configuration once, with
//! `${VAR}`s and secrets resolved (or shown as placeholders, for plans).

use wafwatch_config::Severity;
use wafwatch_config::channel::{Resolve, ResolvedChannel, valid_iam_role_arn};
use wafwatch_config::detection::Detection;
use wafwatch_config::expand::resolve_setting;
use wafwatch_config::index::Index;
use wafwatch_message::Site;

use super::bodies::saved_objects::dashboard_id;

/// Where Dashboards lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboards {
    /// The path prefix of its API on the Dashboards host (`/_dashboards` on Amazon OpenSearch
    /// Service, empty for a Dashboards on its own port).
    pub prefix: String,
    /// Its public URL for people, used in alert links; `None`: the messages carry no link. A plan
    /// made without knowing it passes [`DASHBOARDS_PLACEHOLDER`].
    pub public_url: Option<String>,
}

/// What a plan shows for the Dashboards URL that apply will use (apply refuses to send it).
pub const DASHBOARDS_PLACEHOLDER: &str = "{{dashboards}}";

impl Default for Dashboards {
    fn default() -> Self {
        Dashboards { prefix: "/_dashboards".into(), public_url: None }
    }
}

/// Everything the bootstrap builds from.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `[index]`.
    pub index: Index,
    /// Detectors and monitors.
    pub detection: Detection,
    /// Channels, values resolved (placeholders in plans).
    pub channels: Vec<ResolvedChannel>,
    /// The transformer's rules (name, severity, description), for messages.
    pub rules: Vec<(String, Severity, String)>,
    /// With fine-grained access control: the role to create and the Firehose role ARN to map.
    pub firehose_access: Option<(String, String)>,
    /// Dashboards.
    pub dashboards: Dashboards,
}

impl Spec {
    /// What the bootstrap builds from a validated configuration. `mode` says how `${VAR}`s and
    /// secrets are read: live (apply, status, destroy) or as placeholders (plan, which must not
    /// need them); `env` looks variables up.
    pub fn from_config(
        config: &wafwatch_config::Config,
        mode: Resolve,
        env: &dyn Fn(&str) -> Option<String>,
        dashboards: Dashboards,
    ) -> Result<Spec, String> {
        let channels = config
            .channels
            .iter()
            .map(|c| c.resolve_with(mode, env).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let arn = match &config.access.firehose_role_arn {
            Some(raw) => resolve_setting(raw, mode, env).map_err(|e| format!("`access.firehose_role_arn`: {e}"))?,
            None => String::new(),
        };
        if !arn.is_empty() && !arn.starts_with("{{") && !valid_iam_role_arn(&arn) {
            return Err(format!(
                "`access.firehose_role_arn`: `{arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            ));
        }
        Ok(Spec {
            index: config.index.clone(),
            detection: config.detection.clone(),
            channels,
            rules: config
                .transform
                .rules()
                .iter()
                .map(|r| (r.name.clone(), r.severity, r.description.clone()))
                .collect(),
            firehose_access: (!arn.is_empty()).then(|| (config.access.role.clone(), arn)),
            dashboards,
        })
    }

    /// The link alert messages carry: the dashboard under the public Dashboards URL, or none (the
    /// messages then have no "See:" line; a link with nothing to point to would render as a
    /// relative path).
    pub fn dashboard_link(&self) -> Option<String> {
        let base = self.dashboards.public_url.as_deref()?;
        Some(format!("{}/app/dashboards#/view/{}", base.trim_end_matches('/'), dashboard_id(&self.index)))
    }

    /// The message templates' surroundings.
    pub fn with_site<T>(&self, f: impl FnOnce(&Site<'_>) -> T) -> T {
        let rules: Vec<(&str, Severity, &str)> =
            self.rules.iter().map(|(n, s, d)| (n.as_str(), *s, d.as_str())).collect();
        let pattern = self.index.pattern();
        let link = self.dashboard_link();
        f(&Site { index_pattern: &pattern, link: link.as_deref(), rules: &rules })
    }
}
