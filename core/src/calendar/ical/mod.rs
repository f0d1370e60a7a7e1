//! iCalendar (RFC 5545) below the event model: the content layer, value conversions, TZID
//! resolution and VTIMEZONE generation.
//!
//! - [`parse`] reads text into a tree of [`Component`]s leniently, reporting what it could not
//!   read as [`ParseIssue`]s instead of failing; [`write()`] writes strict RFC 5545 text.
//! - [`Property`] keeps its value raw; [`Property::text`] and the functions of `values`
//!   ([`time_value`], [`time_list`], [`rdate_list`], [`recurrence_id`], [`duration`]) interpret
//!   it, resolving TZIDs with a [`ZoneResolver`] built from the same file.
//! - [`vtimezone`] describes a bundled-database zone for export.
//!
//! Decisions (leniency, the unknown-TZID fallback, the Windows table) are in
//! `docs/decisions/0011-icalendar-parsing.md`.

mod component;
mod content;
pub(crate) mod values;
mod vtimezone;
mod zones;

pub use component::{Component, ParseIssue, parse, write};
pub use content::{Param, Property, escape_text, join_text_list, split_text_list, unescape_text};
pub use values::{
    Lenient, Period, PeriodEnd, RDate, RecurrenceId, duration, duration_property, format_date,
    format_date_time, format_period, format_utc, format_utc_offset, parse_date, parse_date_time,
    parse_utc_offset, period, rdate_list, rdate_properties, recurrence_id, recurrence_id_property,
    time_list, time_list_properties, time_property, time_value,
};
pub use vtimezone::vtimezone;
pub use zones::{ZoneResolver, resolve_tzid_name, windows_zone};

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Files made of iCalendar-like lines (and some garbage), with every kind of line end and
    /// fold, so generated cases reach the interesting paths of the reader.
    fn ical_text() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("BEGIN:VCALENDAR".to_owned()),
            Just("END:VCALENDAR".to_owned()),
            Just("begin:vevent".to_owned()),
            Just("END:VEVENT".to_owned()),
            Just("BEGIN:VTIMEZONE".to_owned()),
            Just("END:VTIMEZONE".to_owned()),
            r#"[A-Za-z-]{1,8}(;[A-Za-z-]{0,5}=("[a-zA-Z0-9 ^'.@;:,é-]{0,10}"|[a-zA-Z0-9 ^'.@é-]{0,10})(,[a-z^']{0,4})?){0,3};?:[ -~é日🎉]{0,120}"#,
            "[ -~é]{0,40}",
        ];
        let end = prop_oneof![Just("\r\n"), Just("\n"), Just("\r\n "), Just("\n\t"), Just("\n\n")];
        prop::collection::vec((line, end), 0..40)
            .prop_map(|lines| lines.into_iter().map(|(line, end)| line + end).collect())
    }

    proptest! {
        #[test]
        fn anything_read_is_written_strictly_and_reads_back_the_same(text in ical_text()) {
            let (tree, _) = parse(&text);
            let written = write(&tree).expect("names read from a file are valid");
            prop_assert!(written.split_terminator("\r\n").all(|line| line.len() <= 75));
            let (again, issues) = parse(&written);
            prop_assert!(issues.is_empty(), "{:?}", issues);
            prop_assert_eq!(again, tree);
        }

        #[test]
        fn value_readers_never_panic(
            value in r"[0-9TtZz:/,+\-P.WDHMS]{0,30}|\PC{0,30}",
            tzid in r"\PC{0,20}",
        ) {
            let zones = ZoneResolver::default();
            let property = Property::new("DTSTART", value.clone()).with_param("TZID", tzid.clone());
            let _ = time_value(&property, &zones);
            let _ = time_list(&property, &zones);
            let _ = rdate_list(&property, &zones);
            let _ = recurrence_id(&property, &zones);
            let _ = duration(&property);
            let _ = parse_utc_offset(&value);
            let _ = resolve_tzid_name(&tzid);
            let _ = zones.resolve(&value);
        }

        #[test]
        fn broken_vtimezones_never_panic(
            parts in prop::collection::vec(
                (
                    prop_oneof![Just("STANDARD"), Just("DAYLIGHT")],
                    r"[0-9T]{0,15}",
                    r"[+-]?[0-9]{0,6}",
                    r"[+-]?[0-9]{0,6}",
                    r"(FREQ=YEARLY;)?(BYMONTH=[0-9]{1,2};)?(BYDAY=[+-]?[0-9]?(SU|MO|XX);)?(BYMONTHDAY=-?[0-9]{1,2};)?(UNTIL=[0-9TZ]{0,16};)?(COUNT=[0-9]{1,3})?",
                ),
                0..4,
            ),
        ) {
            let mut vtimezone = Component::new("VTIMEZONE").with_property(Property::new("TZID", "Fuzz"));
            for (name, start, from, to, rule) in parts {
                vtimezone.components.push(
                    Component::new(name)
                        .with_property(Property::new("DTSTART", start))
                        .with_property(Property::new("TZOFFSETFROM", from))
                        .with_property(Property::new("TZOFFSETTO", to))
                        .with_property(Property::new("RRULE", rule)),
                );
            }
            let calendar = Component::new("VCALENDAR").with_component(vtimezone);
            let _ = ZoneResolver::from_components(&[calendar]).resolve("Fuzz");
        }
    }
}
