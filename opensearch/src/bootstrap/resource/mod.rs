//! The one ordered list of what the bootstrap manages: [`resources`].
//!
//! Each [`Resource`] knows where it lives, the body wafwatch wants, how to recognise an object
//! that is wafwatch's (the mark, the fingerprint) and how to compare what it wants with what is
//! live. `plan` sends every resource's create requests in list order; `apply` reconciles each in
//! list order; `status` reads the detectors and monitors in it; `destroy` walks it in reverse.
//!
//! The order is contract §1: the index template before the first index; the ISM policy before the
//! first index (it attaches only to indices created after it); the security role before its
//! mapping; channels before the monitors that name them; detectors (which need documents in the
//! index) before their monitors (which need the detectors' ids); the Dashboards saved objects last.
//!
//! Behaviour that belongs to one kind of object lives in that kind's file: [`object`] (template,
//! policy, role, mapping, channels), [`first_index`], [`detector`], [`monitor`],
//! [`saved_objects`].

pub mod detector;
pub mod first_index;
pub mod monitor;
pub mod object;
pub mod saved_objects;

use detector::Detector;
use first_index::FirstIndex;
use monitor::Monitor;
use object::Object;
use saved_objects::SavedObjects;

use crate::bootstrap::request::Request;
use crate::bootstrap::spec::Spec;

/// One thing the bootstrap manages.
#[derive(Debug, Clone)]
pub enum Resource<'s> {
    /// An object at a path of its own: the index template, the ISM policy, the security role, its
    /// mapping, a channel.
    Object(Object),
    /// The first index behind the write alias.
    FirstIndex(FirstIndex),
    /// An anomaly detector.
    Detector(Detector),
    /// An alerting monitor.
    Monitor(Monitor<'s>),
    /// The Dashboards saved objects.
    SavedObjects(SavedObjects),
}

/// Everything the spec defines, in the order it is created.
pub fn resources(spec: &Spec) -> Vec<Resource<'_>> {
    let index = &spec.index;
    let mut list = vec![
        Resource::Object(Object::index_template(index)),
        Resource::Object(Object::ism_policy(index)),
        Resource::FirstIndex(FirstIndex::new(index)),
    ];
    if let Some((role, arn)) = &spec.firehose_access {
        list.push(Resource::Object(Object::security_role(role, index)));
        list.push(Resource::Object(Object::role_mapping(role, arn)));
    }
    list.extend(spec.channels.iter().map(|c| Resource::Object(Object::channel(c))));
    list.extend(spec.detection.detectors.iter().map(|d| Resource::Detector(Detector::new(d, spec))));
    list.extend(spec.detection.monitors.iter().map(|m| Resource::Monitor(Monitor::new(m, spec))));
    list.push(Resource::SavedObjects(SavedObjects::new(spec)));
    list
}

impl Resource<'_> {
    /// The requests that create it on an empty cluster (lookups left out), as `plan` shows them.
    pub fn plan(&self) -> Vec<Request> {
        match self {
            Resource::Object(o) => vec![o.create.clone()],
            Resource::FirstIndex(i) => vec![i.create()],
            Resource::Detector(d) => d.plan(),
            Resource::Monitor(m) => vec![m.plan()],
            Resource::SavedObjects(s) => vec![s.plan()],
        }
    }
}
