//! Record writing: a request as one JSON line, in the flat shape or the AWS WAF shape.
//!
//! Each shape is one function that writes its members in wire order, top to bottom (`flat`,
//! `aws_waf`); the members both shapes share are written by `head` (the web ACL's verdict) and
//! `request` (the HTTP request). A new member is one line in the shape that has it:
//! `w.str(key!("ja3Fingerprint"), ja3)`, or, when its value never changes, one more entry in a
//! `constant! { .. }` group.
//!
//! This is the generator's hot path, so [`JsonLine`] writes straight into the batch, without
//! building a document, and every piece of text that does not change (a key with its quotes and
//! comma, a constant member) is made at compile time by the `key!` and `constant!` macros and
//! copied in one piece. Values come from the model's tables and from numbers the generator draws,
//! none of which needs JSON escaping (a test checks the tables): a value from anywhere else would
//! need escaping first.

use crate::batch::Batch;
use crate::sim::traffic::{Action, Request};

/// The record shape written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// The flat WAF-style shape the default wafwatch.toml reads (with a synthetic httpStatus).
    #[default]
    Flat,
    /// The real AWS WAF log shape (nested httpRequest, no origin status).
    AwsWaf,
}

/// A member's key: the text that opens the member in each [`Pos`], made at compile time.
macro_rules! key {
    ($key:literal) => {
        Key {
            plain: [concat!("\"", $key, "\":"), concat!(",\"", $key, "\":"), concat!("\",\"", $key, "\":")],
            quoted: [concat!("\"", $key, "\":\""), concat!(",\"", $key, "\":\""), concat!("\",\"", $key, "\":\"")],
        }
    };
}

/// Members whose values never change, written like JSON (`{ "key": "json text", .. }`): their
/// whole text in each [`Pos`], made at compile time.
macro_rules! constant {
    ($key:literal: $json:literal $(, $k:literal: $j:literal)* $(,)?) => {
        [
            concat!("\"", $key, "\":", $json $(, ",\"", $k, "\":", $j)*),
            concat!(",\"", $key, "\":", $json $(, ",\"", $k, "\":", $j)*),
            concat!("\",\"", $key, "\":", $json $(, ",\"", $k, "\":", $j)*),
        ]
    };
}

// The AWS WAF shape's verdict members: a child module, so that it writes with the same writer
// and macros.
#[path = "verdict.rs"]
mod verdict;

/// Writes `r` (whose client address is `ip`) as one line of `format` at the end of `out`.
pub(crate) fn write(format: OutputFormat, r: &Request, ip: [u8; 4], out: &mut Batch) {
    let mut w = JsonLine::open(&mut out.data);
    match format {
        OutputFormat::Flat => flat(&mut w, r, ip),
        OutputFormat::AwsWaf => aws_waf(&mut w, r, ip),
    }
    w.close();
    out.end_line(r.ts);
}

/// The flat shape: the AWS WAF members the default configuration reads, at the top level, plus
/// the origin's status.
fn flat(w: &mut JsonLine<'_>, r: &Request, ip: [u8; 4]) {
    head(w, r, OutputFormat::Flat);
    w.int(key!("httpStatus"), r.status);
    w.str(key!("country"), r.country);
    w.str(key!("httpMethod"), r.method);
    request(w, r, ip);
}

/// The AWS WAF log shape: the verdict's details, then the request nested in `httpRequest`.
/// <https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html>
fn aws_waf(w: &mut JsonLine<'_>, r: &Request, ip: [u8; 4]) {
    head(w, r, OutputFormat::AwsWaf);
    w.constant(constant! { "httpSourceId": "\"111122223333-app/shop-alb/7d3f9a2b6c1e4d08\"" });
    verdict::members(w, r, ip);
    w.object(key!("httpRequest"));
    w.str(key!("country"), if r.country == "UK" { "GB" } else { r.country });
    w.str(key!("httpMethod"), r.method);
    request(w, r, ip);
    w.end_object();
    verdict::after_request(w, r);
}

/// The members both shapes open with: when, which web ACL, which rule decided what, and the
/// source.
fn head(w: &mut JsonLine<'_>, r: &Request, format: OutputFormat) {
    let action = match (r.action, format) {
        (Action::Allow, _) => "ALLOW",
        (Action::Block, _) => "BLOCK",
        (Action::Captcha, _) => "CAPTCHA",
        // The default configuration's columns expect the flat shape's spelling.
        (Action::Challenge, OutputFormat::Flat) => "Challenge",
        (Action::Challenge, OutputFormat::AwsWaf) => "CHALLENGE",
    };
    let (rule, rule_type) = verdict::terminating(r, format);
    w.int(key!("timestamp"), r.ts);
    w.constant(constant! {
        "formatVersion": "1",
        "webaclId": "\"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shop-acl/4f7c2a1e-9b3d-4c55-8e21-0a6d2b9f7e10\"",
    });
    w.str(key!("terminatingRuleId"), rule);
    w.str(key!("terminatingRuleType"), rule_type);
    w.str(key!("action"), action);
    w.str(key!("httpSourceName"), r.source);
}

