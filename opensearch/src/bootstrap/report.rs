//! What `apply` and `destroy` did, object by object: the [`Report`].

use serde::Serialize;

use super::request::Request;

/// What apply did (or, with `--dry-run`, would do) to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created.
    Created,
    /// Updated in place.
    Updated,
    /// Deleted and created again (a change the plugin cannot make in place).
    Recreated,
    /// Already as configured.
    Unchanged,
    /// Started (a stopped detector, a historical analysis).
    Started,
    /// Stopped (a historical analysis, before its detector changes).
    Stopped,
    /// Not created yet: it needs documents in the index.
    Waiting,
    /// Deleted (destroy).
    Deleted,
    /// Left alone (destroy: not created by wafwatch, or data).
    Kept,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// What kind of object.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// What happened.
    pub action: Action,
    /// More: the id, why it waits, what differs (dry run).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Per object, in order.
    pub outcomes: Vec<Outcome>,
    /// Write requests sent (or, with --dry-run, that would be).
    pub writes: usize,
    /// With --dry-run: the writes that would be sent.
    #[serde(skip)]
    pub would_send: Vec<Request>,
}

impl Report {
    /// The report for people.
    pub fn render(&self, dry_run: bool) -> String {
        let mut s = String::new();
        for o in &self.outcomes {
            let action = format!("{:?}", o.action).to_lowercase();
            let action = if dry_run && o.action != Action::Unchanged && o.action != Action::Waiting {
                format!("would be {action}")
            } else {
                action
            };
            s.push_str(&format!("{:<16} {:<36} {action}", o.kind, o.name));
            if !o.detail.is_empty() {
                s.push_str(&format!(": {}", o.detail));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "\n{} write request(s){}.\n",
            self.writes,
            if dry_run { " would be sent" } else { " sent" }
        ));
        s
    }
}
