//! The ISM policy and the indices it manages, against a stand-in that keeps, per index, the
//! version of the policy it follows (audit finding 6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use support::cluster::Cluster;
use support::{action_of, clients, deployed, opts, run};
use wafwatch_opensearch::bootstrap::apply::{Action, destroy};

const POLICY: &str = "wafwatch-waf-logs";

fn follows(cluster: &Cluster) -> Option<(String, i64)> {
    cluster.state.lock().unwrap().indices["waf-logs-000001"].policy.clone()
}

/// A managed index keeps the copy of the policy it started with: an update reached no index, and
/// destroy left the index managed by the deleted policy (still rolled over and deleted).
#[tokio::test]
async fn the_managed_indices_follow_the_policy_and_are_let_go_before_it_is_deleted() {
    let cluster = Cluster::start().await;
    let mut spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    assert_eq!(follows(&cluster), Some((POLICY.into(), 0)), "ism_template attached it at creation");

    spec.index.retention = "14d".into();
    cluster.clear_log();
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    let policy = report.outcomes.iter().find(|o| o.kind == "ISM policy").unwrap();
    assert_eq!(policy.action, Action::Updated);
    assert!(policy.detail.ends_with("; 1 managed index(es) moved to the new version"), "{}", policy.detail);
    assert!(cluster.writes().contains(&"POST /_plugins/_ism/change_policy/waf-logs-000001".to_owned()));
    assert_eq!(follows(&cluster), Some((POLICY.into(), 1)), "the index follows the new version");

    let report = destroy(&clients(&cluster), &cluster.url, &spec, false).await.unwrap();
    let policy = report.outcomes.iter().find(|o| o.kind == "ISM policy").unwrap();
    assert_eq!(policy.action, Action::Deleted);
    assert!(policy.detail.contains("removed from the 1 index(es) it managed"), "{}", policy.detail);
    assert_eq!(follows(&cluster), None);
    assert!(cluster.violations().is_empty(), "{:?}", cluster.violations());

    // Deployed again: the new policy is added to the index its ism_template no longer attaches to.
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    let policy = report.outcomes.iter().find(|o| o.kind == "ISM policy").unwrap();
    assert_eq!(
        (policy.action.clone(), policy.detail.as_str()),
        (Action::Created, "added to 1 existing index(es) no policy managed")
    );
    assert_eq!(follows(&cluster), Some((POLICY.into(), 0)));
    assert_eq!(action_of(&report, "write alias", "waf-logs"), Action::Unchanged);
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    assert_eq!(report.writes, 0, "{:#?}", report.outcomes);
}

#[tokio::test]
async fn an_index_someone_else_manages_is_left_to_its_policy() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    cluster.state.lock().unwrap().indices.get_mut("waf-logs-000001").unwrap().policy = Some(("theirs".into(), 3));
    let report = destroy(&clients(&cluster), &cluster.url, &spec, false).await.unwrap();
    assert_eq!(action_of(&report, "ISM policy", POLICY), Action::Deleted);
    assert_eq!(follows(&cluster), Some(("theirs".into(), 3)));
    assert!(!cluster.writes().iter().any(|w| w.contains("/_ism/remove/")), "{:#?}", cluster.writes());
}
