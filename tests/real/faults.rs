//! Faults against the real node, through a proxy the test runs in front of it: answers lost after
//! the node carried the request out (a retried detector create meets the real 409, a retried start
//! the real "already running" with 200), and the node gone halfway through an apply, back again,
//! and apply converging; a further apply writes nothing. (The node itself is not stopped: its URL
//! would change with a restart by `scripts/opensearch`; to the bootstrap a proxy that answers 502
//! for everything is the same fault, and the audit stopped a real node to the same effect.)

use std::time::Duration;

use chrono::Utc;
use wafwatch_opensearch::bootstrap::Spec;
use wafwatch_opensearch::bootstrap::apply::{ApplyOptions, Report, apply, destroy};

use crate::real::proxy::Proxy;
use crate::real::{self, ALL_PLUGINS, backfill, forget_indices};

const TEST: &str = "faults_halfway_through_an_apply_converge_on_a_node_with_the_plugins";
const ALIAS: &str = "rt-fault";

async fn run(url: &str, spec: &Spec) -> Result<Report, String> {
    let opts = ApplyOptions { skip_dashboards: true, poll: Duration::from_secs(2), ..ApplyOptions::default() };
    apply(&real::clients(url), url, spec, &opts).await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn faults_halfway_through_an_apply_converge_on_a_node_with_the_plugins() {
    let Some(node) = real::node(TEST).await else { return };
    if node.lacks(TEST, &ALL_PLUGINS) {
        return;
    }
    let _turn = real::NODE_LOCK.lock().await;
    let spec = real::spec(&real::config_text(ALIAS), "http://127.0.0.1:9/hook");
    let clean = || async {
        destroy(&real::clients(&node.url), &node.url, &spec, true).await.unwrap();
        forget_indices(&node, ALIAS).await;
    };
    clean().await;
    run(&node.url, &spec).await.unwrap();
    backfill(&node, ALIAS, Utc::now(), "1h", "2", &[]);

    // 1. Answers lost on the way back: the first detector create and the first start.
    let proxy = Proxy::start(&node.url).await;
    {
        let mut f = proxy.faults.lock().unwrap();
        f.lose.push(("POST".into(), "/_anomaly_detection/detectors".into()));
        f.lose.push(("POST".into(), "/_start".into()));
    }
    let report = run(&proxy.url, &spec).await.unwrap();
    eprintln!("{TEST}: after lost answers:\n{}", report.render(false));
    assert!(proxy.faults.lock().unwrap().lose.is_empty(), "both answers were lost");
    // The node may hold other detectors and monitors: count those of the configuration's names.
    let detector_names: Vec<&str> = spec.detection.detectors.iter().map(|d| d.name.as_str()).collect();
    let monitor_names: Vec<&str> = spec.detection.monitors.iter().map(|m| m.name.as_str()).collect();
    let ours = |found: std::collections::BTreeMap<String, String>, wanted: &[&str]| {
        found.keys().filter(|n| wanted.contains(&n.as_str())).count()
    };
    assert_eq!(ours(node.detectors().await, &detector_names), 6, "one detector per name");
    assert_eq!(ours(node.monitors().await, &monitor_names), 12);
    assert_eq!(run(&node.url, &spec).await.unwrap().writes, 0);
    destroy(&real::clients(&node.url), &node.url, &spec, true).await.unwrap();

    // 2. The node gone after a dozen requests, halfway through the apply; back; apply converges.
    {
        let mut f = proxy.faults.lock().unwrap();
        // Eight reads come before the first detector: it goes down amid the detectors.
        f.down_after = Some(f.forwarded + 16);
    }
    let err = run(&proxy.url, &spec).await.unwrap_err();
    eprintln!("{TEST}: the apply the node left halfway: {err}");
    assert!(err.contains("502"), "{err}");
    let made = ours(node.detectors().await, &detector_names);
    assert!((1..6).contains(&made), "halfway: {made} of the 6 detectors made");
    proxy.faults.lock().unwrap().down_after = None;
    let report = run(&proxy.url, &spec).await.unwrap();
    eprintln!("{TEST}: the apply after the node came back:\n{}", report.render(false));
    assert_eq!(ours(node.detectors().await, &detector_names), 6);
    assert_eq!(ours(node.monitors().await, &monitor_names), 12);
    let again = run(&proxy.url, &spec).await.unwrap();
    assert_eq!(again.writes, 0, "{:#?}", again.outcomes);
    clean().await;
}
