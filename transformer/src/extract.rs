//! The borrowed, partial parse: one pass over a record that validates the whole JSON text, reads
//! only the members the configuration names, and builds no DOM.
//!
//! Strings without escapes are borrowed from the input; numbers and booleans are kept as their
//! JSON text (so `404` matches `"404"` and `1.50` stays `1.50`); objects and arrays count as
//! missing. The top-level member names are checked against the names the transformer will add, so
//! a document can never carry a member twice.
//!
//! An array can also be read element by element (a *list*): for each element, the members at
//! pointers relative to the element are read into one row of that list, in the same pass.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use wafwatch_config::pointer::Pointer;

/// Index of a value the extractor pulls out of each record: one slot per distinct pointer.
pub(crate) type SlotId = usize;

/// Rows reserved at once when a list gets its first element.
const ROWS_RESERVED: usize = 8;

/// Index of an array read element by element: one list per distinct array pointer.
pub(crate) type ListId = usize;

/// An array to read element by element, and the members to read inside each element (each row
/// of the list holds their values, in this order).
#[derive(Debug, Clone)]
pub(crate) struct ListSpec {
    pub(crate) array: Pointer,
    pub(crate) members: Vec<Pointer>,
}

/// What one pass read: the value of each slot, and the rows of each list.
#[derive(Debug)]
pub(crate) struct Extracted<'a> {
    /// By [`SlotId`].
    pub(crate) values: Vec<Value<'a>>,
    /// By [`ListId`]: one row per element of the array, each `members.len()` values long, flat.
    pub(crate) lists: Vec<Vec<Value<'a>>>,
    /// The first top-level member whose name is reserved.
    pub(crate) clash: Option<String>,
}

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
    lists: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    slot: Option<SlotId>,
    children: Vec<(Box<str>, Node)>,
    /// When this member is an array read element by element.
    element: Option<Box<Element>>,
}

/// How each element of a list's array is read: a trie of its own, whose slots index the row.
#[derive(Debug, Clone)]
struct Element {
    list: ListId,
    width: usize,
    root: Node,
}

impl Node {
    #[inline]
    fn child(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|(k, _)| **k == *key).map(|(_, n)| n)
    }
}

impl Node {
    /// The node at `p` below this one, created as needed.
    fn at(&mut self, p: &Pointer) -> &mut Node {
        let mut node = self;
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
        node
    }
}

impl PathTrie {
    /// The trie reading `pointers` (slot `i` is `pointers[i]`) and `lists` (list `i` is `lists[i]`,
    /// whose arrays must be distinct).
    pub(crate) fn build(pointers: &[Pointer], lists: &[ListSpec]) -> Self {
        let mut root = Node::default();
        for (slot, p) in pointers.iter().enumerate() {
            root.at(p).slot = Some(slot);
        }
        for (list, spec) in lists.iter().enumerate() {
            let mut element = Element { list, width: spec.members.len(), root: Node::default() };
            for (slot, p) in spec.members.iter().enumerate() {
                element.root.at(p).slot = Some(slot);
            }
            root.at(&spec.array).element = Some(Box::new(element));
        }
        PathTrie { root, slots: pointers.len(), lists: lists.len() }
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

/// Reads the configured members of `text`, which must hold exactly one JSON object, and notes
/// the first top-level member whose name is in `reserved`.
pub(crate) fn extract<'a>(text: &'a str, trie: &PathTrie, reserved: &[String]) -> Result<Extracted<'a>, ExtractError> {
    if !text.trim_start().starts_with('{') {
        // Only on the failure path: say whether it is JSON at all.
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => ExtractError::NotObject,
            Err(e) => ExtractError::Json(e),
        });
    }
    let mut out = Extracted { values: vec![Value::Missing; trie.slots], lists: Vec::new(), clash: None };
    out.lists.resize_with(trie.lists, Vec::new);
    let mut de = serde_json::Deserializer::from_str(text);
    let walk = Walk {
        node: &trie.root,
        values: &mut out.values,
        lists: &mut out.lists,
        reserved: Some(reserved),
        clash: &mut out.clash,
    };
    de.deserialize_map(walk).map_err(ExtractError::Json)?;
    de.end().map_err(ExtractError::Json)?;
    Ok(out)
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
    lists: &'s mut [Vec<Value<'de>>],
    /// Checked at the top level only.
    reserved: Option<&'t [String]>,
    clash: &'s mut Option<String>,
}

