//! Content lines (RFC 5545 §3.1): unfolding and folding, splitting a line into name, parameters
//! and value, parameter values with RFC 6868 caret escapes, and TEXT escaping (§3.3.11).
//!
//! Reading is lenient because real files are not conformant: CRLF or bare LF, continuation by
//! space or tab, lower-case names, stray semicolons. Writing is strict: CRLF, folding at 75
//! octets on character boundaries, quoted parameter values where the grammar requires them.

use std::borrow::Cow;
use std::iter::{Enumerate, Peekable};
use std::str::Split;

use crate::error::{Error, Result};

/// The longest physical line the writer emits, in octets, excluding the CRLF (RFC 5545 §3.1).
const FOLD_OCTETS: usize = 75;

/// Longest excerpt of a bad line quoted in a message: enough to find it, short enough to read.
const EXCERPT_CHARS: usize = 60;

/// A property: one content line, `NAME;PARAM=value:value`.
///
/// `value` is kept exactly as written (still escaped); accessors such as [`Property::text`]
/// interpret it, because only the property's value type says which escapes apply.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Property {
    /// The name, upper case (`DTSTART`, `X-WR-CALNAME`).
    pub name: String,
    /// The parameters in file order.
    pub params: Vec<Param>,
    /// The raw value, as written after the first unquoted `:`.
    pub value: String,
}

/// A property parameter, `NAME=value,value`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Param {
    /// The name, upper case (`TZID`, `VALUE`, `CN`).
    pub name: String,
    /// The values, without quotes and with RFC 6868 caret escapes decoded.
    pub values: Vec<String>,
}

impl Param {
    /// A parameter with one value; the name is upper-cased.
    pub fn new(name: &str, value: impl Into<String>) -> Param {
        Param { name: name.to_ascii_uppercase(), values: vec![value.into()] }
    }

    /// The first value (most parameters have exactly one).
    pub fn value(&self) -> Option<&str> {
        self.values.first().map(String::as_str)
    }
}

impl Property {
    /// A property with a raw (already escaped) value and no parameters; the name is upper-cased.
    pub fn new(name: &str, value: impl Into<String>) -> Property {
        Property { name: name.to_ascii_uppercase(), params: Vec::new(), value: value.into() }
    }

    /// A TEXT property: `text` is escaped (§3.3.11).
    pub fn from_text(name: &str, text: &str) -> Property {
        Property::new(name, escape_text(text))
    }

    /// A multi-valued TEXT property such as `CATEGORIES`: each item escaped, joined by commas.
    pub fn from_text_list<S: AsRef<str>>(name: &str, items: &[S]) -> Property {
        Property::new(name, join_text_list(items))
    }

    /// This property with one more parameter (one value).
    pub fn with_param(mut self, name: &str, value: impl Into<String>) -> Property {
        self.params.push(Param::new(name, value));
        self
    }

    /// The first parameter named `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|param| param.name.eq_ignore_ascii_case(name))
    }

    /// The first value of the first parameter named `name` (case-insensitive).
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(Param::value)
    }

    /// Whether the property is named `name` (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value read as TEXT: escapes resolved.
    pub fn text(&self) -> String {
        unescape_text(&self.value)
    }

    /// The value read as a comma-separated TEXT list (`CATEGORIES`): split on unescaped commas,
    /// each item unescaped.
    pub fn text_list(&self) -> Vec<String> {
        split_text_list(&self.value)
    }
}

/// Escapes TEXT for a property value (§3.3.11): backslash, semicolon, comma and line breaks.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                // CRLF and a lone CR are both one line break.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            c => out.push(c),
        }
    }
    out
}

