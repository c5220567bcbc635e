//! The monitors against a stand-in that answers as the real alerting plugin (2.19) does: their
//! mark read back, their trigger and action ids kept, their alerts surviving an update.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::time::Duration;

use support::cluster::Cluster;
use support::{action_of, clients, deployed, opts, run};
use wafwatch_opensearch::bootstrap::apply::{Action, destroy};

/// Audit finding 2: the plugin hides `ui_metadata` from API reads, so every apply rewrote every
/// monitor with new trigger ids, ended their open alerts and paged again; and destroy kept them all.
#[tokio::test]
async fn monitors_read_their_mark_back_so_apply_leaves_them_and_destroy_removes_them() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    cluster.clear_log();
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    assert_eq!(report.writes, 0, "{:#?}", report.outcomes);
    assert_eq!(action_of(&report, "monitor", "failed-logins-per-ip"), Action::Unchanged);

    let report = destroy(&clients(&cluster), &cluster.url, &spec, false).await.unwrap();
    assert_eq!(action_of(&report, "monitor", "failed-logins-per-ip"), Action::Deleted);
    assert!(cluster.state.lock().unwrap().monitors.is_empty());
}

#[tokio::test]
async fn an_update_keeps_trigger_and_action_ids_so_open_alerts_survive_it() {
    let cluster = Cluster::start().await;
    let mut spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    let ids = |name: &str| {
        let s = cluster.state.lock().unwrap();
        let (m, _) = s.monitors.values().find(|(m, _)| m["name"] == name).unwrap();
        let t = &m["triggers"][0]["query_level_trigger"];
        (t["id"].clone(), t["actions"][0]["id"].clone())
    };
    let before = ids("server-errors");
    let alert = cluster.raise_alert("server-errors");

    support::monitor_named(&mut spec, "server-errors").throttle = Duration::from_secs(1800);
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    assert_eq!(action_of(&report, "monitor", "server-errors"), Action::Updated);
    assert_eq!(ids("server-errors"), before, "the PUT carried the live ids");
    assert_eq!(cluster.alert_state(&alert), "ACTIVE", "the open alert and its throttle survive");
    let s = cluster.state.lock().unwrap();
    let (m, _) = s.monitors.values().find(|(m, _)| m["name"] == "server-errors").unwrap();
    assert_eq!(m["triggers"][0]["query_level_trigger"]["actions"][0]["throttle"]["value"], 30);
}

#[tokio::test]
async fn a_monitor_read_without_its_ui_metadata_is_neither_deleted_nor_called_someone_elses() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    // A proxy in front of the cluster replaces the User-Agent: the plugin leaves ui_metadata out.
    cluster.state.lock().unwrap().hide_ui_metadata = true;
    let report = destroy(&clients(&cluster), &cluster.url, &spec, false).await.unwrap();
    let kept = report.outcomes.iter().find(|o| o.kind == "monitor" && o.name == "server-errors").unwrap();
    assert_eq!(kept.action, Action::Kept);
    assert!(kept.detail.contains("whether wafwatch created it cannot be told"), "{}", kept.detail);
    assert!(!kept.detail.contains("not created by wafwatch"), "{}", kept.detail);
    assert_eq!(cluster.state.lock().unwrap().monitors.len(), 12);
}

/// Audit finding 7: with `--no-dashboards` the messages said "See: /app/dashboards#/view/..." (the
/// literal `{{dashboards}}` placeholder, rendered empty by the plugin).
#[tokio::test]
async fn without_a_dashboards_url_the_messages_carry_no_link_and_a_placeholder_is_never_sent() {
    use wafwatch_config::channel::Resolve;
    use wafwatch_opensearch::bootstrap::{DASHBOARDS_PLACEHOLDER, Dashboards, plan};
    let no_url = Dashboards { prefix: "/_dashboards".into(), public_url: None };
    let spec = support::spec_with(support::DEFAULT, Resolve::Live, &support::deployed_env, no_url);
    let text = serde_json::to_string(&plan(&spec)).unwrap();
    assert!(!text.contains(DASHBOARDS_PLACEHOLDER) && !text.contains("See:"), "a link to nowhere");
    assert!(text.contains("When: the 5 minutes up to {{ctx.periodEnd}}."), "the counted window");

    let placeholder = Dashboards { prefix: "/_dashboards".into(), public_url: Some(DASHBOARDS_PLACEHOLDER.into()) };
    let spec = support::spec_with(support::DEFAULT, Resolve::Live, &support::deployed_env, placeholder);
    let cluster = Cluster::start().await;
    let err = run(&cluster, &spec, &opts()).await.unwrap_err().to_string();
    assert!(err.contains("would link to the placeholder {{dashboards}}"), "{err}");
    assert!(cluster.writes().is_empty());
}
