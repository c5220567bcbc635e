//! JSON pointers (RFC 6901) naming the fields the transformer reads, and [`Field`]: a pointer to a
//! member OpenSearch maps, with the dotted name it knows the member by, derived once.

use std::fmt;

/// A parsed JSON pointer such as `/httpRequest/country`.
///
/// The empty pointer `""` names the whole document and is not accepted for a field: a monitored
/// field must be a member somewhere inside the record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

/// Why a pointer is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// Does not start with `/`.
    #[error("a JSON pointer starts with `/` (for example `/httpRequest/country`), got `{0}`")]
    NoLeadingSlash(String),
    /// `~` not followed by `0` or `1`.
    #[error("`~` in a JSON pointer must be `~0` (for `~`) or `~1` (for `/`), in `{0}`")]
    BadEscape(String),
}

impl Pointer {
    /// Parses a pointer, unescaping `~1` to `/` and `~0` to `~`.
    ///
    /// ```
    /// use wafwatch_config::pointer::Pointer;
    /// let p = Pointer::parse("/httpRequest/country").unwrap();
    /// assert_eq!(p.tokens(), ["httpRequest", "country"]);
    /// assert!(Pointer::parse("httpRequest").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, PointerError> {
        let Some(body) = text.strip_prefix('/') else {
            return Err(PointerError::NoLeadingSlash(text.to_owned()));
        };
        let mut tokens = Vec::new();
        for raw in body.split('/') {
            let mut tok = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => tok.push('~'),
                        Some('1') => tok.push('/'),
                        _ => return Err(PointerError::BadEscape(text.to_owned())),
                    }
                } else {
                    tok.push(c);
                }
            }
            tokens.push(tok);
        }
        Ok(Pointer { text: text.to_owned(), tokens })
    }

    /// The reference tokens, unescaped.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A member OpenSearch maps: its JSON pointer and its dotted field name (`/httpRequest/clientIp` is
/// `httpRequest.clientIp`), derived once when the configuration is validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    pointer: Pointer,
    dotted: String,
}

impl Field {
    /// Parses a pointer whose member OpenSearch can map. Tokens that are empty or hold a `.` cannot
    /// be told apart from nesting, so they are refused.
    ///
    /// ```
    /// use wafwatch_config::pointer::Field;
    /// assert_eq!(Field::parse("/httpRequest/clientIp").unwrap().dotted(), "httpRequest.clientIp");
    /// assert!(Field::parse("/a.b").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let pointer = Pointer::parse(text).map_err(|e| e.to_string())?;
        if pointer.tokens().iter().any(|t| t.is_empty() || t.contains('.')) {
            return Err(format!(
                "`{text}`: a member whose name is empty or holds a `.` cannot be mapped (OpenSearch reads dots as nesting)"
            ));
        }
        let dotted = pointer.tokens().join(".");
        Ok(Field { pointer, dotted })
    }

    /// The JSON pointer.
    pub fn pointer(&self) -> &Pointer {
        &self.pointer
    }

    /// The dotted field name.
    pub fn dotted(&self) -> &str {
        &self.dotted
    }
}

impl fmt::Display for Field {
    /// Shows the JSON pointer, as the configuration wrote it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pointer.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_tokens() {
        let p = Pointer::parse("/a~1b/c~0d/0").unwrap();
        assert_eq!(p.tokens(), ["a/b", "c~d", "0"]);
        assert_eq!(p.to_string(), "/a~1b/c~0d/0");
    }

    #[test]
    fn rejects_bad_pointers() {
        assert!(matches!(Pointer::parse(""), Err(PointerError::NoLeadingSlash(_))));
        assert!(matches!(Pointer::parse("/a~2"), Err(PointerError::BadEscape(_))));
        assert!(matches!(Pointer::parse("/a~"), Err(PointerError::BadEscape(_))));
    }
}
