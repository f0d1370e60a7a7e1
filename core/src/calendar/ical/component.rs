//! The component tree (`BEGIN:`/`END:` blocks) and the whole-file reader and writer.
//!
//! The reader never gives up on a file: a line it cannot read, a property outside any
//! component, an `END` without its `BEGIN` or a component left open is reported as a
//! [`ParseIssue`] with its line number, and everything else is still returned.

use std::fmt;

use super::content::{self, Property, excerpt, is_valid_name, parse_line, unfold};
use crate::error::Result;

/// Components nested deeper than this are skipped (and reported): real calendars nest three
/// or four levels, and the writer and `Drop` recurse, so unbounded depth could overflow the stack.
const MAX_DEPTH: usize = 32;

/// An iCalendar component: `VCALENDAR`, `VEVENT`, `VALARM`, `VTIMEZONE`, `STANDARD`, ...
#[derive(Clone, Debug, Default)]
pub struct Component {
    /// The name, upper case.
    pub name: String,
    /// The properties in file order.
    pub properties: Vec<Property>,
    /// The sub-components in file order.
    pub components: Vec<Component>,
    /// The line of its `BEGIN` when read from a file, for messages about it. Not part of the
    /// component's content: equality and hashing ignore it.
    pub line: Option<usize>,
}

impl PartialEq for Component {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.properties, &self.components)
            == (&other.name, &other.properties, &other.components)
    }
}

impl Eq for Component {}

impl std::hash::Hash for Component {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.name, &self.properties, &self.components).hash(state);
    }
}

/// Something in the file that could not be read as written. The rest of the file was read.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ParseIssue {
    /// The 1-based line number (of the first physical line of a folded line).
    pub line: usize,
    /// What was wrong and what was done about it.
    pub message: String,
}

impl fmt::Display for ParseIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl Component {
    /// An empty component; the name is upper-cased.
    pub fn new(name: &str) -> Component {
        Component { name: name.to_ascii_uppercase(), ..Component::default() }
    }

    /// Whether the component is named `name` (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The first property named `name` (case-insensitive).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.is(name))
    }

    /// All properties named `name` (case-insensitive), in file order.
    pub fn properties_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> {
        self.properties.iter().filter(move |p| p.is(name))
    }

    /// All direct sub-components named `name` (case-insensitive), in file order.
    pub fn components_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components.iter().filter(move |c| c.is(name))
    }

    /// Appends a property.
    pub fn push(&mut self, property: Property) {
        self.properties.push(property);
    }

    /// This component with one more property.
    pub fn with_property(mut self, property: Property) -> Component {
        self.properties.push(property);
        self
    }

    /// This component with one more sub-component.
    pub fn with_component(mut self, component: Component) -> Component {
        self.components.push(component);
        self
    }

    /// The component as RFC 5545 text (CRLF line ends, folded at 75 octets).
    pub fn to_ics(&self) -> Result<String> {
        write(std::slice::from_ref(self))
    }
}

