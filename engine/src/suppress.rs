//! AD's suppression rules: an anomaly whose deviation from the expected value is within every rule
//! on its features is not reported (with no rules configured, AD ignores deviations within 20%).

use wafwatch_config::detection::{Suppression, ThresholdType};

/// Whether an anomaly survives the suppression rules: some feature deviates from its expected
/// value beyond every rule on that feature.
pub fn survives(rules: &[Suppression], actual: &[f64], expected: &[f64]) -> bool {
    (0..actual.len().min(expected.len())).any(|k| {
        let (a, e) = (actual[k], expected[k]);
        if a == e {
            return false;
        }
        let above = a > e;
        let margin = (a - e).abs();
        let ratio = if e == 0.0 { f64::INFINITY } else { margin / e.abs() };
        !rules.iter().filter(|r| r.feature == k).any(|r| match (r.kind, r.value) {
            (ThresholdType::ActualOverExpectedMargin, Some(v)) => above && margin <= v,
            (ThresholdType::ExpectedOverActualMargin, Some(v)) => !above && margin <= v,
            (ThresholdType::ActualOverExpectedRatio, Some(v)) => above && ratio <= v,
            (ThresholdType::ExpectedOverActualRatio, Some(v)) => !above && ratio <= v,
            (ThresholdType::ActualIsOverExpected, _) => above,
            (ThresholdType::ActualIsBelowExpected, _) => !above,
            _ => false,
        })
    })
}
