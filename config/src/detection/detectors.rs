//! The named checks of `[[detector]]`: its name and description, each feature, the timing, the
//! category fields, and the suppression rules.

use std::collections::HashSet;

use super::sections::{DetectorSection, FeatureSection, SuppressSection};
use super::{Aggregation, Captures, Context, Detector, Feature, FeatureSource, Suppression};
use crate::duration::whole_minutes;
use crate::error::Problems;
use crate::names;

/// The anomaly-detection plugin's default limit on features per detector.
pub const MAX_FEATURES: usize = 5;

/// The anomaly-detection plugin's default limit on category fields per detector.
pub const MAX_CATEGORY_FIELDS: usize = 2;

/// Checks every detector and derives the validated ones.
pub(super) fn check_all(
    sections: &[DetectorSection],
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Vec<Detector> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, d) in sections.iter().enumerate() {
        let base = format!("detector[{i}]");
        identity(d, &base, &mut names, problems);
        let features = features(&d.features, &base, ctx, captures, problems);
        let interval = minutes(&d.interval, format!("{base}.interval"), false, problems);
        let window_delay = minutes(&d.window_delay, format!("{base}.window_delay"), true, problems);
        if !(1..=128).contains(&d.shingle_size) {
            problems.push(format!("{base}.shingle_size"), format!("expected 1 to 128, got {}", d.shingle_size));
        }
        let category_fields = category_fields(&d.category_field, &base, ctx, captures, problems);
        if d.max_entities == 0 {
            problems.push(format!("{base}.max_entities"), "expected at least 1");
        }
        let suppress = suppression(&d.suppress, &d.features, &base, problems);
        out.push(Detector {
            name: d.name.clone(),
            description: d.description.clone().unwrap_or_default(),
            features,
            interval,
            window_delay,
            shingle_size: d.shingle_size,
            category_fields,
            max_entities: d.max_entities,
            imputation: d.imputation,
            suppress,
        });
    }
    out
}

/// A whole number of minutes, or the problem at `key` (and a minute, so checking goes on).
fn minutes(text: &str, key: String, allow_zero: bool, problems: &mut Problems) -> std::time::Duration {
    whole_minutes(text, allow_zero).unwrap_or_else(|problem| {
        problems.push(key, problem);
        std::time::Duration::from_secs(60)
    })
}

/// The name (the plugin's rules, unique) and the description's length.
fn identity(d: &DetectorSection, base: &str, seen: &mut HashSet<String>, problems: &mut Problems) {
    if let Err(problem) = names::detector_name(&d.name) {
        problems.push(format!("{base}.name"), problem);
    }
    if !seen.insert(d.name.clone()) {
        problems.push(format!("{base}.name"), format!("duplicate detector name `{}`", d.name));
    }
    if let Some(Err(problem)) = d.description.as_deref().map(names::description) {
        problems.push(format!("{base}.description"), problem);
    }
}

/// 1 to 5 features, uniquely named, each with a source its aggregation can take.
fn features(
    sections: &[FeatureSection],
    base: &str,
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Vec<Feature> {
    if sections.is_empty() || sections.len() > MAX_FEATURES {
        problems.push(
            format!("{base}.features"),
            format!("expected 1 to 5 features (the anomaly-detection plugin's default limit), got {}", sections.len()),
        );
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (j, f) in sections.iter().enumerate() {
        let key = format!("{base}.features[{j}]");
        if let Err(problem) = names::feature_name(&f.name) {
            problems.push(format!("{key}.name"), problem);
        }
        if !seen.insert(f.name.as_str()) {
            problems.push(format!("{key}.name"), format!("duplicate feature name `{}`", f.name));
        }
        if let Some(source) = feature_source(f, &key, ctx, captures, problems) {
            out.push(Feature { name: f.name.clone(), source, aggregation: f.aggregation });
        }
    }
    out
}

/// A feature aggregates exactly one of a column (numeric aggregations) or a categorical field
/// (`cardinality`, `value_count`).
fn feature_source(
    f: &FeatureSection,
    key: &str,
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Option<FeatureSource> {
    match (&f.column, &f.field, f.aggregation) {
        (Some(_), Some(_), _) | (None, None, _) => {
            problems.push(key, "give exactly one of `column` or `field`");
            None
        }
        (Some(_), None, Aggregation::Cardinality) => {
            problems.push(
                format!("{key}.aggregation"),
                "cardinality of a 0/1 column is at most 2: count distinct values of a `field` instead",
            );
            None
        }
        (Some(column), None, _) => match ctx.transform.column(column) {
            Some(id) => Some(FeatureSource::Column { id, name: column.clone() }),
            None => {
                let names: Vec<&str> = ctx.transform.column_names().collect();
                problems.push(
                    format!("{key}.column"),
                    format!("`{column}` is not a column of the [[encode]] sections (they are: {})", names.join(", ")),
                );
                None
            }
        },
        (None, Some(pointer), Aggregation::Cardinality | Aggregation::ValueCount) => {
            let field = ctx.categorical(pointer, format!("{key}.field"), "aggregate it", problems)?;
            Some(FeatureSource::Field { capture: captures.index_of(&field), field })
        }
        (None, Some(_), agg) => {
            problems.push(
                format!("{key}.aggregation"),
                format!("`{}` needs a numeric `column`; a `field` takes cardinality or value_count", agg.as_str()),
            );
            None
        }
    }
}

/// At most two category fields, each a keyword or ip field.
fn category_fields(
    fields: &[String],
    base: &str,
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Vec<usize> {
    if fields.len() > MAX_CATEGORY_FIELDS {
        problems.push(
            format!("{base}.category_field"),
            format!("at most 2 category fields (the plugin's default limit), got {}", fields.len()),
        );
    }
    fields
        .iter()
        .enumerate()
        .filter_map(|(j, pointer)| {
            ctx.categorical(pointer, format!("{base}.category_field[{j}]"), "split detection by it", problems)
        })
        .map(|field| captures.index_of(&field))
        .collect()
}

/// Each rule names a feature of the detector and has a value exactly when its type compares one.
fn suppression(
    sections: &[SuppressSection],
    features: &[FeatureSection],
    base: &str,
    problems: &mut Problems,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    for (j, s) in sections.iter().enumerate() {
        let key = format!("{base}.suppress[{j}]");
        match features.iter().position(|f| f.name == s.feature) {
            Some(feature) => out.push(Suppression { feature, kind: s.kind, value: s.value }),
            None => problems.push(format!("{key}.feature"), format!("no feature named `{}`", s.feature)),
        }
        match (s.kind.takes_value(), s.value) {
            (true, Some(v)) if v > 0.0 && v.is_finite() => {}
            (true, _) => {
                problems.push(format!("{key}.value"), format!("`{}` needs a `value` greater than 0", s.kind.as_str()))
            }
            (false, Some(_)) => problems.push(format!("{key}.value"), format!("`{}` takes no value", s.kind.as_str())),
            (false, None) => {}
        }
    }
    out
}
