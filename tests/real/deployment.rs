//! A whole deployment on a node with the plugins: apply on an empty index (the detectors waiting
//! for data), a backfill with forced scenarios, `--wait-for-data`, `--historical` finding the
//! scenario, the monitors delivering their rendered messages to a webhook inbox, `status`, a
//! second apply writing nothing, a change updating exactly what changed, and `destroy` leaving a
//! foreign detector and the documents.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};
use wafwatch_opensearch::bootstrap::Spec;
use wafwatch_opensearch::bootstrap::apply::{Action, ApplyOptions, Report, apply, destroy};

use crate::real::inbox::Inbox;
use crate::real::{self, ALL_PLUGINS, Node, backfill, eventually, forget_indices, wafwatch};

const TEST: &str = "a_whole_deployment_runs_on_a_node_with_the_plugins";
const ALIAS: &str = "rt-logs";

async fn run(node: &Node, spec: &Spec, opts: ApplyOptions) -> Report {
    let opts = ApplyOptions { skip_dashboards: true, poll: Duration::from_secs(2), ..opts };
    apply(&real::clients(&node.url), &node.url, spec, &opts).await.unwrap_or_else(|e| panic!("apply: {e}"))
}

fn actions(report: &Report, kind: &str) -> BTreeMap<String, Action> {
    report.outcomes.iter().filter(|o| o.kind == kind).map(|o| (o.name.clone(), o.action.clone())).collect()
}

/// The cluster's own record of each object wafwatch manages: versions, sequence numbers, update
/// times. Equal before and after an apply: nothing was written.
async fn versions(node: &Node, spec: &Spec) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (name, id) in node.detectors().await {
        let d = node.get(&format!("/_plugins/_anomaly_detection/detectors/{id}?job=true")).await;
        let v = json!([
            d["_version"],
            d["_seq_no"],
            d["anomaly_detector"]["last_update_time"],
            d["anomaly_detector_job"]["enabled"]
        ]);
        out.insert(format!("detector {name}"), v);
    }
    for (name, id) in node.monitors().await {
        let m = node.get_monitor(&id).await;
        out.insert(format!("monitor {name}"), json!([m["_version"], m["_seq_no"], m["monitor"]["triggers"]]));
    }
    for c in &spec.channels {
        let r = node.get(&format!("/_plugins/_notifications/configs/{}", c.id)).await;
        out.insert(format!("channel {}", c.id), r["config_list"][0]["last_updated_time_ms"].clone());
    }
    let p = node.get(&format!("/_plugins/_ism/policies/wafwatch-{ALIAS}")).await;
    out.insert("policy".into(), json!([p["_seq_no"], p["_primary_term"]]));
    out.insert("template".into(), node.get(&format!("/_index_template/wafwatch-{ALIAS}")).await);
    out
}

/// Leftovers of an earlier run: wafwatch's objects (by destroy), the indices, a foreign detector.
async fn clean(node: &Node, spec: &Spec) {
    destroy(&real::clients(&node.url), &node.url, spec, true).await.unwrap();
    if let Some(id) = node.detectors().await.get("rt-foreign") {
        node.delete(&format!("/_plugins/_anomaly_detection/detectors/{id}")).await;
    }
    forget_indices(node, ALIAS).await;
}

