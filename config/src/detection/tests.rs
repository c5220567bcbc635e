//! The detection sections' validation: what they derive, and every problem with its key.

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    detector: Vec<DetectorSection>,
    #[serde(default)]
    monitor: Vec<MonitorSection>,
}

fn field_type(p: &str) -> Option<FieldType> {
    match p {
        "/clientIp" => Some(FieldType::Ip),
        "/country" => Some(FieldType::Keyword),
        "/headers" => Some(FieldType::NotIndexed),
        _ => None,
    }
}

fn transform() -> Transform {
    let sections: crate::transform::TransformSections = toml::from_str(
        r#"
        [[encode]]
        field = "/action"
        columns = [ { name = "B_action", values = ["BLOCK"] }, { name = "K_action", otherwise = true } ]
        [[rule]]
        name = "failed-login"
        severity = "high"
        match = { field = "/httpStatus", values = ["401"] }
        "#,
    )
    .unwrap();
    sections.validate(crate::expand::Expansion::Literal).unwrap()
}

fn check(text: &str) -> Result<Detection, Vec<String>> {
    let s: Sections = toml::from_str(text).unwrap();
    let transform = transform();
    let ctx = Context { transform: &transform, channels: &["ops"], field_type: &field_type };
    validate(&s.detector, &s.monitor, &ctx).map_err(|e| e.problems.iter().map(ToString::to_string).collect())
}

#[test]
fn a_valid_pair_resolves_columns_and_durations() {
    let d = check(
        "[[detector]]\nname = \"blocked\"\nfeatures = [{ name = \"b\", column = \"B_action\", aggregation = \"avg\" }]\ninterval = \"5m\"\n[[monitor]]\nname = \"m\"\ndetector = \"blocked\"\nchannels = [\"ops\"]\n",
    )
    .unwrap();
    assert_eq!(
        d.detectors[0].features,
        vec![Feature {
            name: "b".into(),
            source: FeatureSource::Column { id: ColumnId::from_index(0), name: "B_action".into() },
            aggregation: Aggregation::Avg
        }]
    );
    assert_eq!(d.detectors[0].interval, Duration::from_secs(300));
    assert!(matches!(d.monitors[0].kind, MonitorKind::Anomaly { detector: 0, min_grade: 0.7, .. }));
    assert_eq!(d.monitors[0].throttle, Duration::from_secs(600));
    assert_eq!((d.monitors[0].channels.clone(), d.monitors[0].priority), (vec!["ops".to_owned()], 2));
    // AD's default suppression: both ratios at 20% per feature.
    assert_eq!(d.detectors[0].effective_suppression().len(), 2);
}

#[test]
fn entities_fields_and_groups_become_captures() {
    let d = check(
        "[[detector]]\nname = \"per-ip\"\ncategory_field = [\"/clientIp\"]\nfeatures = [{ name = \"b\", column = \"B_action\", aggregation = \"sum\" }, { name = \"countries\", field = \"/country\", aggregation = \"cardinality\" }]\n\
         [[monitor]]\nname = \"logins\"\nrule = \"failed-login\"\nthreshold = 10\ngroup_by = \"/clientIp\"\n\
         [[monitor]]\nname = \"crit\"\nseverity = \"critical\"\nthreshold = 1\n",
    )
    .unwrap();
    let captured: Vec<&str> = d.captures.iter().map(|c| c.pointer().as_str()).collect();
    assert_eq!(captured, ["/country", "/clientIp"], "each field read once, in order of first use");
    assert_eq!(d.detectors[0].category_fields, [1]);
    assert_eq!(
        d.detectors[0].features[1].source,
        FeatureSource::Field { capture: 0, field: Field::parse("/country").unwrap() }
    );
    assert!(matches!(d.monitors[0].kind, MonitorKind::Count { group_by: Some(1), threshold: 10, .. }));
    let MonitorKind::Count { filter, .. } = &d.monitors[1].kind else { panic!() };
    assert_eq!(filter, &DocFilter::Severity(Severity::Critical));
    assert!(
        filter.matches(&[], Some(Severity::Critical))
            && !filter.matches(&[RuleId::from_index(0)], Some(Severity::High))
    );
    assert_eq!(d.monitors[1].priority, 1);
}