/// Resolves TEXT escapes: `\\n` and `\\N` are line breaks, `\\\\ \\; \\,` the character. `\\:`
/// (written by some producers) is a colon; any other backslash is kept as written.
pub fn unescape_text(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('n' | 'N') => {
                out.push('\n');
                chars.next();
            }
            Some(escaped @ ('\\' | ';' | ',' | ':')) => {
                out.push(escaped);
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Splits a TEXT list on unescaped commas and unescapes each item.
pub fn split_text_list(raw: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, b) in raw.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b',' => {
                items.push(unescape_text(&raw[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(unescape_text(&raw[start..]));
    items
}

/// Escapes each item and joins them with commas (a TEXT list value).
pub fn join_text_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&escape_text(item.as_ref()));
    }
    out
}

/// Logical lines of a file: folded lines joined, line breaks (CRLF or LF) removed, blank lines
/// skipped. Yields the 1-based number of each logical line's first physical line.
pub(crate) fn unfold(text: &str) -> Unfold<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Unfold { lines: text.split('\n').enumerate().peekable() }
}

/// The iterator of [`unfold`].
pub(crate) struct Unfold<'a> {
    lines: Peekable<Enumerate<Split<'a, char>>>,
}

fn without_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

fn is_continuation(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

impl<'a> Iterator for Unfold<'a> {
    type Item = (usize, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (index, raw) = self.lines.next()?;
            let first = without_cr(raw);
            if first.trim().is_empty() {
                continue;
            }
            // A continuation with nothing to continue (file start, after a blank line) is read
            // as a line of its own rather than lost.
            let mut logical =
                Cow::Borrowed(if is_continuation(first) { first.trim_start() } else { first });
            while let Some((_, next)) = self.lines.peek() {
                let next = without_cr(next);
                if !is_continuation(next) {
                    break;
                }
                // The first byte is an ASCII space or tab, so slicing after it is safe.
                logical.to_mut().push_str(&next[1..]);
                self.lines.next();
            }
            return Some((index + 1, logical));
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Whether `name` is a valid property, parameter or component name (`iana-token` / `x-name`).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_name_byte)
}

/// The start of `line`, for messages.
pub(crate) fn excerpt(line: &str) -> Cow<'_, str> {
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => Cow::Owned(format!("{}…", &line[..end])),
        None => Cow::Borrowed(line),
    }
}

/// One content line read into a property, plus what was tolerated in it.
pub(crate) struct ParsedLine {
    pub(crate) property: Property,
    pub(crate) warnings: Vec<String>,
}

/// Reads one logical line. An error means the line cannot be read as a property at all.
pub(crate) fn parse_line(line: &str) -> std::result::Result<ParsedLine, String> {
    let bytes = line.as_bytes();
    let name_end = bytes.iter().position(|&b| !is_name_byte(b)).unwrap_or(bytes.len());
    if name_end == 0 {
        return Err(format!("'{}' is not a content line (no property name)", excerpt(line)));
    }
    let name = line[..name_end].to_ascii_uppercase();
    let (mut pos, mut params, mut warnings) = (name_end, Vec::new(), Vec::new());
    loop {
        match bytes.get(pos) {
            Some(b':') => break,
            Some(b';') => pos += 1,
            Some(_) => {
                return Err(format!(
                    "'{}' is not a content line (expected ';' or ':' after {name})",
                    excerpt(line)
                ));
            }
            None => return Err(format!("{name} has no ':' and no value")),
        }
        let param_start = pos;
        let rest = &bytes[pos..];
        let param_end = pos + rest.iter().position(|&b| !is_name_byte(b)).unwrap_or(rest.len());
        let param_name = &line[param_start..param_end];
        pos = param_end;
        match bytes.get(pos) {
            Some(b'=') => pos += 1,
            // `;;` and `;:` are stray separators; a bare name (vCard 2.1 style) has no value.
            Some(b';' | b':') => {
                if !param_name.is_empty() {
                    warnings.push(format!(
                        "parameter {param_name} of {name} has no '=' and value; it was ignored"
                    ));
                }
                continue;
            }
            Some(_) => {
                return Err(format!(
                    "{name} has a malformed parameter '{}'",
                    excerpt(&line[param_start..])
                ));
            }
            None => return Err(format!("{name} has no ':' and no value")),
        }
        let mut values = Vec::new();
        loop {
            let mut value = String::new();
            if bytes.get(pos) == Some(&b'"') {
                let close = line[pos + 1..].find('"').ok_or_else(|| {
                    format!("the quoted value of parameter {param_name} of {name} is not closed")
                })?;
                value.push_str(&decode_caret(&line[pos + 1..pos + 1 + close]));
                pos += close + 2;
            }
            // Unquoted text, or stray text after a closing quote (kept rather than lost).
            let rest = &bytes[pos..];
            let end = pos
                + rest.iter().position(|b| matches!(b, b',' | b';' | b':')).unwrap_or(rest.len());
            value.push_str(&decode_caret(&line[pos..end]));
            pos = end;
            values.push(value);
            if bytes.get(pos) == Some(&b',') {
                pos += 1;
            } else {
                break;
            }
        }
        if param_name.is_empty() {
            warnings.push(format!("{name} has a parameter without a name; it was ignored"));
        } else {
            params.push(Param { name: param_name.to_ascii_uppercase(), values });
        }
    }
    let value = line[pos + 1..].to_owned();
    Ok(ParsedLine { property: Property { name, params, value }, warnings })
}

