//! When an interval is due for evaluation: by the clock (its end plus the window delay has
//! passed), when the data is complete past its end, or at the end of the data whatever it holds.

/// Which intervals an evaluation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// The time is this (epoch ms): intervals whose end plus window delay has passed, as a live
    /// detector runs them.
    Clock(i64),
    /// The data is complete up to this time (epoch ms, exclusive) and nothing more will come:
    /// intervals that end at or before it.
    Complete(i64),
    /// The end of the data: every interval up to the last one holding data.
    All,
}

impl Due {
    /// Whether the interval `[start, start + len)`, evaluated `delay` after its end, is due;
    /// `last_with_data` is the start of the last interval holding data.
    pub(crate) fn holds(self, start: i64, len: i64, delay: i64, last_with_data: Option<i64>) -> bool {
        match self {
            Due::Clock(now) => start + len + delay <= now,
            Due::Complete(end) => start + len <= end,
            Due::All => last_with_data.is_some_and(|l| start <= l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_is_complete_only_when_the_data_reaches_its_end() {
        // [60 s, 120 s), evaluated 60 s after its end.
        let due = |d: Due| d.holds(60_000, 60_000, 60_000, Some(60_000));
        assert!(!due(Due::Clock(179_999)) && due(Due::Clock(180_000)));
        assert!(!due(Due::Complete(119_999)), "data that stops a millisecond short leaves it open");
        assert!(due(Due::Complete(120_000)), "no window delay once nothing more can come");
        assert!(due(Due::All) && !Due::All.holds(120_000, 60_000, 0, Some(60_000)));
    }
}
