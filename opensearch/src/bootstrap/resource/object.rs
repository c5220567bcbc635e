//! Objects at a path of their own, read with GET and written with PUT (channels are created with
//! POST): the index template, the ISM policy, Firehose's security role and its mapping, and the
//! Notifications channels.
//!
//! What differs between them is said here, one `match` per question: where the object sits in
//! the answer to a GET ([`Object::found`]), how desired and live compare ([`Object::same`]), how
//! an update is sent ([`Object::update`]), where its mark is read ([`Object::mark_path`]). A
//! server that stores one of them differently is handled in this file.

use serde_json::{Value, json};
use wafwatch_config::channel::ResolvedChannel;
use wafwatch_config::index::Index;

use crate::bootstrap::bodies::channel::{channel_config, channel_create, mask_secrets};
use crate::bootstrap::bodies::index::{
    firehose_role, firehose_role_mapping, index_template, ism_policy, policy_id, template_name,
};
use crate::bootstrap::bodies::mark::{is_managed, same_fingerprint};
use crate::bootstrap::client::Reply;
use crate::bootstrap::compare::{diff_detail, fingerprint_detail, removed, subset};
use crate::bootstrap::request::Request;

/// Which object at a path of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// `/_index_template/{name}`.
    IndexTemplate,
    /// `/_plugins/_ism/policies/{id}`.
    IsmPolicy,
    /// `/_plugins/_security/api/roles/{role}`.
    SecurityRole,
    /// `/_plugins/_security/api/rolesmapping/{role}`.
    RoleMapping,
    /// `/_plugins/_notifications/configs/{config_id}`.
    Channel,
}

impl ObjectKind {
    /// What reports and messages call it.
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::IndexTemplate => "index template",
            ObjectKind::IsmPolicy => "ISM policy",
            ObjectKind::SecurityRole => "security role",
            ObjectKind::RoleMapping => "role mapping",
            ObjectKind::Channel => "channel",
        }
    }
}

/// What is done to an object, for the sentences that say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Reading it.
    Read,
    /// Creating it.
    Create,
    /// Updating it.
    Update,
    /// Deleting it.
    Delete,
}

/// What a GET of an object's path found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Nothing: it is to be created.
    Missing,
    /// The object as the server holds it.
    Live(Value),
    /// An answer that says neither: a refusal to explain.
    Unreadable,
}

/// An object at a path of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Which.
    pub kind: ObjectKind,
    /// Its name (or id).
    pub name: String,
    /// Where it lives: read, updated and deleted there.
    pub path: String,
    /// The object as wafwatch wants it, compared with what is live.
    pub desired: Value,
    /// The request that creates it, as `plan` shows it.
    pub create: Request,
    /// What a report adds when it is created.
    pub created_note: String,
    /// What a report adds when it is unchanged.
    pub unchanged_note: String,
}

impl Object {
    /// The index template: mapping, settings and the rollover alias of `<alias>-*`.
    pub fn index_template(index: &Index) -> Object {
        let name = template_name(index);
        let path = format!("/_index_template/{name}");
        let desired = index_template(index);
        let summary =
            format!("create index template {name} for {} ({} fields mapped)", index.pattern(), index.fields.len());
        let create = Request::json("PUT", &path, desired.clone(), summary);
        let created_note = index.pattern();
        Object {
            kind: ObjectKind::IndexTemplate,
            name,
            path,
            desired,
            create,
            created_note,
            unchanged_note: String::new(),
        }
    }

    /// The ISM policy: rollover and retention.
    pub fn ism_policy(index: &Index) -> Object {
        let name = policy_id(index);
        let path = format!("/_plugins/_ism/policies/{name}");
        let desired = ism_policy(index);
        let summary = format!(
            "create ISM policy {name}: roll over at {} or {}, delete after {}",
            index.rollover_size, index.rollover_age, index.retention
        );
        let create = Request::json("PUT", &path, desired.clone(), summary);
        Object::plain(ObjectKind::IsmPolicy, name, path, desired, create)
    }

    /// The security role Firehose writes with (fine-grained access control).
    pub fn security_role(role: &str, index: &Index) -> Object {
        let path = format!("/_plugins/_security/api/roles/{role}");
        let desired = firehose_role(index);
        let summary = format!("create security role {role}: write to {}* only", index.alias);
        let create = Request::json("PUT", &path, desired.clone(), summary);
        Object::plain(ObjectKind::SecurityRole, role.to_owned(), path, desired, create)
    }

    /// The mapping of the Firehose role's ARN to that security role.
    pub fn role_mapping(role: &str, arn: &str) -> Object {
        let path = format!("/_plugins/_security/api/rolesmapping/{role}");
        let desired = firehose_role_mapping(arn);
        let summary = format!("map role {role} to the Firehose role {arn}");
        let create = Request::json("PUT", &path, desired.clone(), summary);
        Object::plain(ObjectKind::RoleMapping, role.to_owned(), path, desired, create)
    }

    /// A Notifications channel, with `config_id` the channel's id.
    pub fn channel(c: &ResolvedChannel) -> Object {
        let path = format!("/_plugins/_notifications/configs/{}", c.id);
        let summary = format!("create {} channel {}", c.kind.as_str(), c.id);
        let create = Request::json("POST", "/_plugins/_notifications/configs", channel_create(c), summary);
        Object {
            kind: ObjectKind::Channel,
            name: c.id.clone(),
            path,
            desired: channel_config(c),
            create,
            created_note: c.kind.as_str().to_owned(),
            unchanged_note: c.kind.as_str().to_owned(),
        }
    }

