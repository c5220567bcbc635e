//! Value sets: the `values = [..]` lists of encode columns and rule conditions.

/// A compiled `values` list.
///
/// A value matches when it equals one of the listed strings (ASCII case ignored when asked), or when
/// the list holds a status class such as `4xx` and the value is a three-digit code of that class.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSet {
    exact: Vec<Box<str>>,
    /// Bit `d` set when the class `dxx` is listed.
    classes: u16,
    ignore_case: bool,
}

fn class_digit(v: &str) -> Option<u8> {
    match v.as_bytes() {
        [d @ b'0'..=b'9', b'x' | b'X', b'x' | b'X'] => Some(d - b'0'),
        _ => None,
    }
}

impl ValueSet {
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>, ignore_case: bool) -> Self {
        let mut set = ValueSet { ignore_case, ..ValueSet::default() };
        for v in values {
            match class_digit(v) {
                Some(d) => set.classes |= 1 << d,
                None => set.exact.push(v.into()),
            }
        }
        set
    }

    #[inline]
    pub(crate) fn matches(&self, value: &str) -> bool {
        if self.classes != 0
            && let [d @ b'0'..=b'9', b'0'..=b'9', b'0'..=b'9'] = value.as_bytes()
            && self.classes & (1 << (d - b'0')) != 0
        {
            return true;
        }
        if self.ignore_case {
            self.exact.iter().any(|e| e.eq_ignore_ascii_case(value))
        } else {
            self.exact.iter().any(|e| **e == *value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_are_case_sensitive_unless_asked() {
        let s = ValueSet::new(["ALLOW", "Challenge"], false);
        assert!(s.matches("ALLOW"));
        assert!(!s.matches("allow"));
        assert!(!s.matches("CHALLENGE"));
        let s = ValueSet::new(["ALLOW", "Challenge"], true);
        assert!(s.matches("CHALLENGE"));
    }

    #[test]
    fn status_classes_match_three_digit_codes_only() {
        let s = ValueSet::new(["4xx", "5XX"], false);
        assert!(s.matches("404"));
        assert!(s.matches("503"));
        assert!(!s.matches("200"));
        assert!(!s.matches("4040"));
        assert!(!s.matches("40"));
        assert!(!s.matches("4a4"));
        assert!(!s.matches("4xx"));
    }
}