/// The members of the HTTP request both shapes write after the country and the method.
fn request(w: &mut JsonLine<'_>, r: &Request, ip: [u8; 4]) {
    let (ip_text, ip_len) = dotted_quad(ip);
    w.str(key!("clientIp"), &ip_text[..ip_len]);
    w.str_with(key!("uri"), |o| {
        o.extend_from_slice(r.path.as_bytes());
        if r.probe != 0 {
            o.extend_from_slice(&hex::<8>(u64::from(r.probe)));
            o.extend_from_slice(b".php");
        }
    });
    w.str(key!("args"), r.args);
    w.constant(constant! { "httpVersion": "\"HTTP/1.1\"" });
    w.str(key!("requestId"), hex::<16>(r.id));
    w.array(key!("headers"));
    w.constant_element(r#"{"name":"Host","value":"shop.example.com"}"#);
    w.element_object();
    w.constant(constant! { "name": "\"User-Agent\"" });
    w.str(key!("value"), r.agent);
    w.end_object();
    w.constant_element(r#"{"name":"Accept","value":"*/*"}"#);
    w.end_array();
}

/// `ip` as text (`203.0.113.9`): a buffer and the length used.
fn dotted_quad(ip: [u8; 4]) -> ([u8; 15], usize) {
    let mut text = [0; 15];
    let mut len = 0;
    for (k, octet) in ip.into_iter().enumerate() {
        if k > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    (text, len)
}

/// The lowest `4 * N` bits of `v` as `N` lower-case hex digits.
fn hex<const N: usize>(v: u64) -> [u8; N] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; N];
    for (i, d) in out.iter_mut().enumerate() {
        *d = DIGITS[((v >> ((N - 1 - i) * 4)) & 0xf) as usize];
    }
    out
}

/// Where the writer stands, which decides how the next member opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// First in its object or array: no comma.
    First,
    /// After a value that is complete: a comma.
    AfterValue,
    /// After a string whose closing quote is not written yet: the quote, then a comma. Leaving
    /// it to the next piece of text saves one copy per string.
    AfterString,
}

/// A member's key, as the text that opens the member in each [`Pos`] (indexed in its order):
/// `plain` before a number, object or array, `quoted` before a string (with its opening quote).
#[derive(Debug, Clone, Copy)]
struct Key {
    plain: [&'static str; 3],
    quoted: [&'static str; 3],
}

/// What opens an array element in each [`Pos`].
const ELEMENT: [&str; 3] = ["", ",", "\","];

/// Writes one JSON object member by member, in the order called, as compact JSON ending in a
/// newline. Strings are written as given: see the module's note on escaping.
///
/// Every method is inlined, so that each copy of a constant text has a constant length.
struct JsonLine<'a> {
    out: &'a mut Vec<u8>,
    num: itoa::Buffer,
    pos: Pos,
}

impl<'a> JsonLine<'a> {
    /// Opens the record's object.
    #[inline(always)]
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonLine { out, num: itoa::Buffer::new(), pos: Pos::First }
    }

