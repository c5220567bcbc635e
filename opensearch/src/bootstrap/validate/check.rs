//! What every rule check shares: the [`Problem`] it reports, the [`Check`] of one request that
//! collects them, and what the requests before it established ([`Seen`]).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The contract's rule number (§9).
    pub rule: u8,
    /// `METHOD path` of the request.
    pub request: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule {}: {}: {}", self.rule, self.request, self.message)
    }
}

/// What the requests before the current one established.
#[derive(Default)]
pub(super) struct Seen {
    /// Field types of every index template sent, by dotted name.
    pub(super) mappings: HashMap<String, String>,
    /// Index patterns and priorities of the templates sent.
    pub(super) templates: Vec<(String, Vec<String>, i64)>,
    /// Channel config ids created or updated.
    pub(super) channels: HashSet<String>,
    /// The rollover alias of the templates, and the indices created with aliases.
    pub(super) rollover_aliases: HashSet<String>,
}

/// The check of one request: the problems found, each with the request it is about.
pub(super) struct Check<'a> {
    /// `METHOD path`.
    pub(super) request: String,
    /// Where problems go.
    pub(super) problems: &'a mut Vec<Problem>,
}

impl Check<'_> {
    /// Reports that the request breaks rule `rule`.
    pub(super) fn fail(&mut self, rule: u8, message: impl Into<String>) {
        self.problems.push(Problem { rule, request: self.request.clone(), message: message.into() });
    }
}

/// The string at `pointer`, if there is one.
pub(super) fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}
