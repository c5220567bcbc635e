//! Plain-text log lines: what the transformer reads out of a line before encoding it.
//!
//! A line becomes the JSON document
//! `{"message": LINE, "timestamp": MS?, "level": LEVEL?, "clientIp": IP?, "httpStatus": CODE?}`,
//! each optional member present only when the line shows it:
//! - `timestamp`: epoch milliseconds, when the line starts with an ISO 8601 / RFC 3339 time
//!   (`2026-11-21T12:00:00Z`, `2026-11-21 12:00:00,123`, no offset meaning UTC) or holds a
//!   Common Log Format time (`[21/Nov/2026:12:00:00 +0000]`);
//! - `level`: `CRITICAL`, `ERROR`, `WARNING`, `INFO` or `DEBUG`, from an upper-case level word
//!   (`FATAL`, `ERR`, `WARN`... normalised) or a `level=...` pair;
//! - `clientIp`: the first IPv4 address in the line;
//! - `httpStatus`: the status of a Common Log Format request (`"GET / HTTP/1.1" 404`) or a
//!   `status=404` pair, as a number.
//!
//! The encode columns and rules then run on that document exactly as on a JSON record, and the
//! whole-line rules test the line itself.

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use chrono::DateTime;
use regex::Regex;

#[allow(clippy::expect_used)] // constant patterns, covered by tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

static LEADING_TIME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?"));
static CLF_TIME: LazyLock<Regex> = LazyLock::new(|| re(r"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]"));
static LEVEL_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?-u:\b)(CRITICAL|FATAL|EMERG(?:ENCY)?|ALERT|ERROR|ERR|WARNING|WARN|INFO|NOTICE|DEBUG)(?-u:\b)")
});
static LEVEL_PAIR: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)(?-u:\b)(?:level|severity|lvl)["']?\s*[=:]\s*["']?([a-z]+)"#));
static IPV4: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)(\d{1,3}(?:\.\d{1,3}){3})(?-u:\b)"));
static CLF_STATUS: LazyLock<Regex> = LazyLock::new(|| re(r#"" ([1-5]\d\d) "#));
static STATUS_PAIR: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)(?-u:\b)(?:status|status_code|http_status)["']?\s*[=:]\s*["']?([1-5]\d\d)(?-u:\b)"#));

fn normalise_level(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_uppercase().as_str() {
        "CRITICAL" | "CRIT" | "FATAL" | "EMERG" | "EMERGENCY" | "ALERT" | "PANIC" => "CRITICAL",
        "ERROR" | "ERR" => "ERROR",
        "WARNING" | "WARN" => "WARNING",
        "INFO" | "NOTICE" | "INFORMATION" => "INFO",
        "DEBUG" | "TRACE" => "DEBUG",
        _ => return None,
    })
}

fn leading_time(line: &str) -> Option<i64> {
    if let Some(c) = LEADING_TIME.captures(line) {
        let frac = c.get(3).map_or("0", |m| m.as_str());
        let offset = match c.get(4).map(|m| m.as_str()) {
            None | Some("Z") => "+00:00".to_owned(),
            Some(o) if o.len() == 5 => format!("{}:{}", &o[..3], &o[3..]),
            Some(o) => o.to_owned(),
        };
        let text = format!("{}T{}.{}{}", &c[1], &c[2], frac, offset);
        return DateTime::parse_from_rfc3339(&text).ok().map(|d| d.timestamp_millis());
    }
    let c = CLF_TIME.captures(line)?;
    DateTime::parse_from_str(&c[1], "%d/%b/%Y:%H:%M:%S %z").ok().map(|d| d.timestamp_millis())
}

/// Builds the JSON document for one text line.
pub(crate) fn document(line: &str) -> String {
    let mut doc = String::with_capacity(line.len() + 96);
    doc.push_str("{\"message\":");
    // Serialising a &str into a String cannot fail.
    doc.push_str(&serde_json::to_string(line).unwrap_or_default());
    if let Some(ms) = leading_time(line) {
        doc.push_str(&format!(",\"timestamp\":{ms}"));
    }
    let level = LEVEL_WORD
        .captures(line)
        .and_then(|c| normalise_level(&c[1]))
        .or_else(|| LEVEL_PAIR.captures(line).and_then(|c| normalise_level(&c[1])));
    if let Some(level) = level {
        doc.push_str(&format!(",\"level\":\"{level}\""));
    }
    if let Some(ip) = IPV4.captures_iter(line).find_map(|c| c[1].parse::<Ipv4Addr>().ok()) {
        doc.push_str(&format!(",\"clientIp\":\"{ip}\""));
    }
    if let Some(c) = CLF_STATUS.captures(line).or_else(|| STATUS_PAIR.captures(line)) {
        doc.push_str(&format!(",\"httpStatus\":{}", &c[1]));
    }
    doc.push('}');
    doc
}

/// Parses the leading time of a line without building a document (used by tests).
#[cfg(test)]
fn time_of(line: &str) -> Option<i64> {
    leading_time(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(line: &str) -> serde_json::Value {
        serde_json::from_str(&document(line)).unwrap()
    }

    #[test]
    fn common_log_format_line() {
        let d = doc(r#"203.0.113.9 - - [21/Nov/2026:12:00:00 +0000] "POST /login HTTP/1.1" 401 512"#);
        assert_eq!(d["clientIp"], "203.0.113.9");
        assert_eq!(d["httpStatus"], 401);
        assert_eq!(d["timestamp"], 1_795_262_400_000i64);
        assert!(d.get("level").is_none());
    }

    #[test]
    fn application_log_line() {
        let d = doc("2026-11-21 12:00:00,250 ERROR db: connection refused to 10.0.0.5:5432");
        assert_eq!(d["level"], "ERROR");
        assert_eq!(d["timestamp"], 1_795_262_400_250i64);
        assert_eq!(d["clientIp"], "10.0.0.5");
        assert_eq!(d["message"], "2026-11-21 12:00:00,250 ERROR db: connection refused to 10.0.0.5:5432");
    }

    #[test]
    fn level_pairs_offsets_and_bad_ips() {
        let d = doc(r#"{"msg": "x"} level=warn status=503 from 999.1.1.1"#);
        assert_eq!(d["level"], "WARNING");
        assert_eq!(d["httpStatus"], 503);
        assert!(d.get("clientIp").is_none());
        assert_eq!(time_of("2026-11-21T13:00:00+0100 boot"), Some(1_795_262_400_000));
        assert_eq!(time_of("no time here"), None);
    }
}
