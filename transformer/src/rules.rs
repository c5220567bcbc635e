//! Rule-based detection: every rule's conditions evaluated in one pass per target.
//!
//! All regular expressions that test the same target (the whole line, or one field) are compiled
//! into one [`regex::RegexSet`], so a record is scanned once per target however many rules there
//! are; the common case (nothing matches) costs one `is_match` per target.

use regex::RegexSet;

use wafwatch_config::Severity;

use crate::extract::{SlotId, Value};
use crate::values::ValueSet;

/// What a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConditionTarget {
    /// The whole line or record text.
    Line,
    /// One extracted field.
    Field(SlotId),
}

/// One condition of a rule, before compilation.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    Regex { target: ConditionTarget, pattern: String },
    Values { slot: SlotId, set: ValueSet },
}

/// A rule before compilation.
#[derive(Debug, Clone)]
pub(crate) struct RuleSpec {
    pub(crate) name: String,
    pub(crate) severity: Severity,
    pub(crate) conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
enum Check {
    /// Pattern `pattern` of regex set `set`.
    Regex {
        set: usize,
        pattern: usize,
    },
    Values {
        slot: SlotId,
        values: ValueSet,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    severity: Severity,
    checks: Vec<Check>,
}

#[derive(Debug, Clone)]
struct TargetSet {
    target: ConditionTarget,
    set: RegexSet,
}

/// The compiled rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleEngine {
    rules: Vec<Rule>,
    sets: Vec<TargetSet>,
    /// Where each set's patterns start in the flat list of hits.
    offsets: Vec<usize>,
    patterns: usize,
}

impl RuleEngine {
    pub(crate) fn compile(specs: Vec<RuleSpec>) -> Result<Self, regex::Error> {
        let mut patterns: Vec<(ConditionTarget, Vec<String>)> = Vec::new();
        let mut rules = Vec::with_capacity(specs.len());
        for spec in specs {
            let mut checks = Vec::with_capacity(spec.conditions.len());
            for cond in spec.conditions {
                match cond {
                    Condition::Regex { target, pattern } => {
                        let set = match patterns.iter().position(|(t, _)| *t == target) {
                            Some(i) => i,
                            None => {
                                patterns.push((target, Vec::new()));
                                patterns.len() - 1
                            }
                        };
                        patterns[set].1.push(pattern);
                        checks.push(Check::Regex { set, pattern: patterns[set].1.len() - 1 });
                    }
                    Condition::Values { slot, set } => checks.push(Check::Values { slot, values: set }),
                }
            }
            rules.push(Rule { name: spec.name, severity: spec.severity, checks });
        }
        let sets = patterns
            .into_iter()
            .map(|(target, pats)| Ok(TargetSet { target, set: RegexSet::new(pats)? }))
            .collect::<Result<Vec<_>, regex::Error>>()?;
        let mut offsets = Vec::with_capacity(sets.len());
        let mut patterns = 0;
        for ts in &sets {
            offsets.push(patterns);
            patterns += ts.set.len();
        }
        Ok(RuleEngine { rules, sets, offsets, patterns })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Evaluates every rule against one record; calls `on_match` with each matching rule's name
    /// (in configuration order) and returns the highest severity, if any rule matched.
    ///
    /// Allocates nothing unless some pattern matches.
    pub(crate) fn evaluate(
        &self,
        line: &str,
        values: &[Value<'_>],
        mut on_match: impl FnMut(usize, &str),
    ) -> Option<Severity> {
        if self.rules.is_empty() {
            return None;
        }
        let mut hits: Option<Vec<bool>> = None;
        for (si, ts) in self.sets.iter().enumerate() {
            let hay = match ts.target {
                ConditionTarget::Line => Some(line),
                ConditionTarget::Field(slot) => values.get(slot).and_then(Value::text),
            };
            if let Some(hay) = hay.filter(|h| ts.set.is_match(h)) {
                let flat = hits.get_or_insert_with(|| vec![false; self.patterns]);
                for i in ts.set.matches(hay).iter() {
                    flat[self.offsets[si] + i] = true;
                }
            }
        }
        let mut top = None;
        for (index, rule) in self.rules.iter().enumerate() {
            let all = rule.checks.iter().all(|c| match c {
                Check::Regex { set, pattern } => hits.as_ref().is_some_and(|h| h[self.offsets[*set] + *pattern]),
                Check::Values { slot, values: set } => {
                    values.get(*slot).and_then(Value::text).is_some_and(|v| set.matches(v))
                }
            });
            if all {
                on_match(index, &rule.name);
                top = top.max(Some(rule.severity));
            }
        }
        top
    }
}
