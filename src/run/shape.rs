//! Whether the records fit the configuration: the shape a simulated run writes (the one the
//! configuration reads), and a check that the records carry the fields it reads.
//!
//! A configuration that reads `/httpRequest/country` sees nothing in flat records, whose country is
//! `/country`: every column of that field stays 0, detectors over them see nothing, and the run
//! looks quiet. `Coverage` watches the first records of a run and says so once.

use wafwatch_config::Transform;
use wafwatch_config::transform::{FieldShape, Format};
use wafwatch_log_simulator::sim::OutputFormat;
use wafwatch_transformer::{Facts, Transformer};

/// The record shape that carries the fields `transform` reads: AWS WAF's when it reads any member
/// under `/httpRequest`, the flat shape otherwise (text and CloudWatch Logs configurations read
/// the flat shape's JSON lines as text).
pub fn record_shape(transform: &Transform) -> OutputFormat {
    let nested = transform.fields().iter().any(|f| f.pointer.tokens().first().is_some_and(|t| t == "httpRequest"));
    if nested { OutputFormat::AwsWaf } else { OutputFormat::Flat }
}

/// How many of a run's first records `Coverage` looks at.
pub const COVERAGE_RECORDS: u64 = 1_000;

/// A field missing in more than this share of the records looked at is reported.
const MISSING_SHARE: f64 = 0.99;

/// Counts, over a run's first [`COVERAGE_RECORDS`] records, how often each field the configuration
/// reads one value from is missing (absent, null, an object or an array where a value was due).
pub struct Coverage {
    probe: Option<Transformer>,
    fields: Vec<String>,
    missing: Vec<u64>,
    seen: u64,
    facts: Facts,
    doc: Vec<u8>,
    warned: bool,
}

impl Coverage {
    /// A check of the plain fields of `transform` (array fields, `each` and `where`, are left out:
    /// an empty array is normal; so are fields marked `optional`). Text configurations have no
    /// fields to check.
    pub fn new(transform: &Transform) -> Self {
        let plain: Vec<_> = if transform.format() == Format::Json {
            transform
                .fields()
                .iter()
                .filter(|f| !f.optional && matches!(f.shape, FieldShape::Value))
                .map(|f| f.pointer.clone())
                .collect()
        } else {
            Vec::new()
        };
        let fields = plain.iter().map(|p| p.to_string()).collect();
        let missing = vec![0; plain.len()];
        let probe = if plain.is_empty() { None } else { Transformer::with_captures(transform.clone(), &plain).ok() };
        Coverage { probe, fields, missing, seen: 0, facts: Facts::default(), doc: Vec::new(), warned: false }
    }

    /// Whether it still looks at records.
    pub fn wants_more(&self) -> bool {
        self.probe.is_some() && self.seen < COVERAGE_RECORDS
    }

    /// Looks at one record, until enough have been seen; warns (once) when they have.
    pub fn observe(&mut self, record: &[u8], arrival_ms: i64) {
        let Some(probe) = &self.probe else { return };
        if self.seen >= COVERAGE_RECORDS {
            return;
        }
        self.doc.clear();
        if probe.transform_with_facts(record, arrival_ms, &mut self.doc, &mut self.facts).is_err() {
            return;
        }
        self.seen += 1;
        for (missing, value) in self.missing.iter_mut().zip(&self.facts.captured) {
            *missing += u64::from(value.is_none());
        }
        if self.seen == COVERAGE_RECORDS {
            self.warn();
        }
    }

    /// At the end of a run shorter than [`COVERAGE_RECORDS`] records: warns if it has not.
    pub fn finish(&mut self) {
        self.warn();
    }