#[tokio::test]
async fn a_whole_deployment_runs_on_a_node_with_the_plugins() {
    let Some(node) = real::node(TEST).await else { return };
    if node.lacks(TEST, &ALL_PLUGINS) {
        return;
    }
    let _turn = real::NODE_LOCK.lock().await;
    let inbox = Inbox::start().await;
    let text = real::config_text(ALIAS);
    let spec = real::spec(&text, &format!("{}/hook", inbox.url));
    clean(&node, &spec).await;

    // 1. An empty cluster: everything but the detectors, which wait for documents.
    let report = run(&node, &spec, ApplyOptions::default()).await;
    assert!(actions(&report, "detector").values().all(|a| *a == Action::Waiting), "{:#?}", report.outcomes);
    assert_eq!(
        actions(&report, "monitor").values().filter(|a| **a == Action::Created).count(),
        6,
        "the count and new-value monitors"
    );
    assert_eq!(actions(&report, "channel").len(), 2);

    // 2. Three hours of traffic up to now, with a storm of blocked requests at 2h.
    let end = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let start = end - TimeDelta::hours(3);
    let (storm_from, storm_to) = (start + TimeDelta::hours(2), start + TimeDelta::minutes(130));
    backfill(&node, ALIAS, end, "3h", "5", &["block-storm@2h+10m"]);
    assert!(node.count(ALIAS).await > 50_000);

    // 3. --wait-for-data: the detectors are created and started, their monitors follow.
    let report =
        run(&node, &spec, ApplyOptions { wait_for_data: Some(Duration::from_secs(60)), ..Default::default() }).await;
    assert!(actions(&report, "detector").values().all(|a| *a == Action::Created), "{:#?}", report.outcomes);
    assert_eq!(
        actions(&report, "monitor").values().filter(|a| **a == Action::Created).count(),
        6,
        "the anomaly monitors"
    );

    // 4. --historical over the backfill: every detector, one at a time; the storm is found.
    let range = (start.timestamp_millis(), end.timestamp_millis());
    let report = run(&node, &spec, ApplyOptions { historical: Some(range), ..Default::default() }).await;
    assert_eq!(
        actions(&report, "historical").values().filter(|a| **a == Action::Started).count(),
        6,
        "{:#?}",
        report.outcomes
    );
    assert_eq!(report.writes, 6, "only the six starts: {:#?}", report.outcomes);
    historical_finds_the_storm(&node, storm_from.timestamp_millis(), storm_to.timestamp_millis()).await;
    anomaly_monitors_ignore_historical_results_and_render_a_real_one(&node).await;

    // 5. The count monitors fire on refused logins and deliver their rendered message.
    backfill(&node, ALIAS, Utc::now(), "5m", "5", &["credential-stuffing@0s+5m"]);
    node.count(ALIAS).await; // refreshed: a monitor's search does not wait for the next refresh
    monitors_deliver(&node, &inbox).await;

    // 6. status, through the CLI.
    status_shows_the_deployment(&node, &text);

    // 7. A second apply writes nothing, by the report and by the cluster's own versions.
    let before = versions(&node, &spec).await;
    let report = run(&node, &spec, ApplyOptions::default()).await;
    assert_eq!(report.writes, 0, "{:#?}", report.outcomes);
    assert_eq!(versions(&node, &spec).await, before);

    // 8. A change updates exactly what changed.
    a_change_updates_exactly_that(&node, &text, &inbox, before).await;

    // 9. destroy leaves a foreign detector and the documents.
    destroy_leaves_what_is_not_ours(&node, &spec).await;
    clean(&node, &spec).await;
}

/// The historical analyses finish, and the blocked-requests one grades an interval of the storm.
async fn historical_finds_the_storm(node: &Node, storm_from: i64, storm_to: i64) {
    let detectors = node.detectors().await;
    for (name, id) in &detectors {
        let path = format!("/_plugins/_anomaly_detection/detectors/{id}?task=true");
        let state = eventually(&format!("the historical analysis of {name}"), Duration::from_secs(300), || async {
            let s = node.get(&path).await["historical_analysis_task"]["state"].as_str().unwrap_or("").to_owned();
            (!matches!(s.as_str(), "CREATED" | "INIT" | "RUNNING" | "")).then_some(s)
        })
        .await;
        assert_eq!(state, "FINISHED", "{name}");
    }
    node.call("POST", "/.opendistro-anomaly-results*/_refresh", None).await;
    let q = json!({"size": 200, "sort": [{"data_start_time": "asc"}], "query": {"bool": {"filter": [
        {"term": {"detector_id": detectors["blocked-requests"]}}, {"exists": {"field": "task_id"}}, {"range": {"anomaly_grade": {"gt": 0}}},
    ]}}});
    let (_, r) = node.call("POST", "/_plugins/_anomaly_detection/detectors/results/_search", Some(&q)).await;
    let graded: Vec<(i64, f64, f64)> = r["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["_source"]["data_start_time"].as_i64().unwrap(),
                h["_source"]["anomaly_grade"].as_f64().unwrap(),
                h["_source"]["confidence"].as_f64().unwrap(),
            )
        })
        .collect();
    eprintln!(
        "{TEST}: blocked-requests historical anomalies (start ms, grade, confidence), storm {storm_from}..{storm_to}: {graded:?}"
    );
    let margin = 2 * 60_000;
    assert!(
        graded.iter().any(|(t, _, _)| (storm_from - margin..storm_to + margin).contains(t)),
        "no anomaly in the storm {storm_from}..{storm_to}: {graded:?}"
    );
}