/// Reads iCalendar text into its top-level components (usually one `VCALENDAR`), leniently:
/// lower-case names, LF line ends, a byte-order mark, blank lines and stray semicolons are
/// accepted, and a bad line or component is reported while the rest is still read.
pub fn parse(text: &str) -> (Vec<Component>, Vec<ParseIssue>) {
    let mut roots = Vec::new();
    let mut issues = Vec::new();
    // Open components with the line of their BEGIN.
    let mut stack: Vec<(Component, usize)> = Vec::new();
    // Nesting below MAX_DEPTH that is being skipped.
    let mut skipped = 0usize;
    let mut issue = |line: usize, message: String| issues.push(ParseIssue { line, message });

    for (line_no, line) in unfold(text) {
        let parsed = match parse_line(&line) {
            Ok(parsed) => parsed,
            Err(message) => {
                issue(line_no, format!("{message}; the line was skipped"));
                continue;
            }
        };
        let property = parsed.property;
        let is_begin = property.name == "BEGIN";
        if is_begin || property.name == "END" {
            let name = property.value.trim().to_ascii_uppercase();
            if skipped > 0 {
                skipped = if is_begin { skipped + 1 } else { skipped - 1 };
                continue;
            }
            if !is_valid_name(&name) {
                issue(
                    line_no,
                    format!("'{}' is not a component name; the line was skipped", excerpt(&line)),
                );
            } else if is_begin && stack.len() >= MAX_DEPTH {
                issue(
                    line_no,
                    format!(
                        "{name} is nested more than {MAX_DEPTH} components deep; it was skipped"
                    ),
                );
                skipped = 1;
            } else if is_begin {
                if is_top_level(&name) {
                    // A VEVENT can only sit in a VCALENDAR: one met inside an unclosed VTODO,
                    // VEVENT or VALARM means their END was lost, so they end here and a typo
                    // costs at most the broken component, not everything after it.
                    close_to_calendar(&name, line_no, &mut stack, &mut roots, &mut issue);
                }
                let mut component = Component::new(&name);
                component.line = Some(line_no);
                stack.push((component, line_no));
            } else {
                close(&name, line_no, &mut stack, &mut roots, &mut issue);
            }
            continue;
        }
        if skipped > 0 {
            continue;
        }
        for warning in parsed.warnings {
            issue(line_no, warning);
        }
        match stack.last_mut() {
            Some((component, _)) => component.properties.push(property),
            None => issue(
                line_no,
                format!("{} is outside any component; it was skipped", property.name),
            ),
        }
    }
    while let Some((component, begin_line)) = stack.pop() {
        issue(
            begin_line,
            format!(
                "{name} is not closed (END:{name} missing at the end of the file); its content \
                 was kept",
                name = component.name
            ),
        );
        attach(component, &mut stack, &mut roots);
    }
    (roots, issues)
}

fn attach(component: Component, stack: &mut [(Component, usize)], roots: &mut Vec<Component>) {
    match stack.last_mut() {
        Some((parent, _)) => parent.components.push(component),
        None => roots.push(component),
    }
}

/// Handles `END:name`: closes the innermost open component of that name, closing (and
/// reporting) any left open inside it; an `END` matching nothing open is reported and ignored.
fn close(
    name: &str,
    line_no: usize,
    stack: &mut Vec<(Component, usize)>,
    roots: &mut Vec<Component>,
    issue: &mut impl FnMut(usize, String),
) {
    let Some(index) = stack.iter().rposition(|(c, _)| c.name == name) else {
        // A known component name that is not open is a stray duplicate END; anything else is
        // a misspelt END (`END:VTOOD`) of the innermost component, which would otherwise
        // swallow every component after it.
        match stack.last() {
            Some((open, _)) if !KNOWN.contains(&name) => {
                issue(
                    line_no,
                    format!(
                        "END:{name} does not match the open BEGIN:{open}; it was read as \
                         END:{open}",
                        open = open.name
                    ),
                );
                if let Some((component, _)) = stack.pop() {
                    attach(component, stack, roots);
                }
            }
            _ => issue(line_no, format!("END:{name} has no matching BEGIN:{name}; it was ignored")),
        }
        return;
    };
    while stack.len() > index + 1 {
        if let Some((inner, begin_line)) = stack.pop() {
            issue(
                begin_line,
                format!(
                    "{inner_name} is not closed before END:{name} on line {line_no}; it was \
                     closed there",
                    inner_name = inner.name
                ),
            );
            attach(inner, stack, roots);
        }
    }
    if let Some((component, _)) = stack.pop() {
        attach(component, stack, roots);
    }
}

/// Component names RFC 5545 and its extensions define: an `END` naming one of them that is not
/// open is a stray line, not a misspelling.
const KNOWN: &[&str] = &[
    "VCALENDAR",
    "VEVENT",
    "VTODO",
    "VJOURNAL",
    "VFREEBUSY",
    "VTIMEZONE",
    "STANDARD",
    "DAYLIGHT",
    "VALARM",
    "VAVAILABILITY",
    "AVAILABLE",
    "VLOCATION",
    "VRESOURCE",
    "PARTICIPANT",
];

/// Components that live directly in a VCALENDAR.
fn is_top_level(name: &str) -> bool {
    matches!(name, "VEVENT" | "VTODO" | "VJOURNAL" | "VFREEBUSY" | "VTIMEZONE")
}

