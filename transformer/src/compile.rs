//! The validated configuration compiled for the record function: one slot per distinct pointer
//! (the extractor fills them all in one pass), a value set per column, the bytes written before
//! each column, and the rules grouped into one regex set per target.

use regex::Regex;
use wafwatch_config::ConfigError;
use wafwatch_config::pointer::Pointer;
use wafwatch_config::transform::{ColumnValues, EncodedField, FieldShape, Target, Transform};

use crate::columns::{FieldEncoder, Matcher, Source};
use crate::extract::{ListId, ListSpec, PathTrie, SlotId};
use crate::rules::{Condition, ConditionTarget, RuleEngine, RuleSpec};
use crate::values::ValueSet;

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

/// Allocates one slot per distinct pointer, and one list per distinct array with one row member
/// per distinct pointer inside its elements.
#[derive(Default)]
struct Slots {
    pointers: Vec<Pointer>,
    lists: Vec<ListSpec>,
}

impl Slots {
    fn slot(&mut self, p: &Pointer) -> SlotId {
        position_or_push(&mut self.pointers, p)
    }

    /// The list reading `array`, and the position of `member` in its rows.
    fn member(&mut self, array: &Pointer, member: &Pointer) -> (ListId, usize) {
        let list = match self.lists.iter().position(|l| l.array.as_str() == array.as_str()) {
            Some(list) => list,
            None => {
                self.lists.push(ListSpec { array: array.clone(), members: Vec::new() });
                self.lists.len() - 1
            }
        };
        (list, position_or_push(&mut self.lists[list].members, member))
    }
}

fn position_or_push(pointers: &mut Vec<Pointer>, p: &Pointer) -> usize {
    match pointers.iter().position(|q| q.as_str() == p.as_str()) {
        Some(id) => id,
        None => {
            pointers.push(p.clone());
            pointers.len() - 1
        }
    }
}

impl Compiled {
    /// Compiles `cfg`, also reading the members at `captures`.
    pub(crate) fn new(cfg: &Transform, captures: &[Pointer]) -> Result<Self, ConfigError> {
        let mut slots = Slots::default();
        let timestamp = slots.slot(cfg.timestamp());
        let sources: Vec<_> = cfg.fields().iter().map(|f| source(f, &mut slots)).collect();
        let fields = cfg
            .fields()
            .iter()
            .zip(sources)
            .map(|(f, source)| field(cfg, f, source.finish(&slots)))
            .collect::<Result<_, _>>()?;
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
            trie: PathTrie::build(&slots.pointers, &slots.lists),
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

/// A field's source before every list's width is known.
enum Pending {
    Slot(SlotId),
    Each { list: ListId, member: usize },
    Select { list: ListId, member: usize, key: usize, name: Box<str> },
}

impl Pending {
    fn finish(self, slots: &Slots) -> Source {
        let width = |list: ListId| slots.lists[list].members.len();
        match self {
            Pending::Slot(slot) => Source::Slot(slot),
            Pending::Each { list, member } => Source::Each { list, width: width(list), member },
            Pending::Select { list, member, key, name } => {
                Source::Select { list, width: width(list), member, key, name }
            }
        }
    }
}

fn source(f: &EncodedField, slots: &mut Slots) -> Pending {
    match &f.shape {
        FieldShape::Value => Pending::Slot(slots.slot(&f.pointer)),
        FieldShape::Each { member } => {
            let (list, member) = slots.member(&f.pointer, member);
            Pending::Each { list, member }
        }
        FieldShape::Select { member, key, name } => {
            let (list, member) = slots.member(&f.pointer, member);
            let (_, key) = slots.member(&f.pointer, key);
            Pending::Select { list, member, key, name: name.as_str().into() }
        }
    }
}

/// One field's matchers, in column order.
fn field(cfg: &Transform, f: &EncodedField, source: Source) -> Result<FieldEncoder, ConfigError> {
    let mut matchers = Vec::new();
    let mut otherwise = None;
    for id in &f.columns {
        let matcher = match &cfg.columns()[id.index()].values {
            ColumnValues::Values(values) => {
                Matcher::Values(ValueSet::new(values.iter().map(String::as_str), f.ignore_case))
            }
            ColumnValues::Prefixes(prefixes) => Matcher::Prefixes(prefixes.iter().map(|p| p.as_str().into()).collect()),
            ColumnValues::Regex(pattern) => Matcher::Regex(Regex::new(pattern).map_err(|e| {
                ConfigError::one(
                    f.pointer.as_str(),
                    format!("the regular expression `{pattern}` does not compile: {e}"),
                )
            })?),
            ColumnValues::Otherwise => {
                otherwise = Some(id.index());
                continue;
            }
        };
        matchers.push((matcher, id.index()));
    }
    Ok(FieldEncoder { source, matchers, ignore_case: f.ignore_case, otherwise })
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
