//! Durations as the configuration writes them (`1m`, `10m`, `1h`), checked for what the plugins
//! accept.

use std::time::Duration;

/// A whole, positive (or, with `allow_zero`, zero) number of minutes: detector intervals, window
/// delays, monitor windows.
pub fn whole_minutes(text: &str, allow_zero: bool) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.as_secs() % 60 == 0 && d.subsec_nanos() == 0 && (allow_zero || !d.is_zero()) => Ok(d),
        _ => Err(format!(
            "`{text}` is not a {}whole number of minutes (write 1m, 10m, 1h)",
            if allow_zero { "" } else { "positive " }
        )),
    }
}

/// A monitor's throttle: whole minutes from 1m to 24h, the alerting plugin's limits.
pub fn throttle(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.as_secs() % 60 == 0 && d.subsec_nanos() == 0 && (60..=86_400).contains(&d.as_secs()) => Ok(d),
        _ => Err(format!("`{text}` is not a whole number of minutes from 1m to 24h (the alerting plugin's limits)")),
    }
}

/// A whole number of minutes as people read it: `1 day`, `36 hours`, `90 minutes` (the largest
/// unit that divides it).
pub fn phrase(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    let (n, unit) = match minutes {
        m if m > 0 && m % 1440 == 0 => (m / 1440, "day"),
        m if m > 0 && m % 60 == 0 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A duration OpenSearch reads in index settings and ISM (`30s`, `12h`, `1d`).
pub fn opensearch_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|n| n > 0)
        && ["d", "h", "m", "s"].contains(&unit)
}

/// A size OpenSearch reads in ISM (`512mb`, `30gb`).
pub fn opensearch_size(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    digits.parse::<u64>().is_ok_and(|n| n > 0) && ["b", "kb", "mb", "gb", "tb"].contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_throttles() {
        assert_eq!(whole_minutes("10m", false), Ok(Duration::from_secs(600)));
        assert!(whole_minutes("0m", false).is_err());
        assert_eq!(whole_minutes("0m", true), Ok(Duration::ZERO));
        assert!(whole_minutes("90s", false).is_err());
        assert!(throttle("25h").is_err());
        assert!(opensearch_duration("30d") && !opensearch_duration("30 d"));
        assert!(opensearch_size("30gb") && !opensearch_size("gb"));
        let p = |m: u64| phrase(Duration::from_secs(m * 60));
        assert_eq!(
            [p(1440), p(7 * 1440), p(120), p(90), p(1)],
            ["1 day", "7 days", "2 hours", "90 minutes", "1 minute"]
        );
    }
}