/// Closes (and reports) every open component above the innermost VCALENDAR, before `name`
/// begins on `line_no`.
fn close_to_calendar(
    name: &str,
    line_no: usize,
    stack: &mut Vec<(Component, usize)>,
    roots: &mut Vec<Component>,
    issue: &mut impl FnMut(usize, String),
) {
    while let Some((open, _)) = stack.last() {
        if open.name == "VCALENDAR" {
            break;
        }
        if let Some((inner, begin_line)) = stack.pop() {
            issue(
                begin_line,
                format!(
                    "{inner_name} is not closed before BEGIN:{name} on line {line_no}; it was \
                     closed there",
                    inner_name = inner.name
                ),
            );
            attach(inner, stack, roots);
        }
    }
}

/// Writes components as RFC 5545 text: CRLF line ends, lines folded at 75 octets, names upper
/// case, parameter values quoted where needed. Fails only on a name that is not a valid
/// iCalendar name (which would corrupt the file).
pub fn write(components: &[Component]) -> Result<String> {
    let mut out = String::with_capacity(4096);
    let mut scratch = String::with_capacity(256);
    for component in components {
        write_component(component, &mut scratch, &mut out)?;
    }
    Ok(out)
}

fn write_component(component: &Component, scratch: &mut String, out: &mut String) -> Result<()> {
    content::write_delimiter("BEGIN", &component.name, out)?;
    for property in &component.properties {
        content::write_property(property, scratch, out)?;
    }
    for child in &component.components {
        write_component(child, scratch, out)?;
    }
    content::write_delimiter("END", &component.name, out)
}

#[cfg(test)]
mod tests {
    use super::super::content::Param;
    use super::*;

    const SAMPLE: &str = "BEGIN:VCALENDAR\r\n\
        VERSION:2.0\r\n\
        PRODID:-//Test//EN\r\n\
        BEGIN:VEVENT\r\n\
        UID:1@example.com\r\n\
        DTSTART;TZID=Europe/Paris:20260105T090000\r\n\
        SUMMARY:Stand\r\n \
        up\r\n\
        BEGIN:VALARM\r\n\
        TRIGGER:-PT15M\r\n\
        END:VALARM\r\n\
        END:VEVENT\r\n\
        END:VCALENDAR\r\n";

    #[test]
    fn a_calendar_is_read_into_a_tree() {
        let (roots, issues) = parse(SAMPLE);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(roots.len(), 1);
        let calendar = &roots[0];
        assert_eq!(calendar.name, "VCALENDAR");
        assert_eq!(calendar.property("version").map(|p| p.value.as_str()), Some("2.0"));
        let event = &calendar.components[0];
        assert_eq!(event.property("SUMMARY").map(Property::text), Some("Standup".into()));
        assert_eq!(
            event.property("DTSTART").and_then(|p| p.param_value("TZID")),
            Some("Europe/Paris")
        );
        assert_eq!(event.components_named("valarm").count(), 1);
    }

