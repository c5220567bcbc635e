//! Configuration problems: each names the key it was found at and what was expected, and a
//! validation reports all of them at once.

use std::fmt;

/// One problem found in a configuration: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key, as a path: `encode[1].columns[0].values`.
    pub key: String,
    /// What is wrong and what was expected.
    pub problem: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.problem)
    }
}

/// Everything wrong with a configuration, found in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Where the configuration came from (a file path, an environment variable), when known.
    pub origin: Option<String>,
    /// The problems, in the order of the keys.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// A single problem.
    pub fn one(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError { origin: None, problems: vec![ConfigProblem { key: key.into(), problem: problem.into() }] }
    }

    /// Sets where the configuration came from, for the message.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = self.origin.as_deref().unwrap_or("configuration");
        match self.problems.as_slice() {
            [one] => write!(f, "{origin}: {one}"),
            many => {
                write!(f, "{origin}: {} problems", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// Collects the problems the checks find; [`Problems::finish`] turns them into a result.
///
/// ```
/// use wafwatch_config::Problems;
/// let mut problems = Problems::default();
/// problems.push("index.shards", "expected at least 1");
/// assert_eq!(problems.finish(()).unwrap_err().to_string(), "configuration: `index.shards`: expected at least 1");
/// ```
#[derive(Debug, Default)]
pub struct Problems(Vec<ConfigProblem>);

impl Problems {
    /// Records a problem at `key`.
    pub fn push(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.0.push(ConfigProblem { key: key.into(), problem: problem.into() });
    }

    /// Records every problem of a failed validation.
    pub fn absorb(&mut self, error: ConfigError) {
        self.0.extend(error.problems);
    }

    /// Keeps the value of a validation that succeeded, records the problems of one that did not.
    pub fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.absorb(e)).ok()
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value a validation derived when nothing was found, every problem otherwise. A missing
    /// value with no problem recorded (a check that forgot to say why) is reported at `key`.
    pub fn finish_some<T>(self, value: Option<T>, key: &str) -> Result<T, ConfigError> {
        match (self.finish(()), value) {
            (Ok(()), Some(v)) => Ok(v),
            (Ok(()), None) => Err(ConfigError::one(key, "could not be validated")),
            (Err(e), _) => Err(e),
        }
    }

    /// `value` when nothing was found, every problem otherwise.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.0.is_empty() { Ok(value) } else { Err(ConfigError { origin: None, problems: self.0 }) }
    }
}
