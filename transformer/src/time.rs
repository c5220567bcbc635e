//! Event times: reading epoch milliseconds or RFC 3339, writing RFC 3339 UTC with milliseconds.

use chrono::DateTime;

/// Earliest instant written (0000-01-01T00:00:00.000Z).
const MIN_MILLIS: i64 = -62_167_219_200_000;
/// Latest instant written (9999-12-31T23:59:59.999Z).
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Parses a JSON number's text as epoch milliseconds (a fraction is truncated).
pub(crate) fn millis_from_number(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    let f = text.parse::<f64>().ok()?;
    (f.is_finite() && f.abs() < 9.0e15).then(|| f.trunc() as i64)
}

/// Parses a string as epoch milliseconds (all digits) or RFC 3339.
pub(crate) fn millis_from_str(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    DateTime::parse_from_rfc3339(t).ok().map(|d| d.timestamp_millis())
}

/// Writes `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Returns false when out of the years 0000–9999.
pub(crate) fn write_rfc3339_millis(millis: i64, out: &mut Vec<u8>) -> bool {
    if !(MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
        return false;
    }
    let days = millis.div_euclid(86_400_000);
    let ms_of_day = millis.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let ms = ms_of_day % 1000;
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut buf = [0u8; 24];
    put4(&mut buf[0..4], y);
    buf[4] = b'-';
    put2(&mut buf[5..7], m);
    buf[7] = b'-';
    put2(&mut buf[8..10], d);
    buf[10] = b'T';
    put2(&mut buf[11..13], hh);
    buf[13] = b':';
    put2(&mut buf[14..16], mm);
    buf[16] = b':';
    put2(&mut buf[17..19], ss);
    buf[19] = b'.';
    buf[20] = b'0' + (ms / 100) as u8;
    buf[21] = b'0' + (ms / 10 % 10) as u8;
    buf[22] = b'0' + (ms % 10) as u8;
    buf[23] = b'Z';
    out.extend_from_slice(&buf);
    true
}

fn put2(dst: &mut [u8], v: i64) {
    dst[0] = b'0' + (v / 10) as u8;
    dst[1] = b'0' + (v % 10) as u8;
}

fn put4(dst: &mut [u8], v: i64) {
    put2(&mut dst[0..2], v / 100);
    put2(&mut dst[2..4], v % 100);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fmt(ms: i64) -> String {
        let mut v = Vec::new();
        assert!(write_rfc3339_millis(ms, &mut v));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(fmt(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(fmt(1_795_262_283_412), "2026-11-21T11:58:03.412Z");
        assert_eq!(fmt(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(fmt(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(fmt(MAX_MILLIS), "9999-12-31T23:59:59.999Z");
        assert!(!write_rfc3339_millis(MAX_MILLIS + 1, &mut Vec::new()));
    }

    #[test]
    fn parses_numbers_and_strings() {
        assert_eq!(millis_from_number("1795262283412"), Some(1_795_262_283_412));
        assert_eq!(millis_from_number("1795262283412.9"), Some(1_795_262_283_412));
        assert_eq!(millis_from_number("1.5e12"), Some(1_500_000_000_000));
        assert_eq!(millis_from_str("1795262283412"), Some(1_795_262_283_412));
        assert_eq!(millis_from_str("2026-11-21T11:58:03.412Z"), Some(1_795_262_283_412));
        assert_eq!(millis_from_str("2026-11-21T12:58:03.412+01:00"), Some(1_795_262_283_412));
        assert_eq!(millis_from_str("yesterday"), None);
    }

    proptest! {
        #[test]
        fn agrees_with_chrono(ms in MIN_MILLIS..=MAX_MILLIS) {
            let ours = fmt(ms);
            let theirs = DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            prop_assert_eq!(&ours, &theirs);
            prop_assert_eq!(millis_from_str(&ours), Some(ms));
        }
    }
}