    #[test]
    fn lenient_input_lower_case_lf_bom_blank_lines_and_missing_end() {
        let text = "\u{feff}begin:vcalendar\n\nversion:2.0\nbegin:vevent\nuid:x;\n\
                    summary;language=en;:hi\n\nend:vevent\n";
        let (roots, issues) = parse(text);
        assert_eq!(roots.len(), 1);
        let event = &roots[0].components[0];
        assert_eq!(event.name, "VEVENT");
        assert_eq!(event.property("UID").map(|p| p.value.as_str()), Some("x;"));
        assert_eq!(event.property("SUMMARY").and_then(|p| p.param_value("LANGUAGE")), Some("en"));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].line, 1);
        assert!(issues[0].message.contains("VCALENDAR is not closed"), "{}", issues[0]);
    }

    #[test]
    fn garbage_is_reported_and_the_rest_is_read() {
        let text = "BEGIN:VCALENDAR\n\
                    BEGIN:VEVENT\n\
                    UID:1\n\
                    this line is garbage\n\
                    X-BAD;CN=\"unterminated:value\n\
                    SUMMARY:kept\n\
                    END:VTODO\n\
                    END:VEVENT\n\
                    BEGIN:VEVENT\n\
                    UID:2\n\
                    END:VCALENDAR\n\
                    STRAY:outside\n";
        let (roots, issues) = parse(text);
        let lines: Vec<usize> = issues.iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![4, 5, 7, 9, 12], "{issues:#?}");
        assert!(issues[2].message.contains("END:VTODO has no matching"));
        assert!(issues[3].message.contains("VEVENT is not closed before END:VCALENDAR"));
        assert!(issues[4].message.contains("outside any component"));
        let events: Vec<_> = roots[0].components_named("VEVENT").collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].properties.len(), 2);
        assert_eq!(events[1].property("UID").map(|p| p.value.as_str()), Some("2"));
    }

    #[test]
    fn excessive_nesting_is_skipped_not_recursed() {
        let depth = 10_000;
        let text = format!(
            "{}X-IN:deep\n{}BEGIN:VEVENT\nUID:after\nEND:VEVENT\n",
            "BEGIN:X-A\n".repeat(depth),
            "END:X-A\n".repeat(depth)
        );
        let (roots, issues) = parse(&text);
        assert_eq!(issues.len(), 1, "{:?}", issues.first());
        assert!(issues[0].message.contains("nested more than"));
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[1].property("UID").map(|p| p.value.as_str()), Some("after"));
    }

    #[test]
    fn parse_of_write_is_the_same_tree() -> Result<()> {
        let long = "Ünïcödé text, with; specials \\ and a line\nbreak ".repeat(8);
        let mut attendee = Property::new("ATTENDEE", "mailto:a@example.com");
        attendee
            .params
            .push(Param { name: "CN".into(), values: vec!["Doe, Jane \"J\" ^ é".into()] });
        attendee.params.push(Param {
            name: "DELEGATED-TO".into(),
            values: vec!["mailto:b@x".into(), "mailto:c@x".into()],
        });
        let tree = Component::new("VCALENDAR")
            .with_property(Property::new("VERSION", "2.0"))
            .with_property(Property::new("X-EMPTY", ""))
            .with_component(
                Component::new("VEVENT")
                    .with_property(Property::from_text("DESCRIPTION", &long))
                    .with_property(attendee)
                    .with_property(Property::from_text_list("CATEGORIES", &["a,b", "日本"]))
                    .with_component(Component::new("VALARM").with_property(
                        Property::new("TRIGGER", "-PT15M").with_param("RELATED", "END"),
                    )),
            );
        let text = tree.to_ics()?;
        assert!(text.split_terminator("\r\n").all(|line| line.len() <= 75));
        let (roots, issues) = parse(&text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(roots, vec![tree]);
        Ok(())
    }

    #[test]
    fn write_uppercases_names_and_rejects_invalid_ones() -> Result<()> {
        let mut lower = Component::new("x");
        lower.name = "vevent".into();
        lower.properties.push(Property { name: "uid".into(), params: vec![], value: "1".into() });
        assert_eq!(lower.to_ics()?, "BEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\n");
        let mut bad = Component::new("VEVENT");
        bad.name = "V EVENT".into();
        assert!(bad.to_ics().is_err());
        Ok(())
    }

    #[test]
    fn ten_thousand_events_parse_quickly() {
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for i in 0..10_000 {
            text.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:event-{i}@example.com\r\nDTSTAMP:20260101T000000Z\r\n\
                 DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:2026010\
                 5T100000\r\nSUMMARY:Meeting number {i}\\, with a longer title to fold over th\r\n \
                 e boundary of seventy-five octets\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\n\
                 ATTENDEE;CN=\"Doe, Jane\";ROLE=REQ-PARTICIPANT:mailto:jane@example.com\r\n\
                 END:VEVENT\r\n"
            ));
        }
        text.push_str("END:VCALENDAR\r\n");
        let started = std::time::Instant::now();
        let (roots, issues) = parse(&text);
        let elapsed = started.elapsed();
        assert!(issues.is_empty());
        assert_eq!(roots[0].components.len(), 10_000);
        // Generous for debug builds; a release build takes a few tens of milliseconds.
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    }
}
