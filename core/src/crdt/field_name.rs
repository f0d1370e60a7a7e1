//! Field names, as a record's maps key them.
//!
//! Almost every field an app writes has one of the built-in names of [`NAMES`] (`title`,
//! `timing`, `attendees`…). Such a name is held as its code instead of an owned string, so a
//! decoded record allocates nothing for its names, and the record writer finds a name's code
//! without searching the table (decision 0041). Any other name is held written out. A name
//! orders, compares and hashes as its text, so maps keyed by names iterate in the same order as
//! when they were keyed by strings, and are looked up by `&str`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use super::wire::NAMES;

/// A field's name: a built-in name by its code, any other written out.
#[derive(Clone)]
pub struct FieldName(Repr);

#[derive(Clone)]
enum Repr {
    /// `NAMES[index]`.
    Known(u8),
    /// A name not in the table.
    Written(Box<str>),
}

impl FieldName {
    /// The name `text`: held by its code if it is a built-in name.
    pub fn new(text: &str) -> FieldName {
        match builtin_index(text) {
            Some(index) => FieldName(Repr::Known(index)),
            None => FieldName(Repr::Written(text.into())),
        }
    }

    /// The built-in name of code `code` (`NAMES[code - 1]`), if there is one.
    pub(crate) fn from_code(code: u32) -> Option<FieldName> {
        let index = code.checked_sub(1)?;
        let index = u8::try_from(index).ok().filter(|index| usize::from(*index) < NAMES.len())?;
        Some(FieldName(Repr::Known(index)))
    }

    /// The code of a built-in name (from 1), or `None` for a name written out.
    pub(crate) fn code(&self) -> Option<u32> {
        match self.0 {
            Repr::Known(index) => Some(u32::from(index) + 1),
            Repr::Written(_) => None,
        }
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(index) => NAMES[usize::from(*index)],
            Repr::Written(text) => text,
        }
    }
}

/// Each built-in name's place in the text order of the table, so two built-in names compare
/// without reading their bytes (a record's maps are searched by name on every insert).
const RANK: [u8; NAMES.len()] = ranks();

const fn ranks() -> [u8; NAMES.len()] {
    let mut ranks = [0u8; NAMES.len()];
    let mut i = 0;
    while i < NAMES.len() {
        let mut j = 0;
        while j < NAMES.len() {
            if text_less(NAMES[j].as_bytes(), NAMES[i].as_bytes()) {
                ranks[i] += 1;
            }
            j += 1;
        }
        i += 1;
    }
    ranks
}

/// `a < b` as `str` orders them (bytewise), in a `const fn`.
const fn text_less(a: &[u8], b: &[u8]) -> bool {
    let mut k = 0;
    while k < a.len() && k < b.len() {
        if a[k] != b[k] {
            return a[k] < b[k];
        }
        k += 1;
    }
    a.len() < b.len()
}

/// The index of `text` in the built-in table. Comparing lengths first makes a miss cheap.
fn builtin_index(text: &str) -> Option<u8> {
    NAMES.iter().position(|name| *name == text).and_then(|index| u8::try_from(index).ok())
}

impl From<&str> for FieldName {
    fn from(text: &str) -> FieldName {
        FieldName::new(text)
    }
}

impl From<&String> for FieldName {
    fn from(text: &String) -> FieldName {
        FieldName::new(text)
    }
}

impl From<String> for FieldName {
    fn from(text: String) -> FieldName {
        match builtin_index(&text) {
            Some(index) => FieldName(Repr::Known(index)),
            None => FieldName(Repr::Written(text.into_boxed_str())),
        }
    }
}

impl From<FieldName> for String {
    fn from(name: FieldName) -> String {
        match name.0 {
            Repr::Known(index) => NAMES[usize::from(index)].to_owned(),
            Repr::Written(text) => text.into_string(),
        }
    }
}

impl From<&FieldName> for String {
    fn from(name: &FieldName) -> String {
        name.as_str().to_owned()
    }
}

impl Deref for FieldName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for FieldName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Maps keyed by names are looked up by `&str`: equality, order and hash are the text's.
impl Borrow<str> for FieldName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for FieldName {
    fn eq(&self, other: &FieldName) -> bool {
        match (&self.0, &other.0) {
            (Repr::Known(a), Repr::Known(b)) => a == b,
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl Eq for FieldName {}

impl PartialEq<str> for FieldName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FieldName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for FieldName {
    fn partial_cmp(&self, other: &FieldName) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldName {
    fn cmp(&self, other: &FieldName) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Known(a), Repr::Known(b)) => RANK[usize::from(*a)].cmp(&RANK[usize::from(*b)]),
            _ => self.as_str().cmp(other.as_str()),
        }
    }
}

impl Hash for FieldName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn built_in_names_are_held_by_code_and_others_written_out() {
        for (code, name) in (1..).zip(NAMES) {
            let field = FieldName::new(name);
            assert_eq!(field.code(), Some(code));
            assert_eq!(field.as_str(), name);
            assert_eq!(FieldName::from_code(code), Some(field.clone()));
            assert_eq!(FieldName::from(name.to_owned()), field);
        }
        for other in ["", "Title", "title ", "custom", "é-ß"] {
            let field = FieldName::new(other);
            assert_eq!(field.code(), None);
            assert_eq!(field.as_str(), other);
            assert_eq!(String::from(field), other);
        }
        assert_eq!(FieldName::from_code(0), None);
        assert_eq!(FieldName::from_code(NAMES.len() as u32 + 1), None);
        assert_eq!(FieldName::from_code(u32::MAX), None);
    }

    #[test]
    fn built_in_names_compare_as_their_text() {
        for a in NAMES {
            for b in NAMES {
                assert_eq!(FieldName::new(a).cmp(&FieldName::new(b)), a.cmp(b), "{a} and {b}");
            }
        }
    }

    /// A map keyed by names iterates as one keyed by their text, and finds them by `&str`: the
    /// record writer's bytes depend on that order.
    #[test]
    fn names_order_as_their_text() {
        let texts = ["timing", "zzz", "title", "a", "notes", "rule", "", "time_zone", "~"];
        let by_text: BTreeMap<String, usize> =
            texts.iter().enumerate().map(|(i, t)| (t.to_string(), i)).collect();
        let by_name: BTreeMap<FieldName, usize> =
            texts.iter().enumerate().map(|(i, t)| (FieldName::new(t), i)).collect();
        let name_order: Vec<(&str, usize)> =
            by_name.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let text_order: Vec<(&str, usize)> =
            by_text.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(name_order, text_order);
        for text in texts {
            assert_eq!(by_name.get(text), by_text.get(text));
        }
    }
}
