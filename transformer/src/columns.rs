//! Deciding the indicator columns from what the extractor read: each `[[encode]]` field's
//! matchers (exact values, prefixes, regular expressions), applied to one value, to the element an
//! array holds under a name, or to every element of an array.

use regex::Regex;

use crate::extract::{Extracted, ListId, SlotId};
use crate::values::ValueSet;

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// One member.
    Slot(SlotId),
    /// Every row of a list: the value at `member` in each.
    Each { list: ListId, width: usize, member: usize },
    /// The first row of a list whose `key` equals `name` (ASCII case ignored): its `member`.
    Select { list: ListId, width: usize, member: usize, key: usize, name: Box<str> },
}

/// What sets one column.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Values(ValueSet),
    Prefixes(Box<[Box<str>]>),
    /// Tested alone, only when no earlier column matched a single value: `is_match` stops at the
    /// first match, and a `RegexSet` would allocate its answer for every value.
    Regex(Regex),
}

/// One field's columns, compiled.
#[derive(Debug, Clone)]
pub(crate) struct FieldEncoder {
    pub(crate) source: Source,
    /// (matcher, column index), in column order.
    pub(crate) matchers: Vec<(Matcher, usize)>,
    pub(crate) ignore_case: bool,
    pub(crate) otherwise: Option<usize>,
}

impl FieldEncoder {
    /// Whether `matcher` matches `v`.
    #[inline]
    fn hit(&self, matcher: &Matcher, v: &str) -> bool {
        match matcher {
            Matcher::Values(values) => values.matches(v),
            Matcher::Prefixes(prefixes) => prefixes.iter().any(|p| has_prefix(v, p, self.ignore_case)),
            Matcher::Regex(re) => re.is_match(v),
        }
    }

    /// The first column, in order, whose matcher matches `v`.
    #[inline]
    fn first(&self, v: &str) -> Option<usize> {
        self.matchers.iter().find(|(m, _)| self.hit(m, v)).map(|(_, col)| *col)
    }

    /// Sets every column whose matcher matches `v`; returns whether any did.
    #[inline]
    fn all(&self, v: &str, on: &mut [bool]) -> bool {
        let mut any = false;
        for (m, col) in &self.matchers {
            if self.hit(m, v) {
                on[*col] = true;
                any = true;
            }
        }
        any
    }

    /// Sets this field's columns for one record.
    #[inline]
    fn decide(&self, got: &Extracted<'_>, on: &mut [bool]) {
        let hit = match &self.source {
            Source::Slot(slot) => got.values[*slot].text().and_then(|v| self.first(v)),
            Source::Select { list, width, member, key, name } => got.lists[*list]
                .chunks_exact(*width)
                .find(|row| row[*key].text().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                .and_then(|row| row[*member].text())
                .and_then(|v| self.first(v)),
            Source::Each { list, width, member } => {
                let mut any = false;
                for row in got.lists[*list].chunks_exact(*width) {
                    if let Some(v) = row[*member].text() {
                        any |= self.all(v, on);
                    }
                }
                if any {
                    return;
                }
                None
            }
        };
        if let Some(col) = hit.or(self.otherwise) {
            on[col] = true;
        }
    }
}

fn has_prefix(v: &str, prefix: &str, ignore_case: bool) -> bool {
    if ignore_case {
        v.len() >= prefix.len() && v.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    } else {
        v.starts_with(prefix)
    }
}

/// Each column's value for one record, in output order.
#[inline]
pub(crate) fn decide(fields: &[FieldEncoder], got: &Extracted<'_>, columns: usize) -> Vec<bool> {
    let mut on = vec![false; columns];
    for f in fields {
        f.decide(got, &mut on);
    }
    on
}