    /// Writes whichever of `texts` fits where the writer stands.
    #[inline(always)]
    fn put(&mut self, texts: &[&'static str; 3]) {
        match self.pos {
            Pos::First => self.out.extend_from_slice(texts[0].as_bytes()),
            Pos::AfterValue => self.out.extend_from_slice(texts[1].as_bytes()),
            Pos::AfterString => self.out.extend_from_slice(texts[2].as_bytes()),
        }
    }

    /// Closes the record's object and ends the line.
    #[inline(always)]
    fn close(mut self) {
        self.end(&["}\n", "}\n", "\"}\n"]);
    }

    /// A string member.
    #[inline(always)]
    fn str(&mut self, key: Key, value: impl AsRef<[u8]>) {
        self.put(&key.quoted);
        self.out.extend_from_slice(value.as_ref());
        self.pos = Pos::AfterString;
    }

    /// A string member whose text `write` appends.
    #[inline(always)]
    fn str_with(&mut self, key: Key, write: impl FnOnce(&mut Vec<u8>)) {
        self.put(&key.quoted);
        write(self.out);
        self.pos = Pos::AfterString;
    }

    /// An integer member.
    #[inline(always)]
    fn int(&mut self, key: Key, value: impl itoa::Integer) {
        self.put(&key.plain);
        self.out.extend_from_slice(self.num.format(value).as_bytes());
        self.pos = Pos::AfterValue;
    }

    /// Members made by `constant!`.
    #[inline(always)]
    fn constant(&mut self, members: [&'static str; 3]) {
        self.put(&members);
        self.pos = Pos::AfterValue;
    }

    /// Opens an object member; [`JsonLine::end_object`] closes it.
    #[inline(always)]
    fn object(&mut self, key: Key) {
        self.begin(&key.plain, b'{');
    }

    /// Opens an array member; [`JsonLine::end_array`] closes it.
    #[inline(always)]
    fn array(&mut self, key: Key) {
        self.begin(&key.plain, b'[');
    }

    /// Opens an object as the next element of an array; [`JsonLine::end_object`] closes it.
    #[inline(always)]
    fn element_object(&mut self) {
        self.begin(&ELEMENT, b'{');
    }

    /// An array element whose JSON text never changes.
    #[inline(always)]
    fn constant_element(&mut self, json: &'static str) {
        self.put(&ELEMENT);
        self.out.extend_from_slice(json.as_bytes());
        self.pos = Pos::AfterValue;
    }

    /// Closes the innermost object.
    #[inline(always)]
    fn end_object(&mut self) {
        self.end(&["}", "}", "\"}"]);
    }

    /// Closes the innermost array.
    #[inline(always)]
    fn end_array(&mut self) {
        self.end(&["]", "]", "\"]"]);
    }

    /// Writes `before` (a key, or what precedes an element), then opens an object or array.
    #[inline(always)]
    fn begin(&mut self, before: &[&'static str; 3], bracket: u8) {
        self.put(before);
        self.out.push(bracket);
        self.pos = Pos::First;
    }

    /// Closes the innermost object or array with whichever of `texts` fits.
    #[inline(always)]
    fn end(&mut self, texts: &[&'static str; 3]) {
        self.put(texts);
        self.pos = Pos::AfterValue;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    /// The writer does not escape: every string of the model must be its own JSON text.
    #[test]
    fn no_string_of_the_model_needs_escaping() {
        let mut all: Vec<&str> = vec!["Default_Action", "REGULAR", "-", "GB"];
        all.extend(COUNTRIES.iter().map(|c| c.0));
        all.extend(ANOMALOUS_COUNTRIES);
        all.extend(USER_AGENTS);
        all.extend(ATTACK_AGENTS);
        all.extend(PAGES.iter().flat_map(|p| [p.path, p.args]));
        all.extend(SCANNER_PATHS);
        all.extend(DELETE_PATHS);
        all.extend(SOURCES.iter().map(|s| s.0));
        all.extend(BLOCK_RULES.iter().flat_map(|r| [r.0, r.1]));
        all.extend(crate::webacl::STACKS.iter().flat_map(|s| [s.ja3, s.ja4]));
        all.extend(crate::webacl::SQLI_ARGS.iter().map(|a| a.0));
        all.push(crate::webacl::SCRAPER_AGENT);
        for s in all {
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""), "{s}");
        }
    }

    #[test]
    fn members_get_their_commas_and_quotes_in_every_position() {
        let mut out = Vec::new();
        let mut w = JsonLine::open(&mut out);
        w.str(key!("s"), "x");
        w.object(key!("o"));
        w.str(key!("t"), "y");
        w.array(key!("l"));
        w.element_object();
        w.constant(constant! { "n": "null" });
        w.end_object();
        w.constant_element("{}");
        w.element_object();
        w.str(key!("u"), "z");
        w.end_object();
        w.end_array();
        w.int(key!("i"), 7u8);
        w.end_object();
        w.constant(constant! { "e": "[]", "f": "1" });
        w.str(key!("last"), "w");
        w.close();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"s\":\"x\",\"o\":{\"t\":\"y\",\"l\":[{\"n\":null},{},{\"u\":\"z\"}],\"i\":7},\"e\":[],\"f\":1,\"last\":\"w\"}\n"
        );
        serde_json::from_str::<serde_json::Value>(&text).unwrap();
    }

    #[test]
    fn addresses_and_hex_are_written_in_full() {
        for (ip, text) in
            [([1, 2, 3, 4], "1.2.3.4"), ([203, 0, 113, 255], "203.0.113.255"), ([99, 10, 100, 9], "99.10.100.9")]
        {
            let (buf, len) = dotted_quad(ip);
            assert_eq!(&buf[..len], text.as_bytes());
        }
        assert_eq!(&hex::<8>(0xdead_beef), b"deadbeef");
        assert_eq!(&hex::<16>(0x1f), b"000000000000001f");
    }
}
