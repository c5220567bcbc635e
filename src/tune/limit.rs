//! The detection limit: for one scenario, the lowest intensity detected within three intervals in
//! every probe (several offsets and seeds), found by bisection between the lowest intensity
//! tried and 1.

use serde::Serialize;

/// The lowest intensity bisection goes down to.
pub const MIN_INTENSITY: f64 = 0.001;

/// Intervals within which a scenario must be detected to count.
pub const WITHIN_INTERVALS: u64 = 3;

/// One scenario's limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limit {
    /// The scenario.
    pub scenario: &'static str,
    /// The lowest intensity detected in every probe; null when not even intensity 1 is.
    pub min_intensity: Option<f64>,
    /// The monitor that detected it first at that intensity.
    pub detected_by: Option<String>,
    /// The highest intensity tried that was missed in some probe (the bracket's other end).
    pub missed_at: Option<f64>,
    /// Every intensity tried, in order, and whether it was detected in every probe.
    pub tried: Vec<Tried>,
}

/// One intensity tried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tried {
    /// The intensity.
    pub intensity: f64,
    /// Whether every probe detected it in time.
    pub detected: bool,
}

/// Bisects, in `steps` halvings of the ratio (intensities span orders of magnitude, so the midpoint
/// is geometric), for the lowest intensity at which `detects` names a monitor. Checks intensity 1
/// first; each step brackets the limit more closely, to a ratio of `(1 / MIN_INTENSITY)^(1/2^steps)`.
pub fn bisect<E>(
    scenario: &'static str,
    steps: u32,
    mut detects: impl FnMut(f64) -> Result<Option<String>, E>,
) -> Result<Limit, E> {
    let mut tried = Vec::new();
    let mut run = |i: f64| -> Result<Option<String>, E> {
        let by = detects(i)?;
        tried.push(Tried { intensity: i, detected: by.is_some() });
        Ok(by)
    };
    let Some(mut by) = run(1.0)? else {
        return Ok(Limit { scenario, min_intensity: None, detected_by: None, missed_at: Some(1.0), tried });
    };
    let (mut lo, mut hi) = (MIN_INTENSITY, 1.0);
    let mut missed = None;
    for _ in 0..steps {
        // Tried as written, so that the intensity reported is exactly one that was tested.
        let mid = round((lo * hi).sqrt());
        match run(mid)? {
            Some(m) => {
                hi = mid;
                by = m;
            }
            None => {
                lo = mid;
                missed = Some(mid);
            }
        }
    }
    Ok(Limit { scenario, min_intensity: Some(hi), detected_by: Some(by), missed_at: missed, tried })
}

/// `x` to three significant digits, as a table and `--scenario NAMExINTENSITY` write it.
fn round(x: f64) -> f64 {
    let scale = 10f64.powi(2 - x.log10().floor() as i32);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_limit_is_found_within_one_step() {
        for (planted, steps) in [(0.137, 8), (0.03, 8), (0.0021, 6), (0.9, 4)] {
            let mut calls = 0;
            let limit = bisect::<()>("p", steps, |i| {
                calls += 1;
                Ok((i >= planted).then(|| "m".to_owned()))
            })
            .unwrap();
            let found = limit.min_intensity.unwrap();
            let step = (1.0 / MIN_INTENSITY).powf(1.0 / 2f64.powi(steps as i32));
            assert!(found >= planted && found <= planted * step * 1.01, "{planted}: {found} (step x{step})");
            assert_eq!(calls, steps + 1);
            assert_eq!(limit.tried.len(), calls as usize);
            assert!(limit.tried.iter().all(|t| t.detected == (t.intensity >= planted)));
            assert_eq!(limit.detected_by.as_deref(), Some("m"));
        }
        let never = bisect::<()>("p", 5, |_| Ok(None)).unwrap();
        assert_eq!((never.min_intensity, never.missed_at), (None, Some(1.0)));
    }
}
