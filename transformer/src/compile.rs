//! The validated configuration compiled for the record function: one slot per distinct pointer
//! (the extractor fills them all in one pass), a value set per column, the bytes written before
//! each column, and the rules grouped into one regex set per target.

use wafwatch_config::ConfigError;
use wafwatch_config::pointer::Pointer;
use wafwatch_config::transform::{ColumnValues, Target, Transform};

use crate::extract::{PathTrie, SlotId};
use crate::rules::{Condition, ConditionTarget, RuleEngine, RuleSpec};
use crate::values::ValueSet;

/// A monitored field, compiled.
#[derive(Debug, Clone)]
pub(crate) struct FieldEncoder {
    pub(crate) slot: SlotId,
    /// (values, column index) for each column with values.
    pub(crate) matchers: Vec<(ValueSet, usize)>,
    pub(crate) otherwise: Option<usize>,
}

/// Everything the record function runs on, derived once from a [`Transform`].
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub(crate) trie: PathTrie,
    pub(crate) timestamp: SlotId,
    pub(crate) fields: Vec<FieldEncoder>,
    /// `,"NAME":` for each column, in output order.
    pub(crate) column_prefixes: Vec<Box<[u8]>>,
    pub(crate) rules: RuleEngine,
    pub(crate) partition_keys: Vec<(String, SlotId)>,
    /// Member names the transformer writes; an input member with one of these names is refused.
    pub(crate) reserved: Vec<String>,
    /// The slots of the captured members, in the order they were asked for.
    pub(crate) captures: Vec<SlotId>,
}

/// Allocates one slot per distinct pointer.
#[derive(Default)]
struct Slots(Vec<Pointer>);

impl Slots {
    fn slot(&mut self, p: &Pointer) -> SlotId {
        match self.0.iter().position(|q| q.as_str() == p.as_str()) {
            Some(id) => id,
            None => {
                self.0.push(p.clone());
                self.0.len() - 1
            }
        }
    }
}

impl Compiled {
    /// Compiles `cfg`, also reading the members at `captures`.
    pub(crate) fn new(cfg: &Transform, captures: &[Pointer]) -> Result<Self, ConfigError> {
        let mut slots = Slots::default();
        let timestamp = slots.slot(cfg.timestamp());
        let fields =
            cfg.fields()
                .iter()
                .map(|f| {
                    let slot = slots.slot(&f.pointer);
                    let mut matchers = Vec::new();
                    let mut otherwise = None;
                    for id in &f.columns {
                        match &cfg.columns()[id.index()].values {
                            ColumnValues::Values(values) => matchers
                                .push((ValueSet::new(values.iter().map(String::as_str), f.ignore_case), id.index())),
                            ColumnValues::Otherwise => otherwise = Some(id.index()),
                        }
                    }
                    FieldEncoder { slot, matchers, otherwise }
                })
                .collect();
        let column_prefixes = cfg.columns().iter().map(|c| format!(",\"{}\":", c.name).into_bytes().into()).collect();
        let specs = cfg
            .rules()
            .iter()
            .map(|rule| RuleSpec {
                name: rule.name.clone(),
                severity: rule.severity,
                conditions: rule.conditions.iter().map(|c| condition(c, &mut slots)).collect(),
            })
            .collect();
        let rules = RuleEngine::compile(specs)
            .map_err(|e| ConfigError::one("rule", format!("the rules do not compile together: {e}")))?;
        let partition_keys = cfg.partition_keys().iter().map(|(name, p)| (name.clone(), slots.slot(p))).collect();
        let captures = captures.iter().map(|p| slots.slot(p)).collect();
        Ok(Compiled {
            trie: PathTrie::build(&slots.0),
            timestamp,
            fields,
            column_prefixes,
            rules,
            partition_keys,
            reserved: cfg.added_members().to_vec(),
            captures,
        })
    }
}

fn condition(c: &wafwatch_config::transform::Condition, slots: &mut Slots) -> Condition {
    use wafwatch_config::transform::Condition as Configured;
    match c {
        Configured::Regex { target, pattern } => {
            let target = match target {
                Target::Line => ConditionTarget::Line,
                Target::Field(p) => ConditionTarget::Field(slots.slot(p)),
            };
            Condition::Regex { target, pattern: pattern.clone() }
        }
        Configured::Values { field, values, ignore_case } => Condition::Values {
            slot: slots.slot(field),
            set: ValueSet::new(values.iter().map(String::as_str), *ignore_case),
        },
    }
}
