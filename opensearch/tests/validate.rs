//! The request builder's validation rules (contract §9): the default plan passes, and each rule,
//! broken on purpose, is caught with its number and a message that says what is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use serde_json::{Value, json};
use wafwatch_opensearch::bootstrap::validate::{Problem, auth, validate};
use wafwatch_opensearch::bootstrap::{Body, Request, plan};

fn requests() -> Vec<Request> {
    plan(&support::deployed_spec())
}

/// The body of the first request whose path contains `path` and whose body matches `pick`.
fn body_mut<'a>(rs: &'a mut [Request], path: &str, pick: impl Fn(&Value) -> bool) -> &'a mut Value {
    rs.iter_mut()
        .filter(|r| r.path.contains(path))
        .find_map(|r| match &mut r.body {
            Some(Body::Json(v)) if pick(v) => Some(v),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no request for {path}"))
}

fn detector(rs: &mut [Request]) -> &mut Value {
    body_mut(rs, "/_anomaly_detection/detectors", |v| v["name"] == "http-errors")
}

fn monitor<'a>(rs: &'a mut [Request], name: &str) -> &'a mut Value {
    body_mut(rs, "/_alerting/monitors", |v| v["name"] == name)
}

fn ad_monitor(rs: &mut [Request]) -> &mut Value {
    monitor(rs, "blocked-requests-anomaly")
}

fn action(rs: &mut [Request]) -> &mut Value {
    &mut monitor(rs, "server-errors")["triggers"][0]["query_level_trigger"]["actions"][0]
}

fn channel(rs: &mut [Request]) -> &mut Value {
    body_mut(rs, "/_notifications/configs", |_| true)
}

fn template(rs: &mut [Request]) -> &mut Value {
    body_mut(rs, "/_index_template/", |_| true)
}

fn policy(rs: &mut [Request]) -> &mut Value {
    body_mut(rs, "/_ism/policies/", |_| true)
}

fn ndjson(rs: &mut [Request]) -> &mut String {
    rs.iter_mut()
        .find_map(|r| match &mut r.body {
            Some(Body::Ndjson(t)) => Some(t),
            _ => None,
        })
        .unwrap()
}

/// Breaks the plan with `f` and returns the problems of rule `rule`.
fn broken(rule: u8, f: impl FnOnce(&mut Vec<Request>)) -> Vec<Problem> {
    let mut rs = requests();
    f(&mut rs);
    let problems = validate(&rs).expect_err("the broken plan must be refused");
    let mine: Vec<Problem> = problems.iter().filter(|p| p.rule == rule).cloned().collect();
    assert!(!mine.is_empty(), "no rule {rule} problem among {problems:?}");
    mine
}

fn says(rule: u8, needle: &str, f: impl FnOnce(&mut Vec<Request>)) {
    let p = broken(rule, f);
    assert!(p.iter().any(|p| p.message.contains(needle)), "rule {rule}: {needle:?} not in {p:?}");
    assert!(p[0].to_string().starts_with(&format!("rule {rule}: ")), "{}", p[0]);
}

#[test]
fn the_default_and_preset_plans_pass() {
    validate(&requests()).unwrap();
    let preset = support::spec_with(
        wafwatch_config::file::AWS_WAF_PRESET_TOML,
        wafwatch_config::channel::Resolve::Live,
        &support::deployed_env,
        Default::default(),
    );
    validate(&plan(&preset)).unwrap();
}

#[test]
fn rule_01_detector_name() {
    says(1, "must be 1 to 64 of letters, digits", |rs| detector(rs)["name"] = json!("http errors"));
    says(1, "must be 1 to 64", |rs| detector(rs)["name"] = json!("x".repeat(65)));
}

#[test]
fn rule_02_description_length() {
    says(2, "over 1,000 characters", |rs| detector(rs)["description"] = json!("d".repeat(1001)));
}

#[test]
fn rule_03_time_field_is_a_mapped_date() {
    says(3, "must be mapped as date", |rs| detector(rs)["time_field"] = json!("timestamp"));
}

#[test]
fn rule_04_indices() {
    says(4, "indices must not be empty", |rs| detector(rs)["indices"] = json!([]));
}

