//! The bootstrap: turns `wafwatch.toml` into a working OpenSearch deployment and keeps it in step.
//!
//! Everything it manages is one ordered list, [`resource::resources`], built from a [`Spec`]
//! (what the configuration asks for, resolved). Each [`Resource`](resource::Resource) knows its
//! path, the body wafwatch wants, how to recognise an object that is wafwatch's, and how to
//! compare what it wants with what is live. The four commands walk that list:
//!
//! - [`plan()`]: no network. Every resource's create requests, in order: what a first `apply` sends
//!   to an empty cluster. [`validate`] checks them against the contract's 20 rules.
//! - [`apply`](apply::apply): an idempotent reconcile. It finds each object (by name for detectors
//!   and monitors, which get server ids), creates what is missing, updates what differs (stopping
//!   and restarting a running detector where the plugin requires it, recreating one whose category
//!   fields change, and moving monitors to their detector's new id), and leaves what is equal
//!   alone, so a second apply sends no write.
//! - [`status`](status::status): the detectors' states and anomalies, the monitors' active alerts.
//! - [`destroy`](destroy::destroy): the list in reverse, deleting only what carries wafwatch's mark.
//!
//! Order (contract §1): the index template before the first index; the ISM policy before the
//! first index (it attaches only to indices created after it); channels before the monitors that
//! name them; detectors only once the index holds documents, then their monitors; the Dashboards
//! saved objects last.
//!
//! Where things are: [`bodies`] builds the JSON (pure, snapshotted); [`resource`] says, per kind,
//! where it lives and how to compare it; [`reconcile`], [`detectors`], [`monitors`] and
//! [`dashboards`] are `apply` per kind, [`historical`] starts and stops historical analyses, [`ism`] keeps the managed indices on the
//! policy; [`client`] sends requests (with retries), [`session`]
//! records what a run did, [`error`] explains refusals.

pub mod apply;
pub mod bodies;
pub mod client;
pub mod compare;
pub mod dashboards;
pub mod destroy;
pub mod detectors;
pub mod error;
pub mod historical;
pub mod ism;
pub mod lookup;
pub mod monitors;
pub mod plan;
pub mod reconcile;
pub mod report;
pub mod request;
pub mod resource;
pub mod session;
pub mod spec;
pub mod status;
pub mod validate;

pub use plan::{plan, render_plan};
pub use request::{Body, Request};
pub use spec::{DASHBOARDS_PLACEHOLDER, Dashboards, Spec};