    /// The fields missing in nearly every record looked at, each with how many records lacked it,
    /// and how many records were looked at.
    pub fn missing_fields(&self) -> (Vec<(&str, u64)>, u64) {
        let nearly_all = |n: u64| self.seen > 0 && n as f64 > MISSING_SHARE * self.seen as f64;
        let fields = self.fields.iter().zip(&self.missing).filter(|(_, n)| nearly_all(**n));
        (fields.map(|(f, n)| (f.as_str(), *n)).collect(), self.seen)
    }

    /// Warns once, on stderr, about the fields missing in nearly every record.
    fn warn(&mut self) {
        if self.warned {
            return;
        }
        let (fields, seen) = self.missing_fields();
        if fields.is_empty() {
            return;
        }
        let list = fields.iter().map(|(f, n)| format!("{f} ({n} of {seen})")).collect::<Vec<_>>().join(", ");
        tracing::warn!(
            fields = %list,
            "Configured fields are missing in nearly every record: the records do not fit the configuration \
             (flat records read with the AWS WAF preset, or the reverse?); their columns stay 0 and detectors \
             over them see nothing."
        );
        self.warned = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(toml: &str) -> Transform {
        use wafwatch_config::file::{Origin, parse};
        parse(toml, Origin::Bundled).unwrap().config().unwrap().transform
    }

    const FLAT: &str = r#"{"timestamp":1767225600000,"action":"ALLOW","httpSourceName":"CF","httpStatus":200,"country":"US","httpMethod":"GET","clientIp":"192.0.2.1","uri":"/"}"#;
    const WAF: &str = r#"{"timestamp":1767225600000,"action":"ALLOW","httpSourceName":"CF","httpRequest":{"clientIp":"192.0.2.1","country":"US","uri":"/","httpMethod":"GET","headers":[]}}"#;

    #[test]
    fn the_shape_follows_what_the_configuration_reads() {
        assert_eq!(record_shape(&transform(wafwatch_config::file::BUNDLED_DEFAULT_TOML)), OutputFormat::Flat);
        assert_eq!(record_shape(&transform(include_str!("../../presets/aws-waf.toml"))), OutputFormat::AwsWaf);
    }

    #[test]
    fn flat_records_under_the_aws_waf_preset_are_reported_and_fitting_ones_are_not() {
        let preset = transform(include_str!("../../presets/aws-waf.toml"));
        let mut misfit = Coverage::new(&preset);
        let mut fit = Coverage::new(&preset);
        for _ in 0..50 {
            misfit.observe(FLAT.as_bytes(), 0);
            fit.observe(WAF.as_bytes(), 0);
        }
        let (missing, seen) = misfit.missing_fields();
        assert_eq!(seen, 50);
        let names: Vec<_> = missing.iter().map(|(f, _)| *f).collect();
        assert!(names.contains(&"/httpRequest/country"), "{names:?}");
        assert!(names.contains(&"/httpRequest/httpMethod"), "{names:?}");
        assert!(!names.contains(&"/action"), "present in flat records too: {names:?}");
        assert_eq!(fit.missing_fields().0, Vec::<(&str, u64)>::new(), "every plain field is there");
    }

    #[test]
    fn only_the_first_records_are_looked_at_and_a_field_present_now_and_then_is_not_reported() {
        let default = transform(wafwatch_config::file::BUNDLED_DEFAULT_TOML);
        let mut coverage = Coverage::new(&default);
        let without_country = FLAT.replace(r#""country":"US","#, "");
        for i in 0..COVERAGE_RECORDS + 500 {
            let record = if i % 50 == 0 { FLAT.to_owned() } else { without_country.clone() };
            coverage.observe(record.as_bytes(), 0);
        }
        let (missing, seen) = coverage.missing_fields();
        assert_eq!(seen, COVERAGE_RECORDS);
        assert!(missing.is_empty(), "2% of the records carry a country: {missing:?}");
        let mut never = Coverage::new(&default);
        for _ in 0..10 {
            never.observe(without_country.as_bytes(), 0);
        }
        assert_eq!(never.missing_fields().0, vec![("/country", 10)]);
    }
}