#[test]
fn rule_05_features() {
    says(5, "1 to 5 are allowed", |rs| {
        let d = detector(rs);
        let f = d["feature_attributes"][0].clone();
        d["feature_attributes"] = json!([f.clone(), f.clone(), f.clone(), f.clone(), f.clone(), f]);
    });
    says(5, "feature_enabled must always be sent", |rs| {
        detector(rs)["feature_attributes"][0].as_object_mut().unwrap().remove("feature_enabled");
    });
    says(5, "is blank or repeated", |rs| detector(rs)["feature_attributes"][1]["feature_name"] = json!("bad_status"));
    says(5, "exactly one aggregation", |rs| {
        detector(rs)["feature_attributes"][0]["aggregation_query"]["second"] = json!({"sum": {"field": "B_action"}});
    });
    says(5, "aggregation percentiles is not a single-value metric", |rs| {
        detector(rs)["feature_attributes"][0]["aggregation_query"] =
            json!({"bad_status": {"percentiles": {"field": "B_httpstatus"}}});
    });
    says(5, "avg needs a numeric field", |rs| {
        detector(rs)["feature_attributes"][0]["aggregation_query"] =
            json!({"bad_status": {"avg": {"field": "country"}}});
    });
    says(5, "aggregation name \"bad status\" must be letters", |rs| {
        detector(rs)["feature_attributes"][0]["aggregation_query"] =
            json!({"bad status": {"avg": {"field": "B_httpstatus"}}});
    });
    says(5, "at least one feature must be enabled", |rs| {
        for f in detector(rs)["feature_attributes"].as_array_mut().unwrap() {
            f["feature_enabled"] = json!(false);
        }
    });
}

#[test]
fn rule_06_intervals() {
    says(6, "detection_interval must be", |rs| detector(rs)["detection_interval"]["period"]["unit"] = json!("Hours"));
    says(6, "detection_interval must be", |rs| detector(rs)["detection_interval"]["period"]["interval"] = json!(0));
    says(6, "window_delay must be", |rs| detector(rs)["window_delay"]["period"]["interval"] = json!(-1));
}

#[test]
fn rule_07_shingle_and_model_settings() {
    says(7, "shingle_size 200 is not 1 to 128", |rs| detector(rs)["shingle_size"] = json!(200));
    says(7, "suggested_seasonality 1 is not 2 to 256", |rs| detector(rs)["suggested_seasonality"] = json!(1));
    says(7, "recency_emphasis must be greater than 1", |rs| detector(rs)["recency_emphasis"] = json!(1));
}

#[test]
fn rule_08_category_fields() {
    says(8, "at most 2", |rs| detector(rs)["category_field"] = json!(["clientIp", "country", "uri"]));
    says(8, "must be mapped as keyword or ip, not Some(\"byte\")", |rs| {
        detector(rs)["category_field"] = json!(["B_action"])
    });
}

#[test]
fn rule_09_result_index() {
    says(9, "must start opensearch-ad-plugin-result-", |rs| detector(rs)["result_index"] = json!("my-results"));
}

#[test]
fn rule_10_suppression_rules() {
    let cond = |c: Value| {
        move |rs: &mut Vec<Request>| detector(rs)["rules"] = json!([{"action": "ignore_anomaly", "conditions": [c]}])
    };
    says(
        10,
        "which is not an enabled feature",
        cond(
            json!({"feature_name": "nope", "threshold_type": "actual_over_expected_ratio", "operator": "LTE", "value": 0.2}),
        ),
    );
    says(
        10,
        "needs a value greater than 0",
        cond(
            json!({"feature_name": "blocked", "threshold_type": "actual_over_expected_ratio", "operator": "LTE", "value": 0}),
        ),
    );
    says(
        10,
        "the only operator is LTE",
        cond(
            json!({"feature_name": "blocked", "threshold_type": "actual_over_expected_margin", "operator": "GT", "value": 1}),
        ),
    );
    says(
        10,
        "takes no operator and no value",
        cond(
            json!({"feature_name": "blocked", "threshold_type": "actual_is_over_expected", "operator": "LTE", "value": 1}),
        ),
    );
    says(
        10,
        "threshold_type \"sideways\" is unknown",
        cond(json!({"feature_name": "blocked", "threshold_type": "sideways"})),
    );
    says(10, "a rule's action is ignore_anomaly", |rs| {
        detector(rs)["rules"] = json!([{"action": "alert", "conditions": []}])
    });
}

#[test]
fn rule_11_imputation() {
    says(11, "is not zero, fixed_values or previous", |rs| {
        detector(rs)["imputation_option"] = json!({"method": "linear"})
    });
    says(11, "one default_fill per enabled feature", |rs| {
        detector(rs)["imputation_option"] =
            json!({"method": "fixed_values", "default_fill": [{"feature_name": "blocked", "data": 0}]});
    });
}

