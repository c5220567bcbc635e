//! The borrowed, partial parse: one pass over a record that validates the whole JSON text, reads
//! only the members the configuration names, and builds no DOM.
//!
//! Strings without escapes are borrowed from the input; numbers and booleans are kept as their
//! JSON text (so `404` matches `"404"` and `1.50` stays `1.50`); objects and arrays count as
//! missing. The top-level member names are checked against the names the transformer will add, so
//! a document can never carry a member twice.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use wafwatch_config::pointer::Pointer;

/// Index of a value the extractor pulls out of each record: one slot per distinct pointer.
pub(crate) type SlotId = usize;

/// A value read from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// Absent, null, an object or an array.
    Missing,
    /// A string, unescaped (borrowed when it had no escapes).
    Str(Cow<'a, str>),
    /// A number or boolean, as its JSON text.
    Literal(&'a str),
}

impl Value<'_> {
    /// The text a value matches by, or `None` when missing.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Missing => None,
            Value::Str(s) => Some(s),
            Value::Literal(s) => Some(s),
        }
    }
}

/// The members to read, as a tree of pointer tokens.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathTrie {
    root: Node,
    slots: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    slot: Option<SlotId>,
    children: Vec<(Box<str>, Node)>,
}

impl Node {
    #[inline]
    fn child(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|(k, _)| **k == *key).map(|(_, n)| n)
    }
}

impl PathTrie {
    pub(crate) fn build(pointers: &[Pointer]) -> Self {
        let mut root = Node::default();
        for (slot, p) in pointers.iter().enumerate() {
            let mut node = &mut root;
            for tok in p.tokens() {
                let pos = match node.children.iter().position(|(k, _)| **k == **tok) {
                    Some(pos) => pos,
                    None => {
                        node.children.push((tok.as_str().into(), Node::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[pos].1;
            }
            node.slot = Some(slot);
        }
        PathTrie { root, slots: pointers.len() }
    }
}

/// Why a record could not be read.
#[derive(Debug)]
pub(crate) enum ExtractError {
    /// Valid JSON, but not an object.
    NotObject,
    /// Not valid JSON.
    Json(serde_json::Error),
}

/// Reads the configured members of `text`, which must hold exactly one JSON object.
///
/// Returns the values by slot and the first top-level member whose name is in `reserved`.
pub(crate) fn extract<'a>(
    text: &'a str,
    trie: &PathTrie,
    reserved: &[String],
) -> Result<(Vec<Value<'a>>, Option<String>), ExtractError> {
    if !text.trim_start().starts_with('{') {
        // Only on the failure path: say whether it is JSON at all.
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => ExtractError::NotObject,
            Err(e) => ExtractError::Json(e),
        });
    }
    let mut values = vec![Value::Missing; trie.slots];
    let mut clash = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let walk = Walk { node: &trie.root, values: &mut values, reserved: Some(reserved), clash: &mut clash };
    de.deserialize_map(walk).map_err(ExtractError::Json)?;
    de.end().map_err(ExtractError::Json)?;
    Ok((values, clash))
}

fn classify(raw: &RawValue) -> Result<Value<'_>, serde_json::Error> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
                Value::Str(Cow::Owned(serde_json::from_str::<String>(text)?))
            } else {
                Value::Str(Cow::Borrowed(inner))
            }
        }
        Some(b'n' | b'{' | b'[') | None => Value::Missing,
        Some(_) => Value::Literal(text),
    })
}

/// A member name, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

struct Walk<'t, 's, 'de> {
    node: &'t Node,
    values: &'s mut [Value<'de>],
    /// Checked at the top level only.
    reserved: Option<&'t [String]>,
    clash: &'s mut Option<String>,
}

