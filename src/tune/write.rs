//! `tune --write`: the suggested thresholds written into the configuration file in place, with
//! its comments and layout kept (`toml_edit`): only the values of `threshold` (count monitors) and
//! `min_grade` (anomaly monitors) change, each keeping the comment beside it.

use toml_edit::{DocumentMut, Item, Value};

use super::suggest::Suggestion;

/// `text` (a whole `wafwatch.toml`) with each suggested threshold written into its `[[monitor]]`.
/// Returns the new text and the names of the monitors changed.
pub fn write_thresholds(text: &str, suggestions: &[Suggestion]) -> Result<(String, Vec<String>), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let mut changed = Vec::new();
    if let Some(monitors) = doc.get_mut("monitor").and_then(Item::as_array_of_tables_mut) {
        for table in monitors.iter_mut() {
            let name = table.get("name").and_then(Item::as_str).unwrap_or_default().to_owned();
            let Some(s) = suggestions.iter().find(|s| s.name == name) else { continue };
            let (key, value) = match s.kind {
                "count" => ("threshold", Value::from(s.suggested as i64)),
                _ => ("min_grade", Value::from(s.suggested)),
            };
            set_keeping_decor(table, key, value);
            changed.push(name);
        }
    }
    Ok((doc.to_string(), changed))
}

/// Sets `key` to `value`, keeping the whitespace and comment around the old value.
fn set_keeping_decor(table: &mut toml_edit::Table, key: &str, mut value: Value) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(name: &str, kind: &'static str, suggested: f64) -> Suggestion {
        Suggestion {
            name: name.into(),
            threshold: 0.0,
            suggested,
            kind,
            evaluations: 0,
            quantile: 0.0,
            value_at_quantile: 0.0,
            margin: 0.0,
            fired_now: vec![],
            fired_suggested: vec![],
        }
    }

    #[test]
    fn only_the_thresholds_change_and_the_comments_stay() {
        let text = "# my pipeline\n[[monitor]]\nname = \"a\"   # the first\nrule = \"r\"\nthreshold = 20          # per 5 minutes\nwindow = \"5m\"\n\n\
                    # the forest\n[[monitor]]\nname = \"b\"\ndetector = \"d\"\nmin_grade = 0.7 # grade\n\n[[monitor]]\nname = \"c\"\ndetector = \"d\"\n";
        let (out, changed) =
            write_thresholds(text, &[suggestion("a", "count", 37.0), suggestion("b", "anomaly", 0.42)]).unwrap();
        assert_eq!(changed, ["a", "b"]);
        assert_eq!(
            out,
            text.replace("threshold = 20 ", "threshold = 37 ").replace("min_grade = 0.7 ", "min_grade = 0.42 ")
        );
    }
}