/// Audit findings 3 and 7 on the real plugin: an anomaly monitor's search leaves the historical
/// results out, and its template, run over a real (historical) result, renders what, when and
/// the expected values.
async fn anomaly_monitors_ignore_historical_results_and_render_a_real_one(node: &Node) {
    let monitors = node.monitors().await;
    let id = &monitors["blocked-requests-anomaly"];
    let (_, ran) = node.call("POST", &format!("/_plugins/_alerting/monitors/{id}/_execute?dryrun=true"), None).await;
    let hits = ran.pointer("/input_results/results/0/hits/hits").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(
        hits.iter().all(|h| h["_source"].get("task_id").is_none()),
        "a historical result reached the monitor: {ran}"
    );

    let mut monitor = node.get_monitor(id).await["monitor"].clone();
    let detector =
        monitor.pointer("/inputs/0/search/query/query/bool/filter/1/term/detector_id/value").cloned().unwrap();
    monitor["inputs"][0]["search"]["query"]["query"] = json!({"bool": {"filter": [
        {"term": {"detector_id": {"value": detector}}}, {"exists": {"field": "task_id"}}, {"range": {"anomaly_grade": {"gt": 0}}},
    ]}});
    monitor["triggers"][0]["query_level_trigger"]["condition"]["script"]["source"] = json!("return true");
    let (status, ran) = node.call("POST", "/_plugins/_alerting/monitors/_execute?dryrun=true", Some(&monitor)).await;
    assert_eq!(status, 200, "{ran}");
    let message = ran["trigger_results"]
        .as_object()
        .and_then(|t| t.values().next())
        .and_then(|t| {
            t["action_results"].as_object()?.values().next()?.pointer("/output/message")?.as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no rendered message: {ran}"));
    eprintln!("{TEST}: the anomaly message over a real result:\n{message}");
    let when = message.lines().find(|l| l.starts_with("When: ")).unwrap();
    assert!(when.ends_with(".000Z, the interval found anomalous.") && when.contains(":00.000Z to "), "{when}");
    assert!(message.contains("What: blocked = ") && message.contains(" (expected "), "{message}");
    assert!(!message.contains("(expected )") && !message.contains("{{") && !message.contains("See:"), "{message}");
}

/// The count monitors run (`_execute`) and the webhook gets the rendered template, with the
/// channel's header; the bucket-level one once per client IP.
async fn monitors_deliver(node: &Node, inbox: &Inbox) {
    let monitors = node.monitors().await;
    for name in ["failed-logins", "failed-logins-per-ip"] {
        let (status, ran) =
            node.call("POST", &format!("/_plugins/_alerting/monitors/{}/_execute", monitors[name]), None).await;
        assert_eq!(status, 200, "{name}: {ran}");
        let fired =
            ran["trigger_results"].as_object().into_iter().flatten().any(|(_, t)| {
                t["triggered"] == true || t["agg_result_buckets"].as_object().is_some_and(|b| !b.is_empty())
            });
        assert!(fired, "{name} did not fire: {ran}");
    }
    let received = eventually("the webhook deliveries", Duration::from_secs(30), || async {
        let r = inbox.received();
        (r.iter().any(|d| d.body.starts_with("failed-logins: ")) && r.iter().any(|d| d.body.contains("New: clientIp ")))
            .then_some(r)
    })
    .await;
    let count = received.iter().find(|d| d.body.starts_with("failed-logins: ")).unwrap();
    eprintln!("{TEST}: the count monitor's message:\n{}", count.body);
    assert_eq!((count.path.as_str(), count.token.as_deref()), ("/hook", Some("real-node-token")));
    assert!(count.body.contains("documents tagged by rule failed-login, severity high"), "{}", count.body);
    assert!(count.body.contains("\nWhen: the 5 minutes up to 20"), "{}", count.body);
    assert!(!count.body.contains("{{") && !count.body.contains("See:"), "{}", count.body);
    let per_ip = received.iter().filter(|d| d.body.contains("New: clientIp ")).count();
    assert!(per_ip >= 1, "one delivery per client IP");
}

/// `wafwatch bootstrap status --format json`: the detectors' states, the latest analysis, the
/// active alerts the monitor runs left.
fn status_shows_the_deployment(node: &Node, text: &str) {
    let file = std::env::temp_dir().join(format!("wafwatch-real-{}.toml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let out = wafwatch(&[
        "--config",
        file.to_str().unwrap(),
        "bootstrap",
        "status",
        "--opensearch-url",
        &node.url,
        "--format",
        "json",
    ]);
    let lines: Value = serde_json::from_str(&out).unwrap();
    let line = |name: &str| lines.as_array().unwrap().iter().find(|l| l["name"] == name).cloned().unwrap();
    eprintln!("{TEST}: status: {}", serde_json::to_string_pretty(&lines).unwrap());
    let blocked = line("blocked-requests");
    assert!(["RUNNING", "INIT"].iter().any(|s| blocked["state"].as_str().unwrap().starts_with(s)), "{blocked}");
    assert!(
        blocked["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("historical analysis FINISHED")),
        "{blocked}"
    );
    assert!(line("failed-logins")["state"].as_str().unwrap().ends_with("active alert(s)"), "{}", line("failed-logins"));
}

/// A monitor's threshold, a running detector's feature, a channel's URL and the retention change:
/// exactly those are written (and the monitor keeps its trigger id).
async fn a_change_updates_exactly_that(node: &Node, text: &str, inbox: &Inbox, before: BTreeMap<String, Value>) {
    let changed = text
        .replace("threshold = 300", "threshold = 250")
        .replace("column = \"UNK_source\", aggregation = \"avg\"", "column = \"UNK_source\", aggregation = \"sum\"")
        .replace("retention = \"30d\"", "retention = \"14d\"");
    let spec = real::spec(&changed, &format!("{}/hook2", inbox.url));
    let report = run(node, &spec, ApplyOptions::default()).await;
    // The detector's monitor changes too: its message says what the detector aggregates.
    let updated: Vec<(&str, &str)> =
        report.outcomes.iter().filter(|o| o.action != Action::Unchanged).map(|o| (o.kind, o.name.as_str())).collect();
    assert_eq!(
        updated,
        [
            ("ISM policy", "wafwatch-rt-logs"),
            ("channel", "inbox"),
            ("detector", "unknown-source"),
            ("monitor", "unknown-source-anomaly"),
            ("monitor", "server-errors")
        ],
        "{:#?}",
        report.outcomes
    );
    let after = versions(node, &spec).await;
    let moved: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(
        moved,
        [
            "channel inbox",
            "detector unknown-source",
            "monitor server-errors",
            "monitor unknown-source-anomaly",
            "policy"
        ]
    );
    let trigger = |v: &Value| v[2][0]["query_level_trigger"]["id"].clone();
    assert_eq!(
        trigger(&before["monitor server-errors"]),
        trigger(&after["monitor server-errors"]),
        "the trigger id is kept"
    );
    let report = run(node, &spec, ApplyOptions::default()).await;
    assert_eq!(report.writes, 0, "{:#?}", report.outcomes);
}

/// destroy removes wafwatch's objects and takes the policy off the index; a detector someone else
/// made on the same index, and the documents, stay.
async fn destroy_leaves_what_is_not_ours(node: &Node, spec: &Spec) {
    let foreign = json!({"name": "rt-foreign", "description": "someone else's", "time_field": "@timestamp", "indices": [format!("{ALIAS}-*")],
        "feature_attributes": [{"feature_name": "blocked", "feature_enabled": true, "aggregation_query": {"blocked": {"sum": {"field": "B_action"}}}}],
        "detection_interval": {"period": {"interval": 5, "unit": "Minutes"}}});
    let (status, created) = node.call("POST", "/_plugins/_anomaly_detection/detectors", Some(&foreign)).await;
    assert_eq!(status, 201, "{created}");
    let docs = node.count(ALIAS).await;
    let report = destroy(&real::clients(&node.url), &node.url, spec, true).await.unwrap();
    eprintln!("{TEST}: destroy:\n{}", report.render(false));
    assert_eq!(node.detectors().await.keys().collect::<Vec<_>>(), ["rt-foreign"]);
    assert!(node.monitors().await.is_empty());
    assert_eq!(node.count(ALIAS).await, docs, "the documents stay");
    for path in [
        format!("/_plugins/_ism/policies/wafwatch-{ALIAS}"),
        format!("/_index_template/wafwatch-{ALIAS}"),
        "/_plugins/_notifications/configs/inbox".into(),
    ] {
        assert_eq!(node.call("GET", &path, None).await.0, 404, "{path}");
    }
    let explain = format!("/_plugins/_ism/explain/{ALIAS}-000001");
    eventually("the index let go by ISM", Duration::from_secs(60), || async {
        node.get(&explain).await[format!("{ALIAS}-000001")]["index.plugins.index_state_management.policy_id"]
            .is_null()
            .then_some(())
    })
    .await;
}