    fn plain(kind: ObjectKind, name: String, path: String, desired: Value, create: Request) -> Object {
        Object { kind, name, path, desired, create, created_note: String::new(), unchanged_note: String::new() }
    }

    /// "creating index template wafwatch-waf-logs": what is being done, for reports and errors.
    pub fn doing(&self, verb: Verb) -> String {
        let roles = matches!(self.kind, ObjectKind::SecurityRole | ObjectKind::RoleMapping);
        let verb = match verb {
            Verb::Read => "reading",
            // A role and its mapping are written the same way whether they exist or not.
            Verb::Create | Verb::Update if roles => "writing",
            Verb::Create => "creating",
            Verb::Update => "updating",
            Verb::Delete => "deleting",
        };
        format!("{verb} {} {}", self.kind.label(), self.name)
    }

    /// Where the object sits in the answer to a GET of its path, and whether it is there at all.
    pub fn found(&self, reply: &Reply) -> Found {
        let live = match self.kind {
            ObjectKind::IndexTemplate => reply.body.pointer("/index_templates/0/index_template").cloned(),
            // The policy beside `_seq_no` and `_primary_term`: compared in the shape it is sent in.
            ObjectKind::IsmPolicy => Some(json!({"policy": reply.body.get("policy").cloned().unwrap_or_default()})),
            ObjectKind::SecurityRole | ObjectKind::RoleMapping => reply.body.get(&self.name).cloned(),
            ObjectKind::Channel => reply.body.pointer("/config_list/0/config").cloned(),
        };
        match (reply.status, live) {
            (200, Some(live)) => Found::Live(live),
            // An answer listing no template: as good as none.
            (200, None) if self.kind == ObjectKind::IndexTemplate => Found::Missing,
            (404, _) => Found::Missing,
            _ => Found::Unreadable,
        }
    }

    /// Whether the live object is as wafwatch wants it. Bodies the server re-serialises compare by
    /// the fingerprint they carry; the others member by member (the server may add members).
    pub fn same(&self, live: &Value) -> bool {
        match self.kind {
            ObjectKind::IndexTemplate | ObjectKind::IsmPolicy => same_fingerprint(&self.desired, live),
            ObjectKind::SecurityRole | ObjectKind::RoleMapping => subset(&self.desired, live),
            // A removed header is a change too (the server adds nothing to a channel's config).
            ObjectKind::Channel => subset(&self.desired, live) && removed(&self.desired, live).is_empty(),
        }
    }

    /// Why the live object cannot be updated in place, if it cannot.
    pub fn updatable(&self, live: &Value) -> Result<(), String> {
        if self.kind == ObjectKind::Channel && live.get("config_type") != self.desired.get("config_type") {
            return Err(format!(
                "channel {} exists with type {}, and a channel's type cannot change: delete it or choose another id",
                self.name,
                live.get("config_type").and_then(Value::as_str).unwrap_or("?")
            ));
        }
        Ok(())
    }

    /// What differs, for the report; a channel's secrets show only as fingerprints.
    pub fn differences(&self, live: &Value) -> String {
        match self.kind {
            ObjectKind::Channel => diff_detail(&mask_secrets(&self.desired), &mask_secrets(live)),
            ObjectKind::IndexTemplate | ObjectKind::IsmPolicy => fingerprint_detail(&self.desired, live),
            ObjectKind::SecurityRole | ObjectKind::RoleMapping => diff_detail(&self.desired, live),
        }
    }

    /// The request that creates it, saying what it does.
    pub fn create(&self) -> Request {
        self.create.clone().doing(self.doing(Verb::Create))
    }

    /// What a dry run pretends the server answered to the create.
    pub fn dry_created(&self) -> Value {
        match self.kind {
            ObjectKind::Channel => json!({"config_id": self.name}),
            _ => json!({}),
        }
    }

    /// The request that updates it, given the answer that read it: an ISM policy's update carries
    /// its sequence numbers (the server answers 409 without them), a channel's wraps the config.
    pub fn update(&self, read: &Reply) -> Request {
        let doing = self.doing(Verb::Update);
        match self.kind {
            ObjectKind::IsmPolicy => {
                let seq = read.body.get("_seq_no").cloned().unwrap_or(json!(0));
                let term = read.body.get("_primary_term").cloned().unwrap_or(json!(1));
                let path = format!("{}?if_seq_no={seq}&if_primary_term={term}", self.path);
                Request::json("PUT", path, self.desired.clone(), doing)
            }
            ObjectKind::Channel => Request::json("PUT", &self.path, json!({"config": self.desired}), doing),
            _ => Request::json("PUT", &self.path, self.desired.clone(), doing),
        }
    }

    /// The path whose object carries this one's mark: its own, but for a role mapping, which has
    /// no room for one and is wafwatch's when the role it maps is.
    pub fn mark_path(&self) -> String {
        match self.kind {
            ObjectKind::RoleMapping => format!("/_plugins/_security/api/roles/{}", self.name),
            _ => self.path.clone(),
        }
    }

    /// Whether the object found at [`Object::mark_path`] carries wafwatch's mark.
    pub fn is_ours(&self, marked: &Value) -> bool {
        is_managed(marked)
    }

    /// The request that deletes it.
    pub fn delete(&self) -> Request {
        Request::bare("DELETE", &self.path, self.doing(Verb::Delete))
    }
}
