//! The self-contained HTML report of `wafwatch run`: one chart per detector (feature values over
//! time, anomaly grades beneath, scenario windows shaded, alerts marked) and the scoring table.
//! Inline SVG and CSS only: it opens with no network.

use std::fmt::Write;

use wafwatch_config::detection::Detection;
use wafwatch_engine::{AdResult, Alert};
use wafwatch_log_simulator::sim::Label;

use super::summary::Summary;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const W: f64 = 1100.0;
const H: f64 = 180.0;
const GRADE_H: f64 = 50.0;

fn chart(out: &mut String, results: &[AdResult], labels: &[Label], alerts: &[&Alert], t0: i64, t1: i64) {
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| (t - t0) as f64 / span * W;
    let max = results.iter().flat_map(|r| r.feature_data.iter().map(|f| f.data)).fold(0.0f64, f64::max).max(1e-9);
    let total = H + GRADE_H + 20.0;
    let _ = write!(out, r#"<svg viewBox="0 0 {W} {total}" width="100%" role="img">"#);
    for l in labels {
        let (s, e) = (parse(&l.start), parse(&l.end));
        let _ = write!(
            out,
            r#"<rect class="scenario" x="{:.1}" y="0" width="{:.1}" height="{total}"><title>{}</title></rect>"#,
            x(s),
            (x(e) - x(s)).max(2.0),
            esc(l.scenario)
        );
    }
    let features = results.first().map_or(0, |r| r.feature_data.len());
    for k in 0..features {
        let mut pts = String::new();
        for r in results {
            let v = r.feature_data.get(k).map_or(0.0, |f| f.data);
            let _ = write!(pts, "{:.1},{:.1} ", x(r.data_start_time), H - v / max * (H - 10.0));
        }
        let _ = write!(out, r#"<polyline class="feature f{k}" points="{pts}"/>"#);
    }
    for r in results.iter().filter(|r| r.anomaly_grade > 0.0) {
        let h = r.anomaly_grade * GRADE_H;
        let _ = write!(
            out,
            r#"<rect class="grade" x="{:.1}" y="{:.1}" width="2" height="{h:.1}"><title>grade {:.2}</title></rect>"#,
            x(r.data_start_time),
            H + 10.0 + GRADE_H - h,
            r.anomaly_grade
        );
    }
    for a in alerts {
        let _ = write!(
            out,
            r#"<circle class="alert" cx="{:.1}" cy="8" r="5"><title>{} at {}</title></circle>"#,
            x(a.data_start_time),
            esc(&a.monitor_name),
            rfc(a.data_start_time)
        );
    }
    let _ = write!(
        out,
        r#"<text x="4" y="{:.1}" class="axis">max {max:.4}</text><text x="4" y="{:.1}" class="axis">grade</text></svg>"#,
        20.0,
        H + 22.0
    );
}

/// Adds a result to a detector's chart series. Results of a per-entity detector for the same
/// interval are merged into one point (the highest value of each feature, the highest grade), so
/// the series holds one point per interval whatever the number of entities.
pub fn push_series(series: &mut Vec<AdResult>, mut r: AdResult) {
    if let Some(last) = series.last_mut()
        && last.data_start_time == r.data_start_time
    {
        for (a, b) in last.feature_data.iter_mut().zip(&r.feature_data) {
            a.data = a.data.max(b.data);
        }
        last.anomaly_grade = last.anomaly_grade.max(r.anomaly_grade);
        return;
    }
    r.entity = None;
    r.relevant_attribution.clear();
    r.expected_values.clear();
    series.push(r);
}

fn parse(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).map(|d| d.timestamp_millis()).unwrap_or(0)
}

fn rfc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

/// Renders the report.
pub fn html(
    summary: &Summary,
    labels: &[Label],
    series: &[Vec<AdResult>],
    alerts: &[Alert],
    detection: &Detection,
    seed: u64,
    span: (i64, i64),
) -> String {
    let mut out = String::with_capacity(1 << 20);
    header(&mut out, summary, alerts.len(), seed, span);
    scenarios(&mut out, summary);
    detectors(&mut out, detection, series, labels, alerts, span);
    alert_table(&mut out, alerts);
    out.push_str("</table></body></html>\n");
    out
}

/// The page's head, style and the run's one-line summary.
fn header(out: &mut String, summary: &Summary, alerts: usize, seed: u64, (t0, t1): (i64, i64)) {
    out.push_str(r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wafwatch run report</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.ok{color:#17622b}.miss{color:#b00020;font-weight:bold}svg{background:#fafafa;border:1px solid #ddd}
.scenario{fill:#ffb74d;opacity:.35}.feature{fill:none;stroke-width:1.2}.f0{stroke:#1565c0}.f1{stroke:#6a1b9a}.f2{stroke:#00838f}
.f3{stroke:#558b2f}.f4{stroke:#4e342e}.grade{fill:#d32f2f}.alert{fill:#d32f2f;stroke:#fff}.axis{font-size:11px;fill:#666}
</style></head><body>"#);
    let _ = write!(
        out,
        "<h1>wafwatch run</h1><p>{} records from {} to {}, seed {}, {:.1} s; {} lines skipped. False alerts: {}. {} alerts in all.</p>",
        summary.records,
        rfc(t0),
        rfc(t1),
        seed,
        summary.elapsed_s,
        summary.bad_records,
        summary
            .false_alerts_per_day
            .map_or("not scored (no ground truth)".to_owned(), |f| format!("{f:.2} per simulated day")),
        alerts
    );
}

/// The scoring table.
fn scenarios(out: &mut String, summary: &Summary) {
    out.push_str("<h2>Scenarios</h2><table><tr><th>scenario</th><th>start</th><th>end</th><th>detected</th><th>intervals to detect</th><th>detected by</th></tr>");
    for s in &summary.scenarios {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.start),
            esc(&s.end),
            if s.detected { "ok" } else { "miss" },
            if s.detected { "yes" } else { "missed" },
            s.intervals_to_detect.map_or("-".into(), |n| n.to_string()),
            esc(s.detected_by.as_deref().unwrap_or("-"))
        );
    }
    out.push_str("</table>");
}

/// One section per detector: what it watches, and its chart.
fn detectors(
    out: &mut String,
    detection: &Detection,
    series: &[Vec<AdResult>],
    labels: &[Label],
    alerts: &[Alert],
    (t0, t1): (i64, i64),
) {
    for (d, results) in detection.detectors.iter().zip(series) {
        let mine: Vec<&Alert> = alerts.iter().filter(|a| a.detector_name == d.name).collect();
        let features: Vec<String> =
            d.features.iter().map(|f| format!("{} ({})", f.name, f.aggregation.as_str())).collect();
        let per_entity = if d.category_fields.is_empty() {
            ""
        } else {
            " Per entity: each interval shows the highest value and grade across its entities."
        };
        let _ = write!(
            out,
            "<h2 class=\"detector\">{}</h2><p>{} every {}, shingle {}; {} alerts. Shaded: scenario windows; red bars: anomaly grade; dots: alerts.{per_entity}</p>",
            esc(&d.name),
            esc(&features.join(", ")),
            humantime::format_duration(d.interval),
            d.shingle_size,
            mine.len()
        );
        chart(out, results, labels, &mine, t0, t1);
    }
}

/// Every alert, one row each.
fn alert_table(out: &mut String, alerts: &[Alert]) {
    out.push_str("<h2>Alerts</h2><table><tr><th>monitor</th><th>entity</th><th>interval</th><th>grade</th><th>confidence</th><th>features</th></tr>");
    for a in alerts {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>",
            esc(&a.monitor_name),
            esc(&a
                .entity
                .as_ref()
                .map(|e| e.iter().map(|v| format!("{}={}", v.name, v.value)).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()),
            rfc(a.data_start_time),
            a.anomaly_grade,
            a.confidence,
            esc(&a
                .feature_data
                .iter()
                .map(|f| format!("{}={:.4}", f.feature_name, f.data))
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
}
