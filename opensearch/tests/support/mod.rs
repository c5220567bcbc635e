//! Shared by the bootstrap tests: a `Spec` from a whole `wafwatch.toml`, as the CLI builds it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

pub mod cluster;

use wafwatch_config::channel::Resolve;
use wafwatch_config::file::{Origin, parse};
use wafwatch_opensearch::bootstrap::{Dashboards, Spec};

/// The bundled default configuration.
pub const DEFAULT: &str = wafwatch_config::file::BUNDLED_DEFAULT_TOML;

/// Builds the spec of a whole configuration text, with `env` as the environment, exactly as the CLI
/// does: the whole-file model validates it, the bootstrap resolves it.
pub fn spec_with(text: &str, mode: Resolve, env: &dyn Fn(&str) -> Option<String>, dashboards: Dashboards) -> Spec {
    let config = parse(text, Origin::Bundled).unwrap().config().unwrap();
    Spec::from_config(&config, mode, env, dashboards).unwrap()
}

/// The environment a deployment has: the topic, the alert role and the Firehose role.
pub fn deployed_env(k: &str) -> Option<String> {
    match k {
        "WAFWATCH_ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:111122223333:wafwatch-alerts".into()),
        "WAFWATCH_ALERT_ROLE_ARN" => Some("arn:aws:iam::111122223333:role/wafwatch-opensearch-sns".into()),
        "WAFWATCH_FIREHOSE_ROLE_ARN" => Some("arn:aws:iam::111122223333:role/wafwatch-firehose".into()),
        _ => None,
    }
}

/// The default configuration's spec, as apply builds it in a deployment.
pub fn deployed_spec() -> Spec {
    spec_with(
        DEFAULT,
        Resolve::Live,
        &deployed_env,
        Dashboards { prefix: "/_dashboards".into(), public_url: Some("https://search.example/_dashboards".into()) },
    )
}