impl<'de> Walk<'_, '_, 'de> {
    /// Reads the value of a member or element whose trie node is `child`.
    fn visit_child<E: de::Error>(
        child: &Node,
        values: &mut [Value<'de>],
        clash: &mut Option<String>,
        raw: Option<&'de RawValue>,
    ) -> Result<(), E> {
        let Some(raw) = raw else { return Ok(()) };
        if let Some(slot) = child.slot {
            values[slot] = classify(raw).map_err(E::custom)?;
        }
        if !child.children.is_empty() && matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            Walk { node: child, values, reserved: None, clash }.deserialize(&mut de).map_err(E::custom)?;
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if let Some(reserved) = self.reserved
                && self.clash.is_none()
                && reserved.iter().any(|r| *r == *key)
            {
                *self.clash = Some(key.clone().into_owned());
            }
            match self.node.child(&key) {
                Some(child) if child.slot.is_some() => {
                    let raw: &'de RawValue = map.next_value()?;
                    Self::visit_child::<A::Error>(child, self.values, self.clash, Some(raw))?;
                }
                Some(child) => {
                    map.next_value_seed(Walk { node: child, values: self.values, reserved: None, clash: self.clash })?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        let mut buf = itoa_buf();
        loop {
            let key = fmt_index(&mut buf, index);
            match self.node.child(key) {
                Some(child) => {
                    let raw: Option<&'de RawValue> = seq.next_element()?;
                    if raw.is_none() {
                        return Ok(());
                    }
                    Self::visit_child::<A::Error>(child, self.values, self.clash, raw)?;
                }
                None => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        return Ok(());
                    }
                }
            }
            index += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

fn itoa_buf() -> String {
    String::with_capacity(20)
}

fn fmt_index(buf: &mut String, i: usize) -> &str {
    use std::fmt::Write;
    buf.clear();
    let _ = write!(buf, "{i}");
    buf.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<'a>(text: &'a str, pointers: &[&str], reserved: &[&str]) -> (Vec<Value<'a>>, Option<String>) {
        let ps: Vec<Pointer> = pointers.iter().map(|p| Pointer::parse(p).unwrap()).collect();
        let trie = PathTrie::build(&ps);
        let reserved: Vec<String> = reserved.iter().map(|s| s.to_string()).collect();
        match extract(text, &trie, &reserved) {
            Ok(v) => v,
            Err(ExtractError::NotObject) => panic!("not an object"),
            Err(ExtractError::Json(e)) => panic!("{e}"),
        }
    }

    #[test]
    fn reads_nested_members_numbers_and_escapes() {
        let text = r#"{"a":"x","n":{"c":"U\u0053","d":404,"e":1.50,"f":true},"arr":[{"v":"first"},{"v":"second"}]}"#;
        let (v, clash) = run(text, &["/a", "/n/c", "/n/d", "/n/e", "/n/f", "/arr/1/v", "/nope"], &[]);
        assert_eq!(v[0], Value::Str(Cow::Borrowed("x")));
        assert_eq!(v[1].text(), Some("US"));
        assert!(matches!(v[1], Value::Str(Cow::Owned(_))));
        assert_eq!(v[2], Value::Literal("404"));
        assert_eq!(v[3], Value::Literal("1.50"));
        assert_eq!(v[4], Value::Literal("true"));
        assert_eq!(v[5].text(), Some("second"));
        assert_eq!(v[6], Value::Missing);
        assert_eq!(clash, None);
    }

    #[test]
    fn null_objects_and_arrays_are_missing() {
        let (v, _) = run(r#"{"a":null,"b":{"x":1},"c":[1]}"#, &["/a", "/b", "/c"], &[]);
        assert!(v.iter().all(|v| *v == Value::Missing));
    }

    #[test]
    fn a_member_and_its_children_can_both_be_read() {
        let (v, _) = run(r#"{"h":{"c":"IE"}}"#, &["/h", "/h/c"], &[]);
        assert_eq!(v[0], Value::Missing);
        assert_eq!(v[1].text(), Some("IE"));
    }

    #[test]
    fn reserved_top_level_names_are_reported_but_nested_ones_are_not() {
        let (_, clash) = run(r#"{"x":{"B_action":1},"@timestamp":"t"}"#, &[], &["B_action", "@timestamp"]);
        assert_eq!(clash.as_deref(), Some("@timestamp"));
    }

    #[test]
    fn invalid_or_trailing_json_is_an_error() {
        let trie = PathTrie::build(&[]);
        for bad in [r#"{"a":1"#, r#"{"a":1}{"b":2}"#, r#"{"a":tru}"#, r#"{"a":"\x"}"#] {
            assert!(matches!(extract(bad, &trie, &[]), Err(ExtractError::Json(_))), "{bad}");
        }
        assert!(matches!(extract("[1]", &trie, &[]), Err(ExtractError::NotObject)));
        assert!(matches!(extract("\"s\"", &trie, &[]), Err(ExtractError::NotObject)));
    }
}
