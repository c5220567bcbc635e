//! Shared by the bootstrap tests: a `Spec` from a whole `wafwatch.toml`, as the CLI builds it, and
//! runs of `apply` against the stand-in.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

pub mod cluster;

use std::time::Duration;
use wafwatch_config::channel::Resolve;
use wafwatch_config::file::{Origin, parse};

use cluster::Cluster;
use wafwatch_opensearch::bootstrap::apply::{Action, ApplyOptions, BootstrapError, Report, apply};
use wafwatch_opensearch::bootstrap::client::{Clients, RetryPolicy};
use wafwatch_opensearch::bootstrap::{Dashboards, Spec};
use wafwatch_opensearch::connection::ConnectionArgs;

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

pub fn clients(cluster: &Cluster) -> Clients {
    let conn = ConnectionArgs { url: Some(cluster.url.clone()), ..ConnectionArgs::default() };
    Clients {
        cluster: conn.client(None).unwrap(),
        cluster_url: cluster.url.clone(),
        dashboards: Some(conn.client(None).unwrap()),
        dashboards_url: format!("{}/_dashboards", cluster.url),
        retry: RetryPolicy { attempts: 4, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(5) },
    }
}

pub fn opts() -> ApplyOptions {
    ApplyOptions { poll: Duration::from_millis(20), ..ApplyOptions::default() }
}

pub async fn run(cluster: &Cluster, spec: &Spec, o: &ApplyOptions) -> Result<Report, BootstrapError> {
    apply(&clients(cluster), &cluster.url, spec, o).await
}

/// Applies, lets documents arrive, applies again: the whole deployment.
pub async fn deployed(cluster: &Cluster, spec: &Spec) {
    run(cluster, spec, &opts()).await.unwrap();
    cluster.ingest("waf-logs", 10);
    run(cluster, spec, &opts()).await.unwrap();
}

pub fn action_of(report: &Report, kind: &str, name: &str) -> Action {
    report
        .outcomes
        .iter()
        .find(|o| o.kind == kind && o.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:#?}", report.outcomes))
        .action
        .clone()
}

pub fn position(writes: &[String], needle: &str) -> usize {
    writes.iter().position(|w| w.contains(needle)).unwrap_or_else(|| panic!("no write {needle} in {writes:#?}"))
}

/// The configured monitor of that name, to change it (by name: an index moves when monitors are added).
pub fn monitor_named<'a>(spec: &'a mut Spec, name: &str) -> &'a mut wafwatch_config::detection::Monitor {
    spec.detection.monitors.iter_mut().find(|m| m.name == name).unwrap_or_else(|| panic!("no monitor {name}"))
}
