//! The ids the cluster gave wafwatch's detectors and monitors, looked up by name once per run, when
//! the walk first needs them.

use std::collections::HashMap;

use super::client::Api;
use super::error::BootstrapError;
use super::resource::{detector, monitor};
use super::session::Session;
use super::spec::Spec;

/// Detector and monitor ids by name, each looked up at most once.
#[derive(Debug, Default)]
pub struct Lookups<'s> {
    detector_names: Vec<&'s str>,
    monitor_names: Vec<&'s str>,
    detectors: Option<HashMap<String, String>>,
    monitors: Option<HashMap<String, String>>,
}

impl<'s> Lookups<'s> {
    /// The lookups of the spec's detectors and monitors, none made yet.
    pub fn new(spec: &'s Spec) -> Self {
        Lookups {
            detector_names: spec.detection.detectors.iter().map(|d| d.name.as_str()).collect(),
            monitor_names: spec.detection.monitors.iter().map(|m| m.name.as_str()).collect(),
            detectors: None,
            monitors: None,
        }
    }

    /// The id of the detector `name`, if the cluster has one of that name.
    pub async fn detector<A: Api>(
        &mut self,
        cx: &Session<'_, A>,
        name: &str,
    ) -> Result<Option<String>, BootstrapError> {
        let found = match self.detectors.take() {
            Some(found) => found,
            None => detector::find(cx, &self.detector_names).await?,
        };
        Ok(self.detectors.insert(found).get(name).cloned())
    }

    /// The id of the monitor `name`, if the cluster has one of that name.
    pub async fn monitor<A: Api>(&mut self, cx: &Session<'_, A>, name: &str) -> Result<Option<String>, BootstrapError> {
        let found = match self.monitors.take() {
            Some(found) => found,
            None => monitor::find(cx, &self.monitor_names).await?,
        };
        Ok(self.monitors.insert(found).get(name).cloned())
    }
}
