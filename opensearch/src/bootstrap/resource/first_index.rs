//! The first index behind the write alias (`<alias>-000001`): created once, after the template and
//! the policy so that both apply to it, and never deleted (it holds the documents).

use serde_json::{Value, json};
use wafwatch_config::index::Index;

use crate::bootstrap::bodies::index::first_index;
use crate::bootstrap::request::Request;

/// The first index and its write alias.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstIndex {
    /// The index (`waf-logs-000001`).
    pub name: String,
    /// The write alias (`waf-logs`).
    pub alias: String,
    /// The pattern of every index behind the alias (`waf-logs-*`).
    pub pattern: String,
    body: Value,
}

impl FirstIndex {
    /// The first index of `[index]`.
    pub fn new(index: &Index) -> FirstIndex {
        FirstIndex {
            name: index.first_index(),
            alias: index.alias.clone(),
            pattern: index.pattern(),
            body: first_index(index),
        }
    }

    /// The request that creates it with the alias, as `plan` shows it.
    pub fn create(&self) -> Request {
        Request::json(
            "PUT",
            format!("/{}", self.name),
            self.body.clone(),
            format!("create index {} behind the write alias {}", self.name, self.alias),
        )
    }

    /// Where the alias is looked up: 200 lists the indices behind it, 404 says there are none.
    pub fn alias_path(&self) -> String {
        format!("/_alias/{}", self.alias)
    }

    /// Where an index named like the alias would be (Firehose writing before the bootstrap
    /// creates one, with a dynamic mapping).
    pub fn concrete_path(&self) -> String {
        format!("/{}", self.alias)
    }

    /// Adds the alias to an index that exists without it (an earlier apply stopped halfway).
    pub fn add_alias(&self) -> Request {
        let body = json!({"actions": [{"add": {"index": self.name, "alias": self.alias, "is_write_index": true}}]});
        Request::json("POST", "/_aliases", body, format!("adding alias {} to {}", self.alias, self.name))
    }
}
