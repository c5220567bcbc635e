//! The naming rules of the things wafwatch creates, one function each.
//!
//! The configuration checks them when the file is loaded, and the bootstrap checks them again on
//! the request bodies it is about to send (the contract's rules), with the same functions, so the
//! two can never disagree. Lengths are counted in characters, as the plugins count them (Java
//! string lengths of these ASCII names).

/// The anomaly-detection plugin's limit on a detector's name.
pub const MAX_DETECTOR_NAME_CHARS: usize = 64;

/// The anomaly-detection plugin's limit on a detector's description.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// The alerting plugin's limit on a monitor's name.
pub const MAX_MONITOR_NAME_CHARS: usize = 100;

/// Longest document member name OpenSearch maps by default.
pub const MAX_MEMBER_NAME_BYTES: usize = 255;

/// A detector name: 1 to 64 letters, digits, `.`, `_` or `-`.
///
/// ```
/// use wafwatch_config::names::detector_name;
/// assert!(detector_name("http-errors").is_ok());
/// assert!(detector_name("http errors").is_err());
/// ```
pub fn detector_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_DETECTOR_NAME_CHARS
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    ok.then_some(()).ok_or_else(|| format!("`{name}`: expected 1 to 64 letters, digits, `.`, `_` or `-`"))
}

/// A detector's description: at most 1,000 characters.
pub fn description(text: &str) -> Result<(), String> {
    (text.chars().count() <= MAX_DESCRIPTION_CHARS).then_some(()).ok_or_else(|| "at most 1,000 characters".to_owned())
}

/// A monitor name: 1 to 100 characters.
pub fn monitor_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    (1..=MAX_MONITOR_NAME_CHARS).contains(&n).then_some(()).ok_or_else(|| "expected 1 to 100 characters".to_owned())
}

/// A feature name: letters, digits, `_` or `-` (it is also the aggregation's name).
pub fn feature_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    ok.then_some(()).ok_or_else(|| format!("`{name}`: expected letters, digits, `_` or `-`"))
}

/// A column name, which becomes a document member: letters, digits, `_` and `-`, not starting with
/// `_` (OpenSearch reserves those), at most 255 bytes.
pub fn column_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with('_')
        && name.len() <= MAX_MEMBER_NAME_BYTES
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or_else(|| {
        format!("`{name}` is not a usable column name: expected letters, digits, `_` or `-`, not starting with `_`")
    })
}

/// A rule name, written into the `rules` member as a JSON string without escaping.
pub fn rule_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && !name.chars().any(|c| c.is_control() || c == '"' || c == '\\');
    ok.then_some(())
        .ok_or_else(|| "expected a non-empty name without quotes, backslashes or control characters".to_owned())
}

/// A Notifications `config_id`: letters, digits, `+`, `/`, `_` or `-`.
pub fn channel_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/_-".contains(&b));
    ok.then_some(())
        .ok_or_else(|| format!("`{id}`: expected letters, digits, `+`, `/`, `_` or `-` (the Notifications config_id)"))
}

/// An OpenSearch index or alias name.
pub fn index_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && !name.starts_with(['-', '_', '+'])
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "`{name}`: an index alias is lower-case letters, digits, `-`, `_` and `.`, not starting with `-`, `_` or `+`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(detector_name(&"a".repeat(64)).is_ok());
        assert!(detector_name(&"a".repeat(65)).is_err());
        assert!(description(&"é".repeat(1_000)).is_ok(), "2,000 bytes but 1,000 characters");
        assert!(description(&"é".repeat(1_001)).is_err());
        assert!(monitor_name(&"ü".repeat(100)).is_ok());
        assert!(monitor_name("").is_err());
    }

    #[test]
    fn member_and_index_names() {
        assert!(column_name("B_action").is_ok());
        assert!(column_name("_id").is_err());
        assert!(index_name("waf-logs").is_ok());
        assert!(index_name("WAF").is_err());
        assert!(channel_id("security-team").is_ok());
        assert!(channel_id("a b").is_err());
        assert!(rule_name("a\"b").is_err());
    }
}