/// Decodes RFC 6868 caret escapes: `^n` line break, `^'` double quote, `^^` caret. Any other
/// caret is literal, as RFC 6868 §3 requires.
fn decode_caret(raw: &str) -> Cow<'_, str> {
    if !raw.contains('^') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('n' | 'N') => out.push('\n'),
            Some('\'') => out.push('"'),
            Some('^') => out.push('^'),
            _ => {
                out.push('^');
                continue;
            }
        }
        chars.next();
    }
    Cow::Owned(out)
}

/// Appends `value` as a parameter value: caret-escaped, quoted when it holds `, ; :`.
fn write_param_value(value: &str, out: &mut String) {
    let quoted = value.contains([',', ';', ':']);
    if quoted {
        out.push('"');
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => out.push_str("^^"),
            '"' => out.push_str("^'"),
            '\n' => out.push_str("^n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("^n");
            }
            // Other control characters cannot be written in a parameter (RFC 5545 §3.1,
            // RFC 6868 has no escape for them); dropping them keeps the line readable.
            c if c.is_ascii_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
}

/// Appends a raw property value. Line breaks become `\n` and other control characters are
/// dropped: a raw break would end the content line and let the value inject properties.
fn write_value(value: &str, out: &mut String) {
    if !value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        out.push_str(value);
        return;
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            c if c.is_ascii_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
}

fn check_name(kind: &str, name: &str) -> Result<()> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "cannot write {kind} name '{}': iCalendar names are ASCII letters, digits and '-'",
            excerpt(name)
        )))
    }
}

/// Appends one property as folded content lines ending in CRLF. `scratch` is reused between
/// calls so writing a file does not allocate per line.
pub(crate) fn write_property(
    property: &Property,
    scratch: &mut String,
    out: &mut String,
) -> Result<()> {
    check_name("property", &property.name)?;
    scratch.clear();
    push_upper(&property.name, scratch);
    for param in &property.params {
        check_name("parameter", &param.name)?;
        scratch.push(';');
        push_upper(&param.name, scratch);
        scratch.push('=');
        for (i, value) in param.values.iter().enumerate() {
            if i > 0 {
                scratch.push(',');
            }
            write_param_value(value, scratch);
        }
    }
    scratch.push(':');
    write_value(&property.value, scratch);
    fold_into(scratch, out);
    Ok(())
}

/// Appends a `BEGIN:`/`END:` line.
pub(crate) fn write_delimiter(keyword: &str, name: &str, out: &mut String) -> Result<()> {
    check_name("component", name)?;
    out.push_str(keyword);
    out.push(':');
    push_upper(name, out);
    out.push_str("\r\n");
    Ok(())
}

