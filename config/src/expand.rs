//! `${VAR}` and `${VAR:-default}` expansion for configuration values.
//!
//! Expansion is applied per key, only to the keys the running command uses, so a configuration can
//! name a variable that only some commands need (an alert topic, say) without every other command
//! demanding it. `$$` stands for a literal `$`; a `$` followed by anything else is kept as it is, so
//! regular expressions such as `^/login$` need no escaping.
//!
//! Two modes exist because two kinds of command read the file: [`Expansion`] for the sections that
//! are resolved once, at start (the transformer's, the index's), and [`Resolve`] for the settings
//! that may be shown in a plan without their values (channels, the Firehose role), where an unset
//! variable becomes a `{{env:NAME}}` placeholder instead of an error.

use std::borrow::Cow;

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// `${NAME}` names a variable that is not set and has no `:-default`.
    #[error("environment variable `{0}` is not set (write `${{{0}:-default}}` to give a default)")]
    Unset(String),
    /// `${` without a closing `}`.
    #[error("`${{` is not closed by `}}` (write `$$` for a literal `$`)")]
    Unclosed,
    /// `${}` or a name with characters other than letters, digits and `_`.
    #[error("`${{{0}}}` is not a valid variable name (letters, digits and `_` only)")]
    BadName(String),
}

/// Expands `${VAR}`, `${VAR:-default}` and `$$` in `raw`, looking variables up with `lookup`.
///
/// Returns the input borrowed when it holds no `$`, which is the common case.
///
/// ```
/// use wafwatch_config::expand::expand_with;
/// let env = |k: &str| (k == "STREAM").then(|| "aws-waf-logs-shop".to_string());
/// assert_eq!(expand_with("${STREAM}", env).unwrap(), "aws-waf-logs-shop");
/// assert_eq!(expand_with("${REGION:-eu-west-1}", env).unwrap(), "eu-west-1");
/// assert_eq!(expand_with("^/login$", env).unwrap(), "^/login$");
/// assert_eq!(expand_with("cost: $$5", env).unwrap(), "cost: $5");
/// ```
pub fn expand_with<'a>(raw: &'a str, lookup: impl Fn(&str) -> Option<String>) -> Result<Cow<'a, str>, ExpandError> {
    if !raw.contains('$') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(ExpandError::Unclosed)?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ExpandError::BadName(inner.to_owned()));
            }
            match (lookup(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(ExpandError::Unset(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Expands with the process environment. Empty variables count as set.
pub fn expand_env(raw: &str) -> Result<Cow<'_, str>, ExpandError> {
    expand_with(raw, |k| std::env::var(k).ok())
}

/// Where variables come from when a configuration is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    /// Expand `${VAR}` from the process environment.
    Environment,
    /// Take every value literally: the configuration was already resolved (the Lambda's
    /// `WAFWATCH_TRANSFORM_CONFIG` is produced with its variables expanded).
    Literal,
}

impl Expansion {
    /// Applies this expansion to one value.
    pub fn apply<'a>(self, raw: &'a str) -> Result<Cow<'a, str>, ExpandError> {
        match self {
            Expansion::Environment => expand_env(raw),
            Expansion::Literal => Ok(Cow::Borrowed(raw)),
        }
    }
}

/// How `${VAR}`s and secrets are resolved in settings a plan may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// From the environment and files; an unset variable is an error (apply, deliver).
    Live,
    /// For plans: set variables expand, unset ones become `{{env:NAME}}`, secrets `{{secret:...}}`;
    /// no file is read.
    Placeholders,
}

/// Reads a variable from the process environment (an empty value counts as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Expands `${VAR}`s in a setting; in placeholder mode an unset variable becomes `{{env:NAME}}`.
///
/// ```
/// use wafwatch_config::expand::{Resolve, resolve_setting};
/// let env = |_: &str| None;
/// assert_eq!(resolve_setting("arn:${ARN}", Resolve::Placeholders, &env).unwrap(), "arn:{{env:ARN}}");
/// assert!(resolve_setting("arn:${ARN}", Resolve::Live, &env).is_err());
/// ```
pub fn resolve_setting(raw: &str, mode: Resolve, env: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut placeholders: Vec<String> = Vec::new();
    loop {
        let lookup =
            |k: &str| env(k).or_else(|| placeholders.iter().any(|p| p == k).then(|| format!("{{{{env:{k}}}}}")));
        match expand_with(raw, lookup) {
            Ok(v) => return Ok(v.into_owned()),
            Err(ExpandError::Unset(name)) if mode == Resolve::Placeholders && !placeholders.contains(&name) => {
                placeholders.push(name)
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a value is exactly one `${VAR}` reference (how secrets must be written).
pub fn is_env_reference(v: &str) -> bool {
    v.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_unset_default_and_escapes() {
        assert_eq!(expand_with("x${A}y", env).unwrap(), "xalphay");
        assert_eq!(expand_with("${B:-beta}", env).unwrap(), "beta");
        assert_eq!(expand_with("${EMPTY:-d}", env).unwrap(), "");
        assert_eq!(expand_with("$${A}", env).unwrap(), "${A}");
        assert_eq!(expand_with("a$b$", env).unwrap(), "a$b$");
        assert_eq!(expand_with("${B:-}", env).unwrap(), "");
    }

    #[test]
    fn reports_what_is_wrong() {
        assert_eq!(expand_with("${B}", env), Err(ExpandError::Unset("B".into())));
        assert_eq!(expand_with("${A", env), Err(ExpandError::Unclosed));
        assert_eq!(expand_with("${}", env), Err(ExpandError::BadName(String::new())));
        assert_eq!(expand_with("${A-B}", env), Err(ExpandError::BadName("A-B".into())));
        let msg = expand_with("${NOPE}", env).unwrap_err().to_string();
        assert!(msg.contains("`NOPE` is not set"), "{msg}");
    }

    #[test]
    fn literal_expansion_keeps_everything() {
        assert_eq!(Expansion::Literal.apply("${A}").unwrap(), "${A}");
    }
}
