//! `tune --report FILE`: the detection limits as a self-contained HTML page, one row per scenario
//! charting each intensity tried (on a log scale from 0.001 to 1) as detected or missed, with the
//! limit marked, and the thresholds table beneath. Inline SVG and CSS only.

use std::fmt::Write;

use super::limit::{Limit, MIN_INTENSITY};

const W: f64 = 900.0;
const ROW: f64 = 34.0;
const LEFT: f64 = 170.0;

/// The x of `intensity` on the chart's log scale.
fn x(intensity: f64) -> f64 {
    let span = -MIN_INTENSITY.log10();
    LEFT + (intensity.max(MIN_INTENSITY).log10() + span) / span * (W - LEFT - 20.0)
}

/// The chart of detection against intensity.
fn chart(out: &mut String, limits: &[Limit]) {
    let h = ROW * limits.len() as f64 + 30.0;
    let _ = write!(out, r#"<svg viewBox="0 0 {W} {h}" width="100%" role="img">"#);
    for (tick, label) in [(0.001, "0.001"), (0.01, "0.01"), (0.1, "0.1"), (1.0, "1")] {
        let _ = write!(
            out,
            r#"<line class="tick" x1="{0:.1}" x2="{0:.1}" y1="0" y2="{1:.1}"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{label}</text>"#,
            x(tick),
            h - 24.0,
            h - 8.0
        );
    }
    for (row, l) in limits.iter().enumerate() {
        let y = ROW * row as f64 + ROW / 2.0;
        let _ = write!(out, r#"<text x="0" y="{:.1}">{}</text>"#, y + 4.0, l.scenario);
        if let Some(min) = l.min_intensity {
            let _ = write!(
                out,
                r#"<line class="limit" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}"><title>limit {min}</title></line>"#,
                x(min),
                y - 12.0,
                y + 12.0
            );
        }
        for t in &l.tried {
            let class = if t.detected { "hit" } else { "miss" };
            let word = if t.detected { "detected" } else { "missed" };
            let _ = write!(
                out,
                r#"<circle class="{class}" cx="{:.1}" cy="{y:.1}" r="5"><title>{} {word}</title></circle>"#,
                x(t.intensity),
                t.intensity
            );
        }
    }
    out.push_str("</svg>");
}

/// The page: the chart, then `table` (the text table, preformatted).
pub fn html(limits: &[Limit], table: &str) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>wafwatch tune</title><style>\
         body{font:14px sans-serif;margin:2em}svg text{font-size:12px}.tick{stroke:#ddd}\
         .limit{stroke:#333;stroke-width:2}.hit{fill:#2a7}.miss{fill:#d44}pre{font-size:12px}</style></head><body>\
         <h1>Detection against intensity</h1><p>Each dot is an intensity tried: green when every probe \
         detected the scenario within 3 intervals, red when one missed it; the bar is the limit.</p>",
    );
    chart(&mut out, limits);
    let escaped = table.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let _ = writeln!(out, "<pre>{escaped}</pre></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::limit::Tried;

    #[test]
    fn every_intensity_tried_is_a_dot_on_the_log_scale() {
        let tried = |i: f64, detected: bool| Tried { intensity: i, detected };
        let limits = [Limit {
            scenario: "scanner",
            min_intensity: Some(0.0316),
            detected_by: Some("m".into()),
            missed_at: Some(0.01),
            tried: vec![tried(1.0, true), tried(0.0316, true), tried(0.01, false)],
        }];
        let page = html(&limits, "a <table>");
        assert_eq!(page.matches("class=\"hit\"").count(), 2);
        assert_eq!(page.matches("class=\"miss\"").count(), 1);
        assert!(page.contains("a &lt;table&gt;") && !page.contains("<script"));
        assert!(
            (x(1.0) - (W - 20.0)).abs() < 1e-9
                && (x(0.001) - LEFT).abs() < 1e-9
                && (x(0.0316) - (LEFT + (W - LEFT - 20.0) / 2.0)).abs() < 0.1
        );
    }
}