fn push_upper(name: &str, out: &mut String) {
    out.extend(name.chars().map(|c| c.to_ascii_uppercase()));
}

/// Appends `line` folded: physical lines of at most 75 octets, continuations starting with a
/// space, never splitting a UTF-8 character.
pub(crate) fn fold_into(line: &str, out: &mut String) {
    let (mut rest, mut limit) = (line, FOLD_OCTETS);
    while rest.len() > limit {
        let mut cut = limit;
        // A char is at most 4 bytes and the limit is at least 74, so `cut` stays positive.
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        // The leading space of a continuation counts towards its 75 octets.
        limit = FOLD_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logical(text: &str) -> Vec<(usize, String)> {
        unfold(text).map(|(n, line)| (n, line.into_owned())).collect()
    }

    fn folded(line: &str) -> String {
        let mut out = String::new();
        fold_into(line, &mut out);
        out
    }

    #[test]
    fn folding_keeps_lines_within_75_octets_and_unfolds_back() {
        let line = format!("DESCRIPTION:{}", "abcdefghij".repeat(30));
        let out = folded(&line);
        for physical in out.split_terminator("\r\n") {
            assert!(physical.len() <= 75, "{} octets: {physical}", physical.len());
        }
        assert!(out.ends_with("\r\n"));
        assert_eq!(logical(&out), vec![(1, line)]);
    }

    #[test]
    fn folding_never_splits_a_multibyte_character() {
        // Shift 2-, 3- and 4-byte characters across every position around the fold boundary.
        for filler in ["é", "日本", "🎉", "aé日🎉"] {
            for prefix in 60..80 {
                let line = format!("SUMMARY:{}{}", "x".repeat(prefix), filler.repeat(40));
                let out = folded(&line);
                for physical in out.split_terminator("\r\n") {
                    assert!(physical.len() <= 75, "{prefix} {filler}: {physical}");
                }
                assert_eq!(logical(&out), vec![(1, line)], "{prefix} {filler}");
            }
        }
    }

    #[test]
    fn unfolding_accepts_crlf_lf_space_and_tab_and_numbers_lines() {
        let text = "A:1\r\nB:lo\r\n ng\r\n\ter\r\n\r\nC:3\nD:fo\n lded\n";
        assert_eq!(
            logical(text),
            vec![
                (1, "A:1".into()),
                (2, "B:longer".into()),
                (6, "C:3".into()),
                (7, "D:folded".into())
            ]
        );
        assert_eq!(logical("\u{feff}BEGIN:VCALENDAR"), vec![(1, "BEGIN:VCALENDAR".into())]);
    }

    #[test]
    fn text_escaping_round_trips() {
        for text in ["plain", "a,b;c\\d", "line\nbreak", "ends with \\", "", "日本語, ok; \\n"] {
            assert_eq!(unescape_text(&escape_text(text)), text, "{text}");
        }
        assert_eq!(escape_text("a\r\nb\rc"), "a\\nb\\nc");
        assert_eq!(unescape_text("a\\Nb\\nc\\,d\\;e\\\\f\\:g\\xh\\"), "a\nb\nc,d;e\\f:g\\xh\\");
    }

    #[test]
    fn text_lists_split_on_unescaped_commas_only() {
        assert_eq!(split_text_list("work,a\\,b,c\\\\,d"), vec!["work", "a,b", "c\\", "d"]);
        let items = ["one", "two, three", "four;\\"];
        assert_eq!(split_text_list(&join_text_list(&items)), items);
        assert_eq!(Property::from_text_list("CATEGORIES", &items).text_list(), items);
    }

    #[test]
    fn parameters_with_quotes_commas_and_carets_are_read() -> std::result::Result<(), String> {
        let line = r#"ATTENDEE;CN="Doe, Jane: ^'JD^' ^^ ^nx";MEMBER="mailto:a@x","mailto:b@x";ROLE=REQ-PARTICIPANT:mailto:jane@x"#;
        let parsed = parse_line(line)?;
        assert!(parsed.warnings.is_empty());
        let p = parsed.property;
        assert_eq!(p.name, "ATTENDEE");
        assert_eq!(p.param_value("cn"), Some("Doe, Jane: \"JD\" ^ \nx"));
        assert_eq!(
            p.param("MEMBER").map(|m| m.values.clone()),
            Some(vec!["mailto:a@x".to_owned(), "mailto:b@x".to_owned()])
        );
        assert_eq!(p.param_value("ROLE"), Some("REQ-PARTICIPANT"));
        assert_eq!(p.value, "mailto:jane@x");
        Ok(())
    }

    #[test]
    fn parameters_round_trip_through_the_writer() -> Result<()> {
        let mut property = Property::new("attendee", "mailto:jane@example.com");
        property.params.push(Param {
            name: "CN".into(),
            values: vec!["Doe, Jane \"JD\" ^x\nnext; a:b".into()],
        });
        property.params.push(Param { name: "X-LIST".into(), values: vec!["a".into(), "".into()] });
        let (mut scratch, mut out) = (String::new(), String::new());
        write_property(&property, &mut scratch, &mut out)?;
        assert!(out.starts_with("ATTENDEE;CN=\"Doe, Jane ^'JD^' ^^x^nnext; a:b\";X-LIST=a,:"));
        let line = logical(&out).remove(0).1;
        let parsed = parse_line(&line).map_err(Error::InvalidInput)?;
        property.name = "ATTENDEE".into();
        assert_eq!(parsed.property, property);
        Ok(())
    }

    #[test]
    fn lenient_lines_are_read_with_warnings() -> std::result::Result<(), String> {
        let p = parse_line("dtstart;tzid=Europe/Paris;:20260101T090000")?.property;
        assert_eq!((p.name.as_str(), p.param_value("TZID")), ("DTSTART", Some("Europe/Paris")));
        assert_eq!(p.params[0].name, "TZID");
        let parsed = parse_line("TEL;WORK;;VOICE:123")?;
        assert_eq!(parsed.property.value, "123");
        assert_eq!(parsed.warnings.len(), 2, "{:?}", parsed.warnings);
        assert_eq!(parse_line("DESCRIPTION:a:b;c")?.property.value, "a:b;c");
        assert_eq!(parse_line("X-EMPTY:")?.property.value, "");
        Ok(())
    }

    #[test]
    fn malformed_lines_are_errors_with_a_reason() {
        for (line, reason) in [
            ("just some text", "expected ';' or ':'"),
            (":no name", "no property name"),
            ("SUMMARY", "no ':'"),
            ("X;CN=\"open:value", "not closed"),
            ("X;C N=a:b", "malformed parameter"),
        ] {
            match parse_line(line) {
                Err(message) => assert!(message.contains(reason), "{line}: {message}"),
                Ok(_) => panic!("{line} parsed"),
            }
        }
    }

    #[test]
    fn the_writer_rejects_bad_names_and_neutralises_line_breaks() -> Result<()> {
        let (mut scratch, mut out) = (String::new(), String::new());
        let bad = Property::new("X BAD", "v");
        assert!(write_property(&bad, &mut scratch, &mut out).is_err());
        let bad_param = Property::new("X", "v").with_param("A:B", "c");
        assert!(write_property(&bad_param, &mut scratch, &mut out).is_err());
        let injected = Property::new("SUMMARY", "hi\r\nATTENDEE:mailto:evil@x\u{7}");
        write_property(&injected, &mut scratch, &mut out)?;
        assert_eq!(out, "SUMMARY:hi\\nATTENDEE:mailto:evil@x\r\n");
        Ok(())
    }
}
