//! What a new-value monitor remembers: when each value of its field was last seen before the
//! window, so that a value is new when it was not seen in the history before the window, as the
//! monitor's search over `[period_end - window - history, period_end - window)` finds it.

use std::collections::HashMap;

/// The values seen before the window and when the data started.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Each value's last minute before the window (epoch ms of the minute's start).
    last: HashMap<String, i64>,
    /// The first document's time (epoch ms).
    start: Option<i64>,
    /// Minutes noted since the last time forgotten values were dropped.
    since_forget: u32,
}

/// How many minutes go by between two passes that drop the values older than the history.
const FORGET_EVERY: u32 = 60;

impl Seen {
    /// A document at `at` (epoch ms): the data starts at the first one.
    pub(crate) fn observe(&mut self, at: i64) {
        self.start = Some(self.start.map_or(at, |s| s.min(at)));
    }

    /// Whether the data reaches back before `before` (epoch ms): until it does, every value would
    /// be new.
    pub(crate) fn learned(&self, before: i64) -> bool {
        self.start.is_some_and(|s| s < before)
    }

    /// Whether `value` was not seen at or after `since` (epoch ms) before the window.
    pub(crate) fn is_new(&self, value: &str, since: i64) -> bool {
        self.last.get(value).is_none_or(|m| *m < since)
    }

    /// The counts of `minute`, which leaves the window; values last seen before `forget_before`
    /// are dropped now and then.
    pub(crate) fn note<'a>(&mut self, minute: i64, values: impl Iterator<Item = &'a String>, forget_before: i64) {
        for v in values {
            match self.last.get_mut(v.as_str()) {
                Some(m) => *m = (*m).max(minute),
                None => {
                    self.last.insert(v.clone(), minute);
                }
            }
        }
        self.since_forget += 1;
        if self.since_forget >= FORGET_EVERY {
            self.since_forget = 0;
            self.last.retain(|_, m| *m >= forget_before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn a_value_is_new_until_seen_and_again_once_forgotten() {
        let mut seen = Seen::default();
        assert!(!seen.learned(0), "no data yet");
        seen.observe(5 * MIN);
        seen.observe(3 * MIN);
        assert!(!seen.learned(3 * MIN) && seen.learned(3 * MIN + 1), "the data starts at its earliest document");
        assert!(seen.is_new("US", 0));
        let us = ["US".to_owned()];
        seen.note(3 * MIN, us.iter(), 0);
        assert!(!seen.is_new("US", 3 * MIN) && seen.is_new("US", 3 * MIN + 1), "seen in minute 3 only");
        assert!(seen.is_new("CN", 0));
        // Dropped only on the periodic pass, and only when older than the history.
        for m in 0..FORGET_EVERY as i64 - 2 {
            seen.note((10 + m) * MIN, std::iter::empty(), 4 * MIN);
        }
        assert!(seen.last.contains_key("US"), "not yet a forgetting pass");
        seen.note(100 * MIN, std::iter::empty(), 4 * MIN);
        assert!(!seen.last.contains_key("US"));
    }
}