#[test]
fn every_problem_names_its_key() {
    let p = check(
        "[[detector]]\nname = \"bad name!\"\nfeatures = [{ name = \"b\", column = \"nope\", aggregation = \"sum\" }, { name = \"c\", field = \"/headers\", aggregation = \"cardinality\" }, { name = \"d\", field = \"/country\", aggregation = \"avg\" }]\ninterval = \"90s\"\nshingle_size = 0\ncategory_field = [\"/uri\"]\nsuppress = [{ feature = \"zz\", type = \"actual_over_expected_ratio\" }, { feature = \"b\", type = \"actual_is_over_expected\", value = 1.0 }]\n[[monitor]]\nname = \"m\"\ndetector = \"other\"\nmin_grade = 1.5\nthreshold = 3\nchannels = [\"pager\"]\nthrottle = \"30s\"\n",
    )
    .unwrap_err();
    let joined = p.join("\n");
    for needle in [
        "`detector[0].name`",
        "`detector[0].features[0].column`: `nope` is not a column of the [[encode]] sections (they are: B_action, K_action)",
        "`detector[0].features[1].field`: `/headers` is mapped as NotIndexed; aggregate it needs a keyword or ip field",
        "`detector[0].features[2].aggregation`: `avg` needs a numeric `column`",
        "`detector[0].interval`: `90s` is not a positive whole number of minutes",
        "`detector[0].shingle_size`: expected 1 to 128, got 0",
        "`detector[0].category_field[0]`: `/uri` is not mapped: add it to [index] keyword or ip",
        "`detector[0].suppress[0].feature`: no feature named `zz`",
        "`detector[0].suppress[0].value`: `actual_over_expected_ratio` needs a `value` greater than 0",
        "`detector[0].suppress[1].value`: `actual_is_over_expected` takes no value",
        "`monitor[0].min_grade`: expected a number from 0 to 1, got 1.5",
        "`monitor[0].threshold`: applies to count monitors (rule or severity) and new-value monitors (new_values) only",
        "`monitor[0].channels[0]`: no [[channel]] with id `pager` (they are: ops)",
        "`monitor[0].throttle`: `30s` is not a whole number of minutes from 1m to 24h",
        "`monitor[0].detector`: no detector named `other`",
    ] {
        assert!(joined.contains(needle), "missing {needle} in\n{joined}");
    }
    let joined = check(
        "[[monitor]]\nname = \"a\"\nrule = \"nope\"\nthreshold = 3\n[[monitor]]\nname = \"b\"\nrule = \"failed-login\"\nmin_grade = 0.5\n[[monitor]]\nname = \"c\"\n[[monitor]]\nname = \"d\"\nrule = \"failed-login\"\nseverity = \"high\"\nthreshold = 1\n",
    )
    .unwrap_err()
    .join("\n");
    for needle in [
        "`monitor[0].rule`: no [[rule]] named `nope` (they are: failed-login)",
        "`monitor[1].threshold`: a count monitor needs `threshold`",
        "`monitor[1].min_grade`: applies to anomaly monitors (detector) only",
        "`monitor[2]`: a monitor watches a `detector`, a `rule`, a `severity` or `new_values`",
        "`monitor[3]`: a monitor watches a `detector`, a `rule`, a `severity` or `new_values`",
    ] {
        assert!(joined.contains(needle), "missing {needle} in\n{joined}");
    }
}

#[test]
fn a_new_value_monitor_resolves_its_field_and_durations() {
    let d = check(
        "[[monitor]]\nname = \"new-countries\"\nnew_values = \"/country\"\nthreshold = 20\nwindow = \"2m\"\nhistory = \"7d\"\n[[monitor]]\nname = \"d\"\nnew_values = \"/country\"\nthreshold = 1\n",
    )
    .unwrap();
    assert_eq!(d.captures, vec![Field::parse("/country").unwrap()]);
    assert_eq!(
        d.monitors[0].kind,
        MonitorKind::NewValues {
            field: 0,
            threshold: 20,
            window: Duration::from_secs(120),
            history: Duration::from_secs(7 * 86_400)
        }
    );
    assert_eq!(
        d.monitors[1].kind,
        MonitorKind::NewValues {
            field: 0,
            threshold: 1,
            window: Duration::from_secs(300),
            history: Duration::from_secs(86_400)
        },
        "5m and 1d when not given"
    );
    assert_eq!((d.monitors[0].priority, d.source_of(&d.monitors[0]).as_str()), (2, "new:country"));
}

#[test]
fn a_new_value_monitor_refuses_what_it_cannot_use() {
    let joined = check(
        "[[monitor]]\nname = \"a\"\nnew_values = \"/headers\"\nhistory = \"30m\"\ngroup_by = \"/clientIp\"\nmin_grade = 0.5\n[[monitor]]\nname = \"b\"\nnew_values = \"/uri\"\nthreshold = 0\nhistory = \"31d\"\n[[monitor]]\nname = \"c\"\nrule = \"failed-login\"\nthreshold = 3\nhistory = \"1d\"\n",
    )
    .unwrap_err()
    .join("\n");
    for needle in [
        "`monitor[0].new_values`: `/headers` is mapped as NotIndexed; tell its values apart needs a keyword or ip field",
        "`monitor[0].history`: expected more than 1h (the monitor learns for that long) and at most 30d",
        "`monitor[0].group_by`: applies to count monitors (rule or severity) only",
        "`monitor[0].min_grade`: applies to anomaly monitors (detector) only",
        "`monitor[0].threshold`: a new-value monitor needs `threshold`, a count of at least 1",
        "`monitor[1].new_values`: `/uri` is not mapped",
        "`monitor[1].threshold`: a new-value monitor needs `threshold`",
        "`monitor[1].history`: expected more than 1h",
        "`monitor[2].history`: applies to new-value monitors (new_values) only",
    ] {
        assert!(joined.contains(needle), "missing {needle} in\n{joined}");
    }
}