#[test]
fn rule_12_server_owned_keys() {
    says(12, "last_update_time is owned by the server", |rs| detector(rs)["last_update_time"] = json!(1));
}

#[test]
fn rule_13_monitor_shape() {
    says(13, "is not one of the five types", |rs| {
        monitor(rs, "server-errors")["monitor_type"] = json!("threshold_monitor")
    });
    says(13, "a monitor has exactly 1", |rs| {
        let m = monitor(rs, "server-errors");
        let i = m["inputs"][0].clone();
        m["inputs"] = json!([i.clone(), i]);
    });
    says(13, "exactly one of period or cron", |rs| {
        monitor(rs, "server-errors")["schedule"]["cron"] = json!({"expression": "* * * * *", "timezone": "UTC"})
    });
    says(13, "interval > 0 and unit", |rs| monitor(rs, "server-errors")["schedule"]["period"]["unit"] = json!("WEEKS"));
    says(13, "needs name, severity and condition", |rs| {
        monitor(rs, "server-errors")["triggers"][0]["query_level_trigger"].as_object_mut().unwrap().remove("severity");
    });
    says(13, "only painless is accepted", |rs| {
        monitor(rs, "server-errors")["triggers"][0]["query_level_trigger"]["condition"]["script"]["lang"] =
            json!("groovy")
    });
    says(13, "at most 10", |rs| {
        let m = monitor(rs, "server-errors");
        let t = m["triggers"][0].clone();
        m["triggers"] = Value::Array(
            (0..11)
                .map(|i| {
                    let mut t = t.clone();
                    t["query_level_trigger"]["name"] = json!(format!("t{i}"));
                    t
                })
                .collect(),
        );
    });
    says(13, "takes bucket_level_triggers", |rs| {
        let m = monitor(rs, "failed-logins-per-ip");
        let inner = m["triggers"][0]["bucket_level_trigger"].clone();
        m["triggers"] = json!([{"query_level_trigger": inner}]);
    });
    says(13, "name must be 1 to 100 characters", |rs| monitor(rs, "server-errors")["name"] = json!("m".repeat(101)));
}

#[test]
fn rule_14_ad_monitor_shape() {
    says(14, "must be exactly [\".opendistro-anomaly-results*\"]", |rs| {
        ad_monitor(rs)["inputs"][0]["search"]["indices"] = json!([".opendistro-anomaly-results*", "waf-logs-*"]);
    });
    says(14, "bool.filter[1] must be the term on detector_id", |rs| {
        ad_monitor(rs)["inputs"][0]["search"]["query"]["query"]["bool"]["filter"].as_array_mut().unwrap().swap(0, 1);
    });
    says(14, "must exclude historical results", |rs| {
        ad_monitor(rs)["inputs"][0]["search"]["query"]["query"]["bool"]["must_not"] = json!([]);
    });
    says(14, "aggregations.max_anomaly_grade is missing", |rs| {
        ad_monitor(rs)["inputs"][0]["search"]["query"]["aggregations"] = json!({});
    });
    says(14, "searchType must be \"ad\"", |rs| ad_monitor(rs)["ui_metadata"]["search"]["searchType"] = json!("query"));
    says(14, "anomalyGrade threshold must lie in [0, 1]", |rs| {
        ad_monitor(rs)["ui_metadata"]["triggers"]["blocked-requests-anomaly"]["adTriggerMetadata"]["anomalyGrade"]["value"] =
            json!(7);
    });
}

#[test]
fn rule_15_actions() {
    says(15, "action key severity is not allowed", |rs| action(rs)["severity"] = json!("1"));
    says(15, "throttle must be", |rs| action(rs)["throttle"] = json!({"value": 2000, "unit": "MINUTES"}));
    says(15, "throttle must be", |rs| action(rs)["throttle"]["unit"] = json!("HOURS"));
    says(15, "message_template.lang must be mustache", |rs| action(rs)["message_template"]["lang"] = json!("painless"));
    says(15, "is not a channel created earlier in this run", |rs| action(rs)["destination_id"] = json!("pager"));
    says(15, "an action needs destination_id", |rs| {
        action(rs).as_object_mut().unwrap().remove("destination_id");
    });
}

