//! A mustache renderer for the subset the templates use: variables, sections and inverted
//! sections, no partials and no escaping (the messages are plain text).

use serde_json::Value;

/// Renders mustache `source` with `data`: `{{path}}` and `{{{path}}}` (dotted paths, numeric
/// segments index arrays, `.` is the current item), sections `{{#path}}...{{/path}}` over arrays,
/// objects and true values, and inverted sections `{{^path}}...{{/path}}`. Nothing is HTML-escaped:
/// the messages are plain text. A path that resolves to nothing renders as nothing.
pub fn render(source: &str, data: &Value) -> String {
    let mut out = String::new();
    render_into(source, &[data], &mut out);
    out
}

fn lookup<'a>(stack: &[&'a Value], path: &str) -> Option<&'a Value> {
    if path == "." {
        return stack.last().copied();
    }
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut value = stack.iter().rev().find_map(|v| step(v, first))?;
    for p in parts {
        value = step(value, p)?;
    }
    Some(value)
}

fn step<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => true,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Finds the `{{/name}}` closing the section opened just before `rest`, allowing nested sections of
/// the same name. Returns (inner, after).
fn section_end<'s>(rest: &'s str, name: &str) -> Option<(&'s str, &'s str)> {
    let (open_a, open_b, close) = (format!("{{{{#{name}}}}}"), format!("{{{{^{name}}}}}"), format!("{{{{/{name}}}}}"));
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(pos) = rest[i..].find("{{") {
        let at = i + pos;
        let tail = &rest[at..];
        if tail.starts_with(&close) {
            if depth == 0 {
                return Some((&rest[..at], &rest[at + close.len()..]));
            }
            depth -= 1;
        } else if tail.starts_with(&open_a) || tail.starts_with(&open_b) {
            depth += 1;
        }
        i = at + 2;
    }
    None
}

fn render_into(mut source: &str, stack: &[&Value], out: &mut String) {
    while let Some(pos) = source.find("{{") {
        out.push_str(&source[..pos]);
        let rest = &source[pos..];
        let (tag, after) = if let Some(r) = rest.strip_prefix("{{{") {
            match r.find("}}}") {
                Some(end) => (&r[..end], &r[end + 3..]),
                None => {
                    source = rest;
                    break;
                }
            }
        } else {
            match rest[2..].find("}}") {
                Some(end) => (&rest[2..2 + end], &rest[2 + end + 2..]),
                None => {
                    source = rest;
                    break;
                }
            }
        };
        let tag = tag.trim();
        if let Some(name) = tag.strip_prefix('#').or_else(|| tag.strip_prefix('^')).map(str::trim) {
            let inverted = tag.starts_with('^');
            let Some((inner, rest_after)) = section_end(after, name) else {
                source = after;
                continue;
            };
            let value = lookup(stack, name);
            if inverted {
                if !truthy(value) {
                    render_into(inner, stack, out);
                }
            } else if truthy(value)
                && let Some(v) = value
            {
                match v {
                    Value::Array(items) => {
                        for item in items {
                            let mut inner_stack = stack.to_vec();
                            inner_stack.push(item);
                            render_into(inner, &inner_stack, out);
                        }
                    }
                    Value::Object(_) => {
                        let mut inner_stack = stack.to_vec();
                        inner_stack.push(v);
                        render_into(inner, &inner_stack, out);
                    }
                    _ => render_into(inner, stack, out),
                }
            }
            source = rest_after;
        } else if tag.starts_with('/') || tag.starts_with('!') {
            source = after;
        } else {
            if let Some(v) = lookup(stack, tag) {
                out.push_str(&text(v));
            }
            source = after;
        }
    }
    out.push_str(source);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_variables_sections_and_indices() {
        let data = json!({"ctx": {"monitor": {"name": "m"}, "results": [{"hits": {"hits": [{"_source": {
            "entity": [{"name": "clientIp", "value": "10.0.0.1"}], "grade": 0.9}}]}}], "none": [], "flag": false}});
        let src = "{{ctx.monitor.name}}:{{#ctx.results.0.hits.hits.0._source.entity}} {{name}}={{value}}{{/ctx.results.0.hits.hits.0._source.entity}} g={{ctx.results.0.hits.hits.0._source.grade}}{{#ctx.none}}x{{/ctx.none}}{{^ctx.none}} empty{{/ctx.none}}{{^ctx.flag}} no{{/ctx.flag}}{{missing.path}}.";
        assert_eq!(render(src, &data), "m: clientIp=10.0.0.1 g=0.9 empty no.");
        assert_eq!(render("{{#a}}[{{.}}]{{/a}}", &json!({"a": [1, "x"]})), "[1][x]");
        assert_eq!(render("{{#o}}{{k}}{{#o}}{{k}}{{/o}}{{/o}}", &json!({"o": {"k": "v"}})), "vv");
        assert_eq!(render("unclosed {{x", &json!({})), "unclosed {{x");
    }
}