impl<'de> Walk<'_, '_, 'de> {
    /// Reads the value of a member or element whose trie node is `child`.
    fn visit_child<E: de::Error>(
        child: &Node,
        values: &mut [Value<'de>],
        lists: &mut [Vec<Value<'de>>],
        clash: &mut Option<String>,
        raw: &'de RawValue,
    ) -> Result<(), E> {
        if let Some(slot) = child.slot {
            values[slot] = classify(raw).map_err(E::custom)?;
        }
        let nested = !child.children.is_empty() || child.element.is_some();
        if nested && matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            Walk { node: child, values, lists, reserved: None, clash }.deserialize(&mut de).map_err(E::custom)?;
        }
        Ok(())
    }

    /// Appends one row to `element`'s list and lets `read` fill it from the next element; the row
    /// is taken back when there was no next element. Returns whether there was one.
    fn read_row<E>(
        element: &Element,
        lists: &mut [Vec<Value<'de>>],
        clash: &mut Option<String>,
        read: impl FnOnce(Walk<'_, '_, 'de>) -> Result<Option<()>, E>,
    ) -> Result<bool, E> {
        let mut rows = std::mem::take(&mut lists[element.list]);
        if rows.capacity() == 0 {
            // Most arrays a WAF log holds have a few elements: one allocation for them.
            rows.reserve(ROWS_RESERVED * element.width);
        }
        let start = rows.len();
        rows.resize(start + element.width, Value::Missing);
        let walk = Walk { node: &element.root, values: &mut rows[start..], lists: &mut [], reserved: None, clash };
        let read = read(walk);
        if !matches!(read, Ok(Some(()))) {
            rows.truncate(start);
        }
        lists[element.list] = rows;
        read.map(|r| r.is_some())
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
                    Self::visit_child::<A::Error>(child, self.values, self.lists, self.clash, raw)?;
                }
                Some(child) => {
                    let walk =
                        Walk { node: child, values: self.values, lists: self.lists, reserved: None, clash: self.clash };
                    map.next_value_seed(walk)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Walk { node, values, lists, clash, .. } = self;
        let mut buf = itoa_buf();
        for index in 0usize.. {
            // Elements are named by their index only when the configuration names one.
            let child = if node.children.is_empty() { None } else { node.child(fmt_index(&mut buf, index)) };
            let more = match (child, node.element.as_deref()) {
                (None, None) => seq.next_element::<IgnoredAny>()?.is_some(),
                (None, Some(element)) => Self::read_row(element, lists, clash, |walk| seq.next_element_seed(walk))?,
                (Some(child), element) => {
                    let Some(raw) = seq.next_element::<&'de RawValue>()? else { return Ok(()) };
                    Self::visit_child::<A::Error>(child, values, lists, clash, raw)?;
                    if let Some(element) = element {
                        let mut de = serde_json::Deserializer::from_str(raw.get());
                        Self::read_row(element, lists, clash, |walk| walk.deserialize(&mut de).map(Some))
                            .map_err(<A::Error as de::Error>::custom)?;
                    }
                    true
                }
            };
            if !more {
                break;
            }
        }
        Ok(())
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
        let got = run_lists(text, pointers, &[], reserved);
        (got.values, got.clash)
    }

    fn run_lists<'a>(text: &'a str, pointers: &[&str], lists: &[(&str, &[&str])], reserved: &[&str]) -> Extracted<'a> {
        let parse = |p: &&str| Pointer::parse(p).unwrap();
        let ps: Vec<Pointer> = pointers.iter().map(parse).collect();
        let specs: Vec<ListSpec> = lists
            .iter()
            .map(|(array, members)| ListSpec { array: parse(array), members: members.iter().map(parse).collect() })
            .collect();
        let trie = PathTrie::build(&ps, &specs);
        let reserved: Vec<String> = reserved.iter().map(|s| s.to_string()).collect();
        match extract(text, &trie, &reserved) {
            Ok(v) => v,
            Err(ExtractError::NotObject) => panic!("not an object"),
            Err(ExtractError::Json(e)) => panic!("{e}"),
        }
    }

    fn texts<'a>(row: &'a [Value<'a>]) -> Vec<Option<&'a str>> {
        row.iter().map(Value::text).collect()
    }

    #[test]
    fn lists_read_one_row_per_element() {
        let text = r#"{"labels":[{"name":"a:b"},{"x":1},"s",7,null,{"name":"c\u0041","deep":{"k":true}}],"n":2}"#;
        let got = run_lists(text, &["/n"], &[("/labels", &["/name", "/deep/k"])], &[]);
        assert_eq!(got.values[0], Value::Literal("2"));
        let rows: Vec<_> = got.lists[0].chunks(2).map(texts).collect();
        assert_eq!(
            rows,
            [
                vec![Some("a:b"), None],
                vec![None, None],
                vec![None, None],
                vec![None, None],
                vec![None, None],
                vec![Some("cA"), Some("true")]
            ]
        );
    }

    #[test]
    fn missing_empty_and_non_array_lists_have_no_rows() {
        for text in [r#"{"a":1}"#, r#"{"labels":[]}"#, r#"{"labels":null}"#, r#"{"labels":{"name":"x"}}"#] {
            let got = run_lists(text, &[], &[("/labels", &["/name"])], &[]);
            assert!(got.lists[0].is_empty(), "{text}");
        }
    }

    #[test]
    fn a_list_nested_in_objects_and_an_indexed_element_are_both_read() {
        let text = r#"{"r":{"h":[{"n":"Host","v":"x"},{"n":"User-Agent","v":"curl/8"}]}}"#;
        let got = run_lists(text, &["/r/h/1/v", "/r/h"], &[("/r/h", &["/n", "/v"])], &[]);
        assert_eq!(got.values[0].text(), Some("curl/8"));
        assert_eq!(got.values[1], Value::Missing);
        assert_eq!(texts(&got.lists[0]), [Some("Host"), Some("x"), Some("User-Agent"), Some("curl/8")]);
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
        let trie = PathTrie::build(&[], &[]);
        for bad in [r#"{"a":1"#, r#"{"a":1}{"b":2}"#, r#"{"a":tru}"#, r#"{"a":"\x"}"#] {
            assert!(matches!(extract(bad, &trie, &[]), Err(ExtractError::Json(_))), "{bad}");
        }
        assert!(matches!(extract("[1]", &trie, &[]), Err(ExtractError::NotObject)));
        assert!(matches!(extract("\"s\"", &trie, &[]), Err(ExtractError::NotObject)));
    }
}