#[test]
fn rule_16_channels() {
    says(16, "may hold only letters, digits", |rs| channel(rs)["config_id"] = json!("security team"));
    says(16, "top-level key name is ignored", |rs| channel(rs)["name"] = json!("x"));
    says(16, "config.name must be non-empty", |rs| channel(rs)["config"]["name"] = json!(""));
    says(16, "config_type \"pager\" is not a channel type", |rs| channel(rs)["config"]["config_type"] = json!("pager"));
    says(16, "payload object must be keyed by the config_type slack", |rs| {
        channel(rs)["config"]["config_type"] = json!("slack")
    });
    says(16, "is not an SNS topic ARN", |rs| {
        channel(rs)["config"]["sns"]["topic_arn"] = json!("arn:aws:sqs:us-east-1:111122223333:q")
    });
    says(16, "is not an IAM role ARN", |rs| channel(rs)["config"]["sns"]["role_arn"] = json!("role/x"));
    says(16, "webhook.url is not an http or https URL", |rs| {
        channel(rs)["config"] = json!({"name": "h", "config_type": "webhook", "webhook": {"url": "ftp://x"}});
    });
    says(16, "webhook.method GET is not POST", |rs| {
        channel(rs)["config"] =
            json!({"name": "h", "config_type": "webhook", "webhook": {"url": "https://x", "method": "GET"}});
    });
    says(16, "recipients are objects", |rs| {
        channel(rs)["config"] = json!({"name": "m", "config_type": "email", "email": {"email_account_id": "a", "recipient_list": ["a@b.c"]}});
    });
}

#[test]
fn rule_17_index_template() {
    says(17, "index_patterns is empty", |rs| template(rs)["index_patterns"] = json!([]));
    says(17, "mappings must be typeless", |rs| {
        let t = template(rs);
        let props = t["template"]["mappings"].clone();
        t["template"]["mappings"] = json!({"_doc": props});
    });
    says(17, "whose patterns overlap", |rs| {
        let mut second = rs[0].clone();
        second.path = "/_index_template/other".into();
        rs.insert(1, second);
    });
}

#[test]
fn rule_18_ism_policy() {
    says(18, "default_state Some(\"warm\") names no state", |rs| policy(rs)["policy"]["default_state"] = json!("warm"));
    says(18, "transition to \"cold\", which is not a state", |rs| {
        policy(rs)["policy"]["states"][0]["transitions"][0]["state_name"] = json!("cold")
    });
    says(18, "at most one condition", |rs| {
        policy(rs)["policy"]["states"][0]["transitions"][0]["conditions"]["min_doc_count"] = json!(5)
    });
    says(18, "nothing may follow a delete action", |rs| {
        policy(rs)["policy"]["states"][1]["actions"] = json!([{"delete": {}}, {"read_only": {}}]);
    });
    says(18, "can have no transitions", |rs| {
        policy(rs)["policy"]["states"][1]["transitions"] = json!([{"state_name": "hot"}]);
    });
    says(18, "rollover min_size must be greater than 0", |rs| {
        policy(rs)["policy"]["states"][0]["actions"][0]["rollover"]["min_size"] = json!("0gb")
    });
    says(18, "state names must be unique", |rs| policy(rs)["policy"]["states"][1]["name"] = json!("hot"));
    says(18, "ism_template needs index_patterns", |rs| {
        policy(rs)["policy"]["ism_template"][0]["index_patterns"] = json!([])
    });
    says(18, "must be named waf-logs-000001", |rs| {
        let first = rs.iter_mut().find(|r| r.path == "/waf-logs-000001").unwrap();
        first.path = "/waf-logs-1".into();
    });
}

#[test]
fn rule_19_saved_objects() {
    says(19, "line 1 is not a JSON object", |rs| ndjson(rs).insert_str(0, "not json\n"));
    says(19, "a saved object needs attributes", |rs| ndjson(rs).push_str("{\"type\":\"dashboard\",\"id\":\"x\"}\n"));
    says(19, "which is not in the file", |rs| {
        let t = ndjson(rs);
        *t = t.lines().filter(|l| !l.contains("\"type\":\"index-pattern\"")).map(|l| format!("{l}\n")).collect();
    });
    says(19, "cannot be used together", |rs| {
        let r = rs.iter_mut().find(|r| r.path.contains("_import")).unwrap();
        r.path.push_str("&createNewCopies=true");
    });
    says(19, "at most 26214400", |rs| ndjson(rs).push_str(&" ".repeat(26_214_400)));
}

#[test]
fn rule_20_sigv4() {
    assert!(auth("es", Some("eu-west-1")).is_ok() && auth("aoss", Some("us-east-1")).is_ok());
    let p = auth("s3", Some("eu-west-1")).unwrap_err();
    assert_eq!((p.rule, p.message.as_str()), (20, "SigV4 service s3 is neither es nor aoss"));
    assert_eq!(auth("es", None).unwrap_err().message, "SigV4 needs a region (AWS_REGION or --region)");
}
