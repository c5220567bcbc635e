//! Answers lost on the way back (a proxy whose upstream died, a dropped connection): the request
//! was carried out, the client retried it, and the retry met what the first one did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use support::cluster::Cluster;
use support::{action_of, opts, run};
use wafwatch_opensearch::bootstrap::apply::Action;

/// Audit finding 11: a retried detector create answers 409 (the name is taken, by the create whose
/// answer was lost), and a retried `_start` answers 200 with an error body ("already running").
#[tokio::test]
async fn a_create_and_a_start_whose_answers_were_lost_are_found_done() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    run(&cluster, &spec, &opts()).await.unwrap();
    cluster.ingest("waf-logs", 100);
    {
        let mut s = cluster.state.lock().unwrap();
        s.lose_replies.push(("POST".into(), "/_anomaly_detection/detectors".into()));
        s.lose_replies.push(("POST".into(), "/_start".into()));
    }
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    // The first detector: its create reached the cluster, so the retry's 409 led to it by name;
    // it was found as wanted and not running, so it was started (that answer lost, the retry
    // answered "already running" with 200).
    assert_eq!(action_of(&report, "detector", "blocked-requests"), Action::Started);
    assert_eq!(action_of(&report, "detector", "http-errors"), Action::Created);
    let s = cluster.state.lock().unwrap();
    assert_eq!(s.detectors.len(), 6, "no detector twice");
    assert!(s.detectors.values().all(|d| d.running));
    assert!(s.lose_replies.is_empty());
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

/// The same for a channel: its retried create answers 409, and it is read again and compared.
#[tokio::test]
async fn a_channel_whose_create_answer_was_lost_is_read_again_and_a_second_apply_writes_nothing() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    cluster.state.lock().unwrap().lose_replies.push(("POST".into(), "/_notifications/configs".into()));
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    assert_eq!(action_of(&report, "channel", "security-team"), Action::Unchanged);
    cluster.ingest("waf-logs", 100);
    run(&cluster, &spec, &opts()).await.unwrap();
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    assert_eq!(report.writes, 0, "{:#?}", report.outcomes);
}
