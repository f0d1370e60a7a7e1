//! Tests of the recurrence engine: every RFC 5545 §3.8.5.3 example in New York time with its
//! UTC offsets, daylight-saving gaps and folds, the points decision 0010 settles, window queries
//! against a full walk, the safety caps, and the parser.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, ISOWeekDate, date};
use jiff::tz::TimeZone;

use super::*;
use crate::calendar::time::{TimeValue, time_zone};

const EDT: &str = "-04:00";
const EST: &str = "-05:00";
const NEW_YORK: &str = "America/New_York";

fn ny() -> TimeZone {
    time_zone(NEW_YORK).expect("the bundled database has New York")
}

fn in_ny(local: DateTime) -> TimeValue {
    TimeValue::Zoned { local, zone: NEW_YORK.into() }
}

fn rule(text: &str) -> RecurrenceRule {
    RecurrenceRule::parse(text).expect("a valid rule")
}

fn ny_set(start: DateTime, text: &str) -> RecurrenceSet {
    RecurrenceSet::new(in_ny(start), Some(rule(text)))
}

/// Occurrences as New York wall times with their offsets: `1997-09-02T09:00-04:00`.
fn show(occurrences: &[Occurrence]) -> Vec<String> {
    let ny = ny();
    occurrences
        .iter()
        .map(|o| o.instant.to_zoned_datetime(ny.clone()).strftime("%Y-%m-%dT%H:%M%:z").to_string())
        .collect()
}

/// The first `limit` occurrences of a New York series.
fn ny_first(start: DateTime, text: &str, limit: usize) -> Vec<String> {
    show(&ny_set(start, text).first(None, limit, &TimeZone::UTC).expect("expands"))
}

/// Expected New York times: the given days of one month at `time` with `offset`.
fn on(year: i16, month: i8, days: &[i8], time: &str, offset: &str) -> Vec<String> {
    days.iter().map(|d| format!("{year:04}-{month:02}-{d:02}T{time}{offset}")).collect()
}

fn range(first: i8, last: i8) -> Vec<i8> {
    (first..=last).collect()
}

fn utc(text: &str) -> Timestamp {
    text.parse().expect("a valid timestamp")
}

fn at9(y: i16, m: i8, d: i8) -> DateTime {
    date(y, m, d).at(9, 0, 0, 0)
}

// ---------------------------------------------------------------------------------------------
// RFC 5545 §3.8.5.3, every example, America/New_York. Expected values transcribed from the RFC
// text; "EDT" is -04:00 and "EST" -05:00.

#[test]
fn rfc_daily_for_10_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=DAILY;COUNT=10", 100);
    assert_eq!(got, on(1997, 9, &range(2, 11), "09:00", EDT));
}

#[test]
fn rfc_daily_until_december_24_crosses_into_standard_time() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=DAILY;UNTIL=19971224T000000Z", 200);
    let expected = [
        on(1997, 9, &range(2, 30), "09:00", EDT),
        on(1997, 10, &range(1, 25), "09:00", EDT),
        on(1997, 10, &range(26, 31), "09:00", EST),
        on(1997, 11, &range(1, 30), "09:00", EST),
        on(1997, 12, &range(1, 23), "09:00", EST),
    ]
    .concat();
    assert_eq!(got, expected);
}

#[test]
fn rfc_every_other_day_forever() {
    let odd = |a, b| (a..=b).step_by(2).collect::<Vec<i8>>();
    let expected = [
        on(1997, 9, &odd(2, 30), "09:00", EDT),
        on(1997, 10, &odd(2, 24), "09:00", EDT),
        on(1997, 10, &odd(26, 30), "09:00", EST),
        on(1997, 11, &odd(1, 29), "09:00", EST),
        on(1997, 12, &odd(1, 3), "09:00", EST),
    ]
    .concat();
    let got = ny_first(at9(1997, 9, 2), "FREQ=DAILY;INTERVAL=2", expected.len());
    assert_eq!(got, expected);
}

#[test]
fn rfc_every_10_days_5_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=DAILY;INTERVAL=10;COUNT=5", 100);
    let expected = [on(1997, 9, &[2, 12, 22], "09:00", EDT), on(1997, 10, &[2, 12], "09:00", EDT)];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_every_day_in_january_for_3_years_both_forms() {
    let expected = [1998, 1999, 2000].map(|y| on(y, 1, &range(1, 31), "09:00", EST)).concat();
    for text in [
        "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA",
        "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
    ] {
        assert_eq!(ny_first(at9(1998, 1, 1), text, 500), expected, "{text}");
    }
}

#[test]
fn rfc_weekly_for_10_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=WEEKLY;COUNT=10", 100);
    let expected = [
        on(1997, 9, &[2, 9, 16, 23, 30], "09:00", EDT),
        on(1997, 10, &[7, 14, 21], "09:00", EDT),
        on(1997, 10, &[28], "09:00", EST),
        on(1997, 11, &[4], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_weekly_until_december_24() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=WEEKLY;UNTIL=19971224T000000Z", 100);
    let expected = [
        on(1997, 9, &[2, 9, 16, 23, 30], "09:00", EDT),
        on(1997, 10, &[7, 14, 21], "09:00", EDT),
        on(1997, 10, &[28], "09:00", EST),
        on(1997, 11, &[4, 11, 18, 25], "09:00", EST),
        on(1997, 12, &[2, 9, 16, 23], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_every_other_week_forever() {
    let expected = [
        on(1997, 9, &[2, 16, 30], "09:00", EDT),
        on(1997, 10, &[14], "09:00", EDT),
        on(1997, 10, &[28], "09:00", EST),
        on(1997, 11, &[11, 25], "09:00", EST),
        on(1997, 12, &[9, 23], "09:00", EST),
        on(1998, 1, &[6, 20], "09:00", EST),
        on(1998, 2, &[3, 17], "09:00", EST),
    ]
    .concat();
    let got = ny_first(at9(1997, 9, 2), "FREQ=WEEKLY;INTERVAL=2;WKST=SU", expected.len());
    assert_eq!(got, expected);
}

#[test]
fn rfc_weekly_on_tuesday_and_thursday_for_five_weeks_both_forms() {
    let expected = [
        on(1997, 9, &[2, 4, 9, 11, 16, 18, 23, 25, 30], "09:00", EDT),
        on(1997, 10, &[2], "09:00", EDT),
    ]
    .concat();
    for text in [
        "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
        "FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH",
    ] {
        assert_eq!(ny_first(at9(1997, 9, 2), text, 100), expected, "{text}");
    }
}

#[test]
fn rfc_every_other_week_on_monday_wednesday_friday_until_december_24() {
    let text = "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR";
    let expected = [
        on(1997, 9, &[1, 3, 5, 15, 17, 19, 29], "09:00", EDT),
        on(1997, 10, &[1, 3, 13, 15, 17], "09:00", EDT),
        on(1997, 10, &[27, 29, 31], "09:00", EST),
        on(1997, 11, &[10, 12, 14, 24, 26, 28], "09:00", EST),
        on(1997, 12, &[8, 10, 12, 22], "09:00", EST),
    ];
    assert_eq!(ny_first(at9(1997, 9, 1), text, 100), expected.concat());
}

#[test]
fn rfc_every_other_week_on_tuesday_and_thursday_for_8_occurrences() {
    let text = "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH";
    let expected =
        [on(1997, 9, &[2, 4, 16, 18, 30], "09:00", EDT), on(1997, 10, &[2, 14, 16], "09:00", EDT)];
    assert_eq!(ny_first(at9(1997, 9, 2), text, 100), expected.concat());
}

#[test]
fn rfc_monthly_on_the_first_friday_for_10_occurrences() {
    let got = ny_first(at9(1997, 9, 5), "FREQ=MONTHLY;COUNT=10;BYDAY=1FR", 100);
    let expected = [
        on(1997, 9, &[5], "09:00", EDT),
        on(1997, 10, &[3], "09:00", EDT),
        on(1997, 11, &[7], "09:00", EST),
        on(1997, 12, &[5], "09:00", EST),
        on(1998, 1, &[2], "09:00", EST),
        on(1998, 2, &[6], "09:00", EST),
        on(1998, 3, &[6], "09:00", EST),
        on(1998, 4, &[3], "09:00", EST),
        on(1998, 5, &[1], "09:00", EDT),
        on(1998, 6, &[5], "09:00", EDT),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_monthly_on_the_first_friday_until_december_24() {
    let got = ny_first(at9(1997, 9, 5), "FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR", 100);
    let expected = [
        on(1997, 9, &[5], "09:00", EDT),
        on(1997, 10, &[3], "09:00", EDT),
        on(1997, 11, &[7], "09:00", EST),
        on(1997, 12, &[5], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_every_other_month_on_the_first_and_last_sunday_for_10_occurrences() {
    let text = "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU";
    let expected = [
        on(1997, 9, &[7, 28], "09:00", EDT),
        on(1997, 11, &[2, 30], "09:00", EST),
        on(1998, 1, &[4, 25], "09:00", EST),
        on(1998, 3, &[1, 29], "09:00", EST),
        on(1998, 5, &[3, 31], "09:00", EDT),
    ];
    assert_eq!(ny_first(at9(1997, 9, 7), text, 100), expected.concat());
}

#[test]
fn rfc_monthly_on_the_second_to_last_monday_for_6_months() {
    let got = ny_first(at9(1997, 9, 22), "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", 100);
    let expected = [
        on(1997, 9, &[22], "09:00", EDT),
        on(1997, 10, &[20], "09:00", EDT),
        on(1997, 11, &[17], "09:00", EST),
        on(1997, 12, &[22], "09:00", EST),
        on(1998, 1, &[19], "09:00", EST),
        on(1998, 2, &[16], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_monthly_on_the_third_to_last_day_forever() {
    let expected = [
        on(1997, 9, &[28], "09:00", EDT),
        on(1997, 10, &[29], "09:00", EST),
        on(1997, 11, &[28], "09:00", EST),
        on(1997, 12, &[29], "09:00", EST),
        on(1998, 1, &[29], "09:00", EST),
        on(1998, 2, &[26], "09:00", EST),
    ]
    .concat();
    assert_eq!(ny_first(at9(1997, 9, 28), "FREQ=MONTHLY;BYMONTHDAY=-3", 6), expected);
}

#[test]
fn rfc_monthly_on_the_2nd_and_15th_for_10_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15", 100);
    let expected = [
        on(1997, 9, &[2, 15], "09:00", EDT),
        on(1997, 10, &[2, 15], "09:00", EDT),
        on(1997, 11, &[2, 15], "09:00", EST),
        on(1997, 12, &[2, 15], "09:00", EST),
        on(1998, 1, &[2, 15], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_monthly_on_the_first_and_last_day_for_10_occurrences() {
    let got = ny_first(at9(1997, 9, 30), "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1", 100);
    let expected = [
        on(1997, 9, &[30], "09:00", EDT),
        on(1997, 10, &[1], "09:00", EDT),
        on(1997, 10, &[31], "09:00", EST),
        on(1997, 11, &[1, 30], "09:00", EST),
        on(1997, 12, &[1, 31], "09:00", EST),
        on(1998, 1, &[1, 31], "09:00", EST),
        on(1998, 2, &[1], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_every_18_months_on_the_10th_to_15th_for_10_occurrences() {
    let text = "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15";
    let expected =
        [on(1997, 9, &range(10, 15), "09:00", EDT), on(1999, 3, &range(10, 13), "09:00", EST)];
    assert_eq!(ny_first(at9(1997, 9, 10), text, 100), expected.concat());
}

#[test]
fn rfc_every_tuesday_every_other_month() {
    let expected = [
        on(1997, 9, &[2, 9, 16, 23, 30], "09:00", EDT),
        on(1997, 11, &[4, 11, 18, 25], "09:00", EST),
        on(1998, 1, &[6, 13, 20, 27], "09:00", EST),
        on(1998, 3, &[3, 10, 17, 24, 31], "09:00", EST),
    ]
    .concat();
    let got = ny_first(at9(1997, 9, 2), "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU", expected.len());
    assert_eq!(got, expected);
}

#[test]
fn rfc_yearly_in_june_and_july_for_10_occurrences() {
    let got = ny_first(at9(1997, 6, 10), "FREQ=YEARLY;COUNT=10;BYMONTH=6,7", 100);
    let expected =
        (1997..=2001).flat_map(|y| [on(y, 6, &[10], "09:00", EDT), on(y, 7, &[10], "09:00", EDT)]);
    assert_eq!(got, expected.collect::<Vec<_>>().concat());
}

#[test]
fn rfc_every_other_year_in_january_february_march_for_10_occurrences() {
    let text = "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3";
    let mut expected = on(1997, 3, &[10], "09:00", EST);
    for y in [1999, 2001, 2003] {
        for m in 1..=3 {
            expected.extend(on(y, m, &[10], "09:00", EST));
        }
    }
    assert_eq!(ny_first(at9(1997, 3, 10), text, 100), expected);
}

#[test]
fn rfc_every_third_year_on_the_1st_100th_200th_day_for_10_occurrences() {
    let text = "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200";
    let expected = [
        on(1997, 1, &[1], "09:00", EST),
        on(1997, 4, &[10], "09:00", EDT),
        on(1997, 7, &[19], "09:00", EDT),
        on(2000, 1, &[1], "09:00", EST),
        on(2000, 4, &[9], "09:00", EDT),
        on(2000, 7, &[18], "09:00", EDT),
        on(2003, 1, &[1], "09:00", EST),
        on(2003, 4, &[10], "09:00", EDT),
        on(2003, 7, &[19], "09:00", EDT),
        on(2006, 1, &[1], "09:00", EST),
    ];
    assert_eq!(ny_first(at9(1997, 1, 1), text, 100), expected.concat());
}

#[test]
fn rfc_every_20th_monday_of_the_year() {
    let expected = [
        on(1997, 5, &[19], "09:00", EDT),
        on(1998, 5, &[18], "09:00", EDT),
        on(1999, 5, &[17], "09:00", EDT),
    ];
    assert_eq!(ny_first(at9(1997, 5, 19), "FREQ=YEARLY;BYDAY=20MO", 3), expected.concat());
}

#[test]
fn rfc_monday_of_week_number_20() {
    let expected = [
        on(1997, 5, &[12], "09:00", EDT),
        on(1998, 5, &[11], "09:00", EDT),
        on(1999, 5, &[17], "09:00", EDT),
    ];
    let got = ny_first(at9(1997, 5, 12), "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", 3);
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_every_thursday_in_march() {
    let expected = [
        on(1997, 3, &[13, 20, 27], "09:00", EST),
        on(1998, 3, &[5, 12, 19, 26], "09:00", EST),
        on(1999, 3, &[4, 11, 18, 25], "09:00", EST),
    ]
    .concat();
    let got = ny_first(at9(1997, 3, 13), "FREQ=YEARLY;BYMONTH=3;BYDAY=TH", expected.len());
    assert_eq!(got, expected);
}

#[test]
fn rfc_every_thursday_in_june_july_august() {
    let expected = [
        on(1997, 6, &[5, 12, 19, 26], "09:00", EDT),
        on(1997, 7, &[3, 10, 17, 24, 31], "09:00", EDT),
        on(1997, 8, &[7, 14, 21, 28], "09:00", EDT),
        on(1998, 6, &[4, 11, 18, 25], "09:00", EDT),
        on(1998, 7, &[2, 9, 16, 23, 30], "09:00", EDT),
        on(1998, 8, &[6, 13, 20, 27], "09:00", EDT),
        on(1999, 6, &[3, 10, 17, 24], "09:00", EDT),
        on(1999, 7, &[1, 8, 15, 22, 29], "09:00", EDT),
        on(1999, 8, &[5, 12, 19, 26], "09:00", EDT),
    ]
    .concat();
    let got = ny_first(at9(1997, 6, 5), "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8", expected.len());
    assert_eq!(got, expected);
}

#[test]
fn rfc_every_friday_the_13th_with_the_unmatched_dtstart_excluded() {
    let mut set = ny_set(at9(1997, 9, 2), "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13");
    set.exdates.push(in_ny(at9(1997, 9, 2)));
    let got = show(&set.first(None, 5, &TimeZone::UTC).expect("expands"));
    let expected = [
        on(1998, 2, &[13], "09:00", EST),
        on(1998, 3, &[13], "09:00", EST),
        on(1998, 11, &[13], "09:00", EST),
        on(1999, 8, &[13], "09:00", EDT),
        on(2000, 10, &[13], "09:00", EDT),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_the_first_saturday_that_follows_the_first_sunday() {
    let expected = [
        on(1997, 9, &[13], "09:00", EDT),
        on(1997, 10, &[11], "09:00", EDT),
        on(1997, 11, &[8], "09:00", EST),
        on(1997, 12, &[13], "09:00", EST),
        on(1998, 1, &[10], "09:00", EST),
        on(1998, 2, &[7], "09:00", EST),
        on(1998, 3, &[7], "09:00", EST),
        on(1998, 4, &[11], "09:00", EDT),
        on(1998, 5, &[9], "09:00", EDT),
        on(1998, 6, &[13], "09:00", EDT),
    ]
    .concat();
    let text = "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13";
    assert_eq!(ny_first(at9(1997, 9, 13), text, expected.len()), expected);
}

#[test]
fn rfc_us_presidential_election_day() {
    let text = "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8";
    let expected = [
        on(1996, 11, &[5], "09:00", EST),
        on(2000, 11, &[7], "09:00", EST),
        on(2004, 11, &[2], "09:00", EST),
    ];
    assert_eq!(ny_first(at9(1996, 11, 5), text, 3), expected.concat());
}

#[test]
fn rfc_the_third_tuesday_wednesday_or_thursday_of_the_month_for_3_months() {
    let got = ny_first(at9(1997, 9, 4), "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", 100);
    let expected = [
        on(1997, 9, &[4], "09:00", EDT),
        on(1997, 10, &[7], "09:00", EDT),
        on(1997, 11, &[6], "09:00", EST),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_the_second_to_last_weekday_of_the_month() {
    let expected = [
        on(1997, 9, &[29], "09:00", EDT),
        on(1997, 10, &[30], "09:00", EST),
        on(1997, 11, &[27], "09:00", EST),
        on(1997, 12, &[30], "09:00", EST),
        on(1998, 1, &[29], "09:00", EST),
        on(1998, 2, &[26], "09:00", EST),
        on(1998, 3, &[30], "09:00", EST),
    ]
    .concat();
    let text = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2";
    assert_eq!(ny_first(at9(1997, 9, 29), text, expected.len()), expected);
}

#[test]
fn rfc_every_3_hours_until_a_utc_time_stops_at_that_instant() {
    // UNTIL 17:00Z is 13:00 EDT. The RFC's printed list also shows 15:00, which is after UNTIL;
    // we follow the rule as written.
    let got = ny_first(at9(1997, 9, 2), "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z", 100);
    assert_eq!(got, [on(1997, 9, &[2], "09:00", EDT), on(1997, 9, &[2], "12:00", EDT)].concat());
}

#[test]
fn rfc_every_15_minutes_for_6_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=MINUTELY;INTERVAL=15;COUNT=6", 100);
    let times = ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15"];
    assert_eq!(got, times.map(|t| format!("1997-09-02T{t}{EDT}")));
}

#[test]
fn rfc_every_hour_and_a_half_for_4_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=MINUTELY;INTERVAL=90;COUNT=4", 100);
    let times = ["09:00", "10:30", "12:00", "13:30"];
    assert_eq!(got, times.map(|t| format!("1997-09-02T{t}{EDT}")));
}

#[test]
fn rfc_every_20_minutes_from_9_to_4_40_every_day_both_forms() {
    let mut expected = Vec::new();
    for day in [2, 3] {
        for hour in 9..=16 {
            for minute in [0, 20, 40] {
                expected.push(format!("1997-09-{day:02}T{hour:02}:{minute:02}{EDT}"));
            }
        }
    }
    for text in [
        "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40",
        "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
    ] {
        assert_eq!(ny_first(at9(1997, 9, 2), text, expected.len()), expected, "{text}");
    }
}

#[test]
fn rfc_week_start_changes_which_days_an_every_other_week_rule_makes() {
    let monday = ny_first(at9(1997, 8, 5), "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", 9);
    assert_eq!(monday, on(1997, 8, &[5, 10, 19, 24], "09:00", EDT));
    let sunday = ny_first(at9(1997, 8, 5), "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", 9);
    assert_eq!(sunday, on(1997, 8, &[5, 17, 19, 31], "09:00", EDT));
}

#[test]
fn rfc_an_invalid_date_is_skipped_and_not_counted() {
    let got = ny_first(at9(2007, 1, 15), "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5", 100);
    let expected = [
        on(2007, 1, &[15, 30], "09:00", EST),
        on(2007, 2, &[15], "09:00", EST),
        on(2007, 3, &[15, 30], "09:00", EDT),
    ];
    assert_eq!(got, expected.concat());
}

#[test]
fn rfc_section_3_3_10_evaluates_several_by_parts_in_order() {
    let start = date(1997, 1, 5).at(8, 30, 0, 0);
    let text = "FREQ=YEARLY;INTERVAL=2;BYMONTH=1;BYDAY=SU;BYHOUR=8,9;BYMINUTE=30";
    let mut expected = Vec::new();
    for (year, sundays) in [(1997, [5, 12, 19, 26].as_slice()), (1999, &[3, 10, 17, 24, 31])] {
        for day in sundays {
            for hour in ["08:30", "09:30"] {
                expected.push(format!("{year}-01-{day:02}T{hour}{EST}"));
            }
        }
    }
    assert_eq!(ny_first(start, text, expected.len()), expected);
}

#[test]
fn rfc_section_3_3_10_every_other_day_for_10_occurrences() {
    let got = ny_first(at9(1997, 9, 2), "FREQ=DAILY;COUNT=10;INTERVAL=2", 100);
    let expected = [on(1997, 9, &[2, 4, 6, 8, 10, 12, 14, 16, 18, 20], "09:00", EDT)].concat();
    assert_eq!(got, expected);
}

#[test]
fn rfc_rdate_list_of_dates_on_an_all_day_event() {
    // RFC 5545 §3.8.5.2: RDATE;VALUE=DATE:19970101,19970120,19970217,19970421,19970526,
    // 19970704,19970901,19971014,19971128,19971129,19971225
    let days = [
        (1, 1),
        (1, 20),
        (2, 17),
        (4, 21),
        (5, 26),
        (7, 4),
        (9, 1),
        (10, 14),
        (11, 28),
        (11, 29),
        (12, 25),
    ];
    let mut set = RecurrenceSet::new(TimeValue::Date(date(1997, 1, 1)), None);
    set.rdates = days.iter().rev().map(|&(m, d)| TimeValue::Date(date(1997, m, d))).collect();
    let got = set.first(None, 100, &ny()).expect("expands");
    let expected: Vec<TimeValue> = days.map(|(m, d)| TimeValue::Date(date(1997, m, d))).to_vec();
    assert_eq!(got.into_iter().map(|o| o.original).collect::<Vec<_>>(), expected);
}

#[test]
fn the_rfc_vtimezone_rules_for_new_york_match_the_tz_database() {
    // RFC 5545 §3.6.5 writes US daylight saving as yearly rules; since 2007 they are
    // BYMONTH=3;BYDAY=2SU and BYMONTH=11;BYDAY=1SU at 02:00. The bundled tz database is the
    // oracle: both rules together must give exactly its transition dates.
    let start = TimeValue::Floating(date(2007, 3, 11).at(2, 0, 0, 0));
    let spring = RecurrenceSet::new(start, Some(rule("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU")));
    let start = TimeValue::Floating(date(2007, 11, 4).at(2, 0, 0, 0));
    let autumn = RecurrenceSet::new(start, Some(rule("FREQ=YEARLY;BYMONTH=11;BYDAY=1SU")));
    let (from, to) = (utc("2007-01-01T00:00Z"), utc("2040-01-01T00:00Z"));
    let mut generated: Vec<Date> = [spring, autumn]
        .iter()
        .flat_map(|set| set.between(from, to, &TimeZone::UTC).expect("expands"))
        .map(|o| o.original.local().date())
        .collect();
    generated.sort();
    let ny = ny();
    let transitions: Vec<Date> = ny
        .following(from)
        .take_while(|t| t.timestamp() < to)
        .map(|t| ny.to_datetime(t.timestamp()).date())
        .collect();
    assert_eq!(generated.len(), 66);
    assert_eq!(generated, transitions);
}

// ---------------------------------------------------------------------------------------------
// Daylight saving: gaps and folds (RFC 5545 §3.3.5).

#[test]
fn a_dtstart_in_the_spring_gap_uses_the_offset_before_the_gap() {
    // 2026-03-08 02:30 does not exist in New York: it is read as 02:30 EST (07:30Z).
    let set = ny_set(date(2026, 3, 8).at(2, 30, 0, 0), "FREQ=DAILY;COUNT=3");
    let got = set.first(None, 10, &TimeZone::UTC).expect("never an error on import");
    let instants: Vec<String> = got.iter().map(|o| o.instant.to_string()).collect();
    assert_eq!(instants, ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]);
    // The recurrence id keeps the wall time as written.
    assert_eq!(got[0].original, in_ny(date(2026, 3, 8).at(2, 30, 0, 0)));
}

#[test]
fn a_dtstart_in_the_autumn_fold_is_its_first_occurrence() {
    let set = ny_set(date(2026, 11, 1).at(1, 30, 0, 0), "FREQ=DAILY;COUNT=2");
    let got = set.first(None, 10, &TimeZone::UTC).expect("expands");
    let instants: Vec<String> = got.iter().map(|o| o.instant.to_string()).collect();
    assert_eq!(instants, ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]);
}

#[test]
fn an_hourly_rule_over_the_spring_gap_counts_the_shared_instant_once() {
    // Wall times 00..04; 02:00 does not exist and resolves to 03:00 EDT, the same instant as the
    // 03:00 occurrence. COUNT counts the rule's five wall times; the set holds four instants.
    let set = ny_set(date(2026, 3, 8).at(0, 0, 0, 0), "FREQ=HOURLY;COUNT=5");
    let got = show(&set.first(None, 10, &TimeZone::UTC).expect("expands"));
    assert_eq!(
        got,
        [
            "2026-03-08T00:00-05:00",
            "2026-03-08T01:00-05:00",
            "2026-03-08T03:00-04:00",
            "2026-03-08T04:00-04:00"
        ]
    );
}

#[test]
fn an_hourly_rule_over_the_autumn_fold_takes_the_first_of_the_repeated_hour() {
    let set = ny_set(date(2026, 11, 1).at(0, 0, 0, 0), "FREQ=HOURLY;COUNT=4");
    let got = show(&set.first(None, 10, &TimeZone::UTC).expect("expands"));
    assert_eq!(
        got,
        [
            "2026-11-01T00:00-04:00",
            "2026-11-01T01:00-04:00",
            "2026-11-01T02:00-05:00",
            "2026-11-01T03:00-05:00"
        ]
    );
}

#[test]
fn a_window_just_after_a_gap_finds_the_occurrence_the_gap_pushed_into_it() {
    // 02:30 (in the gap) is 07:30Z, after the 03:00 EDT occurrence (07:00Z): the window
    // [07:15Z, 07:45Z) must still find it although its wall time is before the window's. 03:30
    // EDT is the same instant; the earlier wall time, first in rule order, is the one kept.
    let set = ny_set(date(2026, 3, 8).at(2, 0, 0, 0), "FREQ=MINUTELY;INTERVAL=30;COUNT=6");
    let got = set.between(utc("2026-03-08T07:15Z"), utc("2026-03-08T07:45Z"), &TimeZone::UTC);
    let got = got.expect("expands");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].original, in_ny(date(2026, 3, 8).at(2, 30, 0, 0)));
}

#[test]
fn a_weekly_meeting_keeps_its_wall_time_across_dst_for_a_viewer_elsewhere() {
    let set = ny_set(at9(2026, 3, 2), "FREQ=WEEKLY;COUNT=3");
    let paris = time_zone("Europe/Paris").expect("bundled");
    let got = set.first(None, 10, &paris).expect("expands");
    let instants: Vec<String> = got.iter().map(|o| o.instant.to_string()).collect();
    assert_eq!(instants, ["2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z", "2026-03-16T13:00:00Z"]);
}

// ---------------------------------------------------------------------------------------------
// Dates, leap days, negative days, week numbers.

#[test]
fn a_yearly_rule_on_february_29_occurs_only_in_leap_years() {
    let got = ny_first(at9(2024, 2, 29), "FREQ=YEARLY", 4);
    let expected = [2024, 2028, 2032, 2036].map(|y| format!("{y}-02-29T09:00{EST}"));
    assert_eq!(got, expected);
    // Counted only when they exist: COUNT=2 reaches 2028, not 2025.
    assert_eq!(ny_first(at9(2024, 2, 29), "FREQ=YEARLY;COUNT=2", 9), expected[..2]);
}

#[test]
fn the_last_day_of_february_follows_leap_years() {
    let got = ny_first(at9(2023, 2, 28), "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", 3);
    assert_eq!(got, ["2023-02-28T09:00-05:00", "2024-02-29T09:00-05:00", "2025-02-28T09:00-05:00"]);
}

#[test]
fn a_negative_month_day_counts_from_the_end_of_each_month() {
    let got = ny_first(at9(2026, 1, 31), "FREQ=MONTHLY;BYMONTHDAY=-1", 4);
    let days = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"];
    let offsets = [EST, EST, EDT, EDT];
    let expected: Vec<String> =
        days.iter().zip(offsets).map(|(d, o)| format!("{d}T09:00{o}")).collect();
    assert_eq!(got, expected);
}

#[test]
fn the_31st_of_each_month_skips_short_months() {
    let got = ny_first(at9(2026, 1, 31), "FREQ=MONTHLY", 4);
    let months: Vec<&str> = got.iter().map(|s| &s[..10]).collect();
    assert_eq!(months, ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]);
}

#[test]
fn an_all_day_birthday_stays_on_its_date_in_every_viewer_zone() {
    let set = RecurrenceSet::new(TimeValue::Date(date(2020, 2, 29)), Some(rule("FREQ=YEARLY")));
    let tokyo = time_zone("Asia/Tokyo").expect("bundled");
    let got = set.first(None, 2, &tokyo).expect("expands");
    assert_eq!(got[1].original, TimeValue::Date(date(2024, 2, 29)));
    assert_eq!(got[1].instant.to_string(), "2024-02-28T15:00:00Z"); // midnight in Tokyo
}

#[test]
fn time_parts_are_ignored_on_an_all_day_series() {
    // RFC 5545 §3.3.10: BYHOUR/BYMINUTE/BYSECOND with a DATE start MUST be ignored.
    let set = RecurrenceSet::new(
        TimeValue::Date(date(2026, 1, 1)),
        Some(rule("FREQ=DAILY;COUNT=3;BYHOUR=9,10")),
    );
    let got = set.first(None, 10, &TimeZone::UTC).expect("expands");
    let days: Vec<TimeValue> = got.into_iter().map(|o| o.original).collect();
    assert_eq!(days, [1, 2, 3].map(|d| TimeValue::Date(date(2026, 1, d))));
}

#[test]
fn a_sub_daily_rule_on_an_all_day_series_gives_each_date_once() {
    let set = RecurrenceSet::new(
        TimeValue::Date(date(2026, 1, 1)),
        Some(rule("FREQ=HOURLY;INTERVAL=12;COUNT=3")),
    );
    let got = set.first(None, 10, &TimeZone::UTC).expect("expands");
    let days: Vec<TimeValue> = got.into_iter().map(|o| o.original).collect();
    assert_eq!(days, [1, 2, 3].map(|d| TimeValue::Date(date(2026, 1, d))));
}

#[test]
fn week_53_occurs_only_in_years_that_have_one() {
    let got = ny_first(date(2026, 12, 28).at(9, 0, 0, 0), "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO", 3);
    // Oracle: jiff's ISO week dates. Years with 53 ISO weeks after 2026: 2032, 2037.
    let expected: Vec<String> = [2026, 2032, 2037]
        .map(|y| {
            let day =
                ISOWeekDate::new(y, 53, jiff::civil::Weekday::Monday).expect("week 53").date();
            format!("{day}T09:00{EST}")
        })
        .to_vec();
    assert_eq!(got, expected);
}

#[test]
fn week_1_can_begin_in_the_previous_calendar_year() {
    let got = ny_first(date(2024, 12, 30).at(9, 0, 0, 0), "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", 4);
    let expected: Vec<String> = [2025, 2026, 2027, 2028]
        .map(|y| {
            let day = ISOWeekDate::new(y, 1, jiff::civil::Weekday::Monday).expect("week 1").date();
            format!("{day}T09:00{EST}")
        })
        .to_vec();
    assert_eq!(got, expected);
    assert_eq!(expected[1], "2025-12-29T09:00-05:00");
}

#[test]
fn the_last_week_of_the_year_counts_back_from_the_end() {
    let got = ny_first(date(2025, 12, 22).at(9, 0, 0, 0), "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=MO", 3);
    let last_monday = |y: i16| {
        let weeks =
            if ISOWeekDate::new(y, 53, jiff::civil::Weekday::Monday).is_ok() { 53 } else { 52 };
        ISOWeekDate::new(y, weeks, jiff::civil::Weekday::Monday).expect("last week").date()
    };
    let expected: Vec<String> =
        [2025, 2026, 2027].map(|y| format!("{}T09:00{EST}", last_monday(y))).to_vec();
    assert_eq!(got, expected);
}

#[test]
fn a_week_number_without_a_weekday_uses_the_weekday_of_dtstart() {
    // Decision 0010: like libical, not the whole week (dateutil).
    let got = ny_first(at9(2026, 5, 13), "FREQ=YEARLY;BYWEEKNO=20", 3);
    // 2026-05-13 is the Wednesday of ISO week 20.
    let expected: Vec<String> = [2026, 2027, 2028]
        .map(|y| {
            let day =
                ISOWeekDate::new(y, 20, jiff::civil::Weekday::Wednesday).expect("week 20").date();
            format!("{day}T09:00{EDT}")
        })
        .to_vec();
    assert_eq!(got, expected);
}

#[test]
fn a_yearly_month_day_without_a_month_repeats_in_every_month() {
    // Decision 0010: BYMONTHDAY expands YEARLY across all months (RFC table; dateutil agrees).
    let got = ny_first(at9(2026, 1, 15), "FREQ=YEARLY;BYMONTHDAY=15", 3);
    let days: Vec<&str> = got.iter().map(|s| &s[..10]).collect();
    assert_eq!(days, ["2026-01-15", "2026-02-15", "2026-03-15"]);
}

// ---------------------------------------------------------------------------------------------
// BYSETPOS in every frequency.

fn floating_first(start: DateTime, text: &str, limit: usize) -> Vec<DateTime> {
    let set = RecurrenceSet::new(TimeValue::Floating(start), Some(rule(text)));
    let got = set.first(None, limit, &TimeZone::UTC).expect("expands");
    got.into_iter().map(|o| o.original.local()).collect()
}

#[test]
fn bysetpos_yearly_picks_the_last_weekday_of_the_year() {
    let got = floating_first(at9(2026, 12, 31), "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", 3);
    assert_eq!(got, [at9(2026, 12, 31), at9(2027, 12, 31), at9(2028, 12, 29)]);
}

#[test]
fn bysetpos_weekly_counts_from_the_week_start_even_before_dtstart() {
    // Decision 0010: the set of the first week starts on WKST (Monday 5th), so position 2 is
    // Wednesday 7th, DTSTART itself. dateutil starts the set at DTSTART and would give Friday.
    let got = floating_first(at9(2026, 1, 7), "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=2", 3);
    assert_eq!(got, [at9(2026, 1, 7), at9(2026, 1, 14), at9(2026, 1, 21)]);
}

#[test]
fn bysetpos_daily_picks_the_last_time_of_each_day() {
    let start = date(2026, 1, 1).at(17, 0, 0, 0);
    let got = floating_first(start, "FREQ=DAILY;BYHOUR=9,12,17;BYSETPOS=-1", 3);
    assert_eq!(got, [1, 2, 3].map(|d| date(2026, 1, d).at(17, 0, 0, 0)));
}

#[test]
fn bysetpos_hourly_picks_the_second_quarter_hour() {
    let start = date(2026, 1, 1).at(10, 15, 0, 0);
    let got = floating_first(start, "FREQ=HOURLY;BYMINUTE=0,15,30,45;BYSETPOS=2", 3);
    assert_eq!(got, [10, 11, 12].map(|h| date(2026, 1, 1).at(h, 15, 0, 0)));
}

#[test]
fn bysetpos_minutely_picks_the_last_second_of_each_period() {
    let start = date(2026, 1, 1).at(10, 0, 30, 0);
    let got = floating_first(start, "FREQ=MINUTELY;INTERVAL=30;BYSECOND=0,30;BYSETPOS=-1", 3);
    let expected = [(10, 0), (10, 30), (11, 0)].map(|(h, m)| date(2026, 1, 1).at(h, m, 30, 0));
    assert_eq!(got, expected);
}

#[test]
fn bysetpos_secondly_limits_a_one_element_set() {
    let start = date(2026, 1, 1).at(10, 0, 0, 0);
    let got = floating_first(start, "FREQ=SECONDLY;BYSECOND=0,30;BYSETPOS=1", 3);
    let expected = [(0, 0), (0, 30), (1, 0)].map(|(m, s)| date(2026, 1, 1).at(10, m, s, 0));
    assert_eq!(got, expected);
    // Each SECONDLY set holds one instant, so position 2 never exists: only DTSTART remains.
    assert_eq!(floating_first(start, "FREQ=SECONDLY;BYSECOND=0,30;BYSETPOS=2", 3), [start]);
}

// ---------------------------------------------------------------------------------------------
// DTSTART, COUNT, EXDATE, RDATE, UNTIL.

#[test]
fn an_unmatched_dtstart_is_the_first_occurrence_and_counts() {
    // 2026-01-07 is a Wednesday; the rule makes Mondays. RFC 5545: DTSTART counts as the first.
    let got = floating_first(at9(2026, 1, 7), "FREQ=WEEKLY;BYDAY=MO;COUNT=3", 10);
    assert_eq!(got, [at9(2026, 1, 7), at9(2026, 1, 12), at9(2026, 1, 19)]);
}

#[test]
fn exdate_removes_occurrences_after_count_is_applied() {
    let mut set = ny_set(at9(2026, 1, 1), "FREQ=DAILY;COUNT=3");
    set.exdates.push(in_ny(at9(2026, 1, 2)));
    let got = show(&set.first(None, 10, &TimeZone::UTC).expect("expands"));
    assert_eq!(got, on(2026, 1, &[1, 3], "09:00", EST));
    // Excluding DTSTART also leaves it counted.
    let mut set = ny_set(at9(2026, 1, 1), "FREQ=DAILY;COUNT=3");
    set.exdates.push(in_ny(at9(2026, 1, 1)));
    let got = show(&set.first(None, 10, &TimeZone::UTC).expect("expands"));
    assert_eq!(got, on(2026, 1, &[2, 3], "09:00", EST));
}

#[test]
fn exdate_matches_by_instant_whatever_zone_it_is_written_in() {
    let mut set = ny_set(at9(2026, 1, 1), "FREQ=DAILY;COUNT=4");
    set.exdates.push(TimeValue::Utc(utc("2026-01-02T14:00Z")));
    set.exdates.push(TimeValue::Zoned {
        local: date(2026, 1, 3).at(15, 0, 0, 0),
        zone: "Europe/Paris".into(),
    });
    let got = show(&set.first(None, 10, &TimeZone::UTC).expect("expands"));
    assert_eq!(got, on(2026, 1, &[1, 4], "09:00", EST));
}

#[test]
fn a_date_exdate_on_a_timed_series_removes_that_local_day() {
    let mut set = ny_set(at9(2026, 1, 1), "FREQ=DAILY;COUNT=4;BYHOUR=9,18");
    set.exdates.push(TimeValue::Date(date(2026, 1, 1)));
    let got = show(&set.first(None, 10, &TimeZone::UTC).expect("expands"));
    let expected = [on(2026, 1, &[2], "09:00", EST), on(2026, 1, &[2], "18:00", EST)].concat();
    assert_eq!(got, expected);
}

#[test]
fn rdates_add_occurrences_and_duplicates_count_once() {
    let mut set = ny_set(at9(2026, 1, 5), "FREQ=DAILY;COUNT=2");
    set.rdates.push(in_ny(at9(2026, 1, 6))); // also made by the rule
    set.rdates.push(TimeValue::Utc(utc("2026-01-10T17:00Z"))); // 12:00 in New York
    set.rdates.push(TimeValue::Date(date(2026, 1, 1))); // a date: DTSTART's time that day
    let got = set.first(None, 10, &TimeZone::UTC).expect("expands");
    assert_eq!(
        show(&got),
        [
            "2026-01-01T09:00-05:00",
            "2026-01-05T09:00-05:00",
            "2026-01-06T09:00-05:00",
            "2026-01-10T12:00-05:00"
        ]
    );
    // Every recurrence id has the series' kind: zoned in New York.
    assert_eq!(got[3].original, in_ny(date(2026, 1, 10).at(12, 0, 0, 0)));
    // A later start skips what came before.
    let later = set.first(Some(utc("2026-01-06T00:00Z")), 10, &TimeZone::UTC).expect("expands");
    assert_eq!(later.len(), 2);
}

#[test]
fn an_exdate_also_removes_an_rdate() {
    let mut set = RecurrenceSet::new(in_ny(at9(2026, 1, 1)), None);
    set.rdates.push(in_ny(at9(2026, 1, 3)));
    set.exdates.push(in_ny(at9(2026, 1, 3)));
    let got = set.first(None, 10, &TimeZone::UTC).expect("expands");
    assert_eq!(show(&got), on(2026, 1, &[1], "09:00", EST));
}

#[test]
fn a_date_until_on_a_timed_series_includes_that_whole_day() {
    let got = ny_first(at9(2026, 1, 1), "FREQ=DAILY;UNTIL=20260105", 100);
    assert_eq!(got, on(2026, 1, &range(1, 5), "09:00", EST));
}

#[test]
fn a_floating_until_on_a_zoned_series_is_read_as_wall_time() {
    let got = ny_first(at9(2026, 1, 1), "FREQ=DAILY;UNTIL=20260103T090000", 100);
    assert_eq!(got, on(2026, 1, &range(1, 3), "09:00", EST));
}

#[test]
fn a_utc_until_on_a_floating_series_is_compared_as_an_instant_in_the_viewer_zone() {
    let set = RecurrenceSet::new(
        TimeValue::Floating(at9(2026, 1, 1)),
        Some(rule("FREQ=DAILY;UNTIL=20260103T140000Z")),
    );
    // 09:00 in New York is 14:00Z: the 3rd is included there, not a second later.
    assert_eq!(set.first(None, 10, &ny()).expect("expands").len(), 3);
    let set = RecurrenceSet::new(
        TimeValue::Floating(at9(2026, 1, 1)),
        Some(rule("FREQ=DAILY;UNTIL=20260103T135959Z")),
    );
    assert_eq!(set.first(None, 10, &ny()).expect("expands").len(), 2);
}

#[test]
fn a_utc_until_on_an_all_day_series_ends_on_its_utc_date() {
    let set = RecurrenceSet::new(
        TimeValue::Date(date(2026, 1, 1)),
        Some(rule("FREQ=DAILY;UNTIL=20260103T000000Z")),
    );
    let got = set.first(None, 10, &ny()).expect("expands");
    assert_eq!(got.last().map(|o| o.original.clone()), Some(TimeValue::Date(date(2026, 1, 3))));
    assert_eq!(got.len(), 3);
}

#[test]
fn an_until_before_dtstart_leaves_dtstart_alone() {
    assert_eq!(ny_first(at9(2026, 1, 10), "FREQ=DAILY;UNTIL=20260101", 10).len(), 1);
}

#[test]
fn a_utc_series_expands_in_utc() {
    let set = RecurrenceSet::new(
        TimeValue::Utc(utc("2026-03-07T12:00Z")),
        Some(rule("FREQ=DAILY;COUNT=3")),
    );
    let got = set.first(None, 10, &ny()).expect("expands");
    let instants: Vec<String> = got.iter().map(|o| o.instant.to_string()).collect();
    assert_eq!(instants, ["2026-03-07T12:00:00Z", "2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z"]);
    assert_eq!(got[2].original, TimeValue::Utc(utc("2026-03-09T12:00Z")));
}

#[test]
fn a_set_without_a_rule_is_dtstart_plus_rdates() {
    let mut set = RecurrenceSet::new(in_ny(at9(2026, 1, 5)), None);
    set.rdates.push(in_ny(at9(2026, 1, 2)));
    let got = set.first(None, 10, &TimeZone::UTC).expect("expands");
    assert_eq!(show(&got), on(2026, 1, &[2, 5], "09:00", EST));
}

// ---------------------------------------------------------------------------------------------
// Window queries and skipping ahead.

#[test]
fn between_takes_occurrences_starting_in_the_half_open_window() {
    let set = ny_set(at9(2026, 1, 1), "FREQ=DAILY");
    let got = set
        .between(utc("2026-01-03T14:00Z"), utc("2026-01-05T14:00Z"), &TimeZone::UTC)
        .expect("expands");
    assert_eq!(show(&got), on(2026, 1, &[3, 4], "09:00", EST));
    assert!(
        set.between(utc("2026-01-05T14:00Z"), utc("2026-01-05T14:00Z"), &TimeZone::UTC)
            .expect("empty window")
            .is_empty()
    );
}

#[test]
fn a_daily_rule_from_1990_answers_a_2030_month_view_by_skipping_ahead() {
    let set = ny_set(at9(1990, 1, 1), "FREQ=DAILY");
    let got = set
        .between(utc("2030-03-01T05:00Z"), utc("2030-04-01T04:00Z"), &TimeZone::UTC)
        .expect("expands");
    // DST starts on 2030-03-10.
    let expected =
        [on(2030, 3, &range(1, 9), "09:00", EST), on(2030, 3, &range(10, 31), "09:00", EDT)];
    assert_eq!(show(&got), expected.concat());
}

#[test]
fn a_secondly_rule_from_1990_answers_a_2030_minute_without_walking_there() {
    // Walking 40 years of seconds would exceed the step budget and fail: success proves the skip.
    let set = ny_set(at9(1990, 1, 1), "FREQ=SECONDLY;INTERVAL=7");
    let from = utc("2030-06-01T12:00Z");
    let got = set.between(from, utc("2030-06-01T12:01Z"), &TimeZone::UTC).expect("expands");
    assert!((8..=9).contains(&got.len()), "{}", got.len());
    // The interval runs on the wall clock (the rule's time scale), not on elapsed seconds.
    for occurrence in &got {
        let wall = occurrence.original.local();
        assert_eq!(wall.duration_since(at9(1990, 1, 1)).as_secs() % 7, 0, "{wall}");
    }
}

#[test]
fn a_count_rule_with_one_occurrence_per_period_skips_ahead_and_still_ends_on_time() {
    // 14,000 days from 1990-01-01 ends on 2028-04-30 (the 14,000th day, DTSTART counted).
    let set = RecurrenceSet::new(
        TimeValue::Floating(at9(1990, 1, 1)),
        Some(rule("FREQ=DAILY;COUNT=14000")),
    );
    let last = date(1990, 1, 1).checked_add(jiff::Span::new().days(13_999)).expect("in range");
    let got = set
        .between(utc("2028-04-29T00:00Z"), utc("2028-05-02T00:00Z"), &TimeZone::UTC)
        .expect("expands");
    let days: Vec<Date> = got.iter().map(|o| o.original.local().date()).collect();
    assert_eq!(days, [date(2028, 4, 29), last]);
    assert_eq!(last, date(2028, 4, 30));
}

/// A window query must return exactly what a walk from the start finds in that window.
#[test]
fn window_queries_agree_with_a_walk_from_the_start() {
    let rules = [
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,SA",
        "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=YEARLY;INTERVAL=2;BYWEEKNO=1,-1;BYDAY=MO,SU",
        "FREQ=YEARLY;BYYEARDAY=-1,60",
        "FREQ=HOURLY;INTERVAL=5;BYDAY=SA",
        "FREQ=MINUTELY;INTERVAL=97;BYHOUR=1,2,3",
        "FREQ=DAILY;BYMONTH=2,3;BYMONTHDAY=29,-1;INTERVAL=2",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1",
        "FREQ=DAILY;COUNT=400;BYDAY=MO,WE",
        "FREQ=DAILY;INTERVAL=4;COUNT=300;BYDAY=FR,SA,SU;BYHOUR=8,20",
        "FREQ=WEEKLY;INTERVAL=3;COUNT=200;BYDAY=TU,SA;BYSETPOS=-1",
        "FREQ=WEEKLY;COUNT=300",
        "FREQ=MONTHLY;COUNT=40;BYMONTHDAY=1,-1",
        "FREQ=HOURLY;COUNT=2000;INTERVAL=7;BYHOUR=6,7,8",
    ];
    // A leap day, and a wall time DST can skip; the same rules as all-day and floating series.
    let local = date(2020, 2, 29).at(2, 30, 0, 0);
    let paris = time_zone("Europe/Paris").expect("bundled");
    let starts = [
        (in_ny(local), TimeZone::UTC),
        (TimeValue::Date(local.date()), paris.clone()),
        (TimeValue::Floating(local), ny()),
    ];
    for (start, viewer) in starts {
        for text in rules {
            let set = RecurrenceSet::new(start.clone(), Some(rule(text)));
            let walk = set.first(None, 3000, &viewer).expect("walks");
            let complete = walk.len() < 3000;
            let Some(last) = walk.last().map(|o| o.instant) else { panic!("{text}: nothing") };
            for (from, to) in [
                (utc("2020-03-08T00:00Z"), utc("2020-03-09T00:00Z")),
                (utc("2021-11-01T00:00Z"), utc("2022-03-01T00:00Z")),
                (utc("2022-12-25T00:00Z"), utc("2023-01-09T00:00Z")),
                (utc("2019-01-01T00:00Z"), utc("2020-03-01T00:00Z")),
                (utc("2027-06-01T00:00Z"), utc("2027-07-01T00:00Z")),
                (utc("2031-02-01T00:00Z"), utc("2031-03-01T00:00Z")),
            ] {
                if to > last && !complete {
                    continue;
                }
                let expected: Vec<Occurrence> =
                    walk.iter().filter(|o| o.instant >= from && o.instant < to).cloned().collect();
                let got = set.between(from, to, &viewer).expect("window");
                assert_eq!(got, expected, "{start} {text} in [{from}, {to})");
                let next = set.first(Some(from), 5, &viewer).expect("first");
                let expected_next: Vec<Occurrence> =
                    walk.iter().filter(|o| o.instant >= from).take(5).cloned().collect();
                if complete || expected_next.len() == 5 {
                    assert_eq!(next, expected_next, "{start} {text} from {from}");
                }
            }
        }
    }
}

/// `last_rule_instant` starts near the end of a COUNT rule with one occurrence per period
/// (decision 0039): it must find what a walk of every occurrence finds, also where the last
/// wall times fall in a DST gap or fold, on a date line jump, or on all-day and floating series.
#[test]
fn the_last_rule_instant_is_the_latest_instant_of_a_walk() {
    let rules = [
        "FREQ=WEEKLY",
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=MONTHLY",
        "FREQ=YEARLY;INTERVAL=2",
        "FREQ=HOURLY",
        "FREQ=HOURLY;INTERVAL=5",
        "FREQ=MINUTELY;INTERVAL=30",
        // Not uniform: the walk from the start.
        "FREQ=WEEKLY;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYMONTHDAY=31",
    ];
    let zones = ["America/New_York", "Pacific/Apia", "Australia/Lord_Howe", "Europe/Paris"];
    let mut starts = Vec::new();
    for zone in zones {
        for local in [
            date(2026, 3, 8).at(2, 30, 0, 0),
            date(2026, 10, 25).at(2, 30, 0, 0),
            date(2011, 12, 29).at(23, 0, 0, 0),
            date(2026, 1, 31).at(9, 0, 0, 0),
            date(2024, 2, 29).at(0, 30, 0, 0),
        ] {
            starts.push((TimeValue::Zoned { local, zone: zone.into() }, TimeZone::UTC));
        }
    }
    let local = date(2026, 3, 29).at(2, 30, 0, 0);
    let paris = time_zone("Europe/Paris").expect("bundled");
    starts.push((TimeValue::Date(local.date()), paris.clone()));
    starts.push((TimeValue::Floating(local), paris));
    starts.push((TimeValue::Utc(utc("2026-03-08T07:30Z")), ny()));
    let (mut checked, mut shortcuts) = (0, 0);
    for (start, viewer) in &starts {
        for text in rules {
            for count in [1, 2, 3, 5, 24, 25, 52, 53, 400] {
                let set =
                    RecurrenceSet::new(start.clone(), Some(rule(&format!("{text};COUNT={count}"))));
                let Ok(walk) = set.first(None, 1_000, viewer) else { continue };
                let expected = walk.iter().map(|o| o.instant).max();
                let got = set.last_rule_instant(viewer).expect("ends");
                assert_eq!(got, expected, "{start} {text};COUNT={count}");
                // The shortcut must be taken where it applies, not only fall back to the walk:
                // its wall is the walk's last (when no two wall times share an instant).
                let shortcut = set.last_uniform_wall(viewer).expect("prepares");
                if walk.len() == count && shortcut.is_some() {
                    let last_wall = walk.iter().map(|o| o.original.local()).max();
                    assert_eq!(shortcut, last_wall, "{start} {text};COUNT={count}");
                    shortcuts += 1;
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000 && shortcuts > 500, "{checked} cases, {shortcuts} shortcuts");
}

// ---------------------------------------------------------------------------------------------
// Safety caps.

#[test]
fn a_rule_that_can_never_match_yields_only_dtstart() {
    for text in [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31",
        "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6",
        "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1,2,3",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=SECONDLY;BYSECOND=60",
    ] {
        let set = ny_set(at9(2026, 1, 1), text);
        let started = std::time::Instant::now();
        let got = set.first(None, 10, &TimeZone::UTC).expect("ends quietly");
        assert_eq!(got.len(), 1, "{text}");
        assert!(started.elapsed().as_secs() < 20, "{text} took {:?}", started.elapsed());
        let later = set.between(utc("2030-01-01T00:00Z"), utc("2031-01-01T00:00Z"), &TimeZone::UTC);
        assert!(later.expect("ends quietly").is_empty(), "{text}");
    }
}

#[test]
fn a_window_with_too_many_occurrences_is_refused_not_cut() {
    let set = ny_set(at9(1990, 1, 1), "FREQ=SECONDLY");
    let error = set
        .between(utc("2000-01-01T00:00Z"), utc("2030-01-01T00:00Z"), &TimeZone::UTC)
        .expect_err("decades of seconds");
    assert!(error.to_string().contains("more than 100000 occurrences"), "{error}");
    let error = set.first(None, usize::MAX, &TimeZone::UTC).expect_err("unbounded");
    assert!(error.to_string().contains("smaller limit"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Parsing, validation, canonical text.

fn parse_error(text: &str) -> String {
    RecurrenceRule::parse(text).expect_err(text).to_string()
}

#[test]
fn parse_reads_every_rule_part() {
    let rule = rule(
        "FREQ=YEARLY;UNTIL=20301231T235959Z;INTERVAL=2;BYSECOND=0,30;BYMINUTE=15;BYHOUR=9;\
         BYDAY=MO,-1FR;BYMONTHDAY=-1;BYYEARDAY=100;BYMONTH=1,6;BYSETPOS=1;WKST=SU",
    );
    assert_eq!(rule.frequency, Frequency::Yearly);
    assert_eq!(rule.interval, 2);
    assert_eq!(rule.until, Some(TimeValue::Utc(utc("2030-12-31T23:59:59Z"))));
    assert_eq!(rule.by_second, [0, 30]);
    assert_eq!(rule.by_minute, [15]);
    assert_eq!(rule.by_hour, [9]);
    assert_eq!(
        rule.by_day,
        [WeekdayNum::every(Weekday::Monday), WeekdayNum::nth(-1, Weekday::Friday)]
    );
    assert_eq!(rule.by_month_day, [-1]);
    assert_eq!(rule.by_year_day, [100]);
    assert_eq!(rule.by_month, [1, 6]);
    assert_eq!(rule.by_set_pos, [1]);
    assert_eq!(rule.week_start, Weekday::Sunday);
    let weekno = self::rule("FREQ=YEARLY;BYWEEKNO=-53,20;COUNT=5");
    assert_eq!((weekno.by_week_no, weekno.count), (vec![-53, 20], Some(5)));
}

#[test]
fn parse_is_lenient_about_spelling() {
    let strict = rule("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260101");
    for text in [
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260101",
        "rrule:freq=weekly;byday=we,mo;until=20260101;",
        "  FREQ = WEEKLY ; BYDAY = MO , WE,MO ;; UNTIL=20260101 ",
        "BYDAY=+0WE,MO;FREQ=WEEKLY;UNTIL=20260101".replace("+0WE", "WE").as_str(),
    ] {
        assert_eq!(rule(text), strict, "{text}");
    }
    assert_eq!(rule("FREQ=MONTHLY;BYDAY=+2TU").by_day, [WeekdayNum::nth(2, Weekday::Tuesday)]);
    assert_eq!(
        rule("FREQ=DAILY;UNTIL=20260101T120000").until,
        Some(TimeValue::Floating(date(2026, 1, 1).at(12, 0, 0, 0)))
    );
}

#[test]
fn parse_keeps_extension_parts_and_writes_them_back() {
    let rule = rule("FREQ=DAILY;X-NAME=Some Value;COUNT=2");
    assert_eq!(rule.extensions, [("X-NAME".to_string(), "Some Value".to_string())]);
    assert_eq!(rule.to_string(), "FREQ=DAILY;COUNT=2;X-NAME=Some Value");
}

#[test]
fn parse_errors_say_what_is_wrong() {
    let cases = [
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32 is out of range 1..=31 or -31..=-1"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0 is out of range 1..=31 or -31..=-1"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20260101", "COUNT and UNTIL cannot both be given"),
        ("FREQ=MONTHLY;BYWEEKNO=3", "BYWEEKNO is only allowed with FREQ=YEARLY (not MONTHLY)"),
        (
            "FREQ=WEEKLY;BYDAY=1MO",
            "BYDAY=1MO has an ordinal, which is only allowed with FREQ=MONTHLY or FREQ=YEARLY \
             (not WEEKLY)",
        ),
        ("FREQ=YEARLY;BYWEEKNO=3;BYDAY=1MO", "not allowed together with BYWEEKNO"),
        ("FREQ=MONTHLY;BYYEARDAY=3", "BYYEARDAY is not allowed with FREQ=MONTHLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY is not allowed with FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs another BYxxx part"),
        ("FREQ=DAILY;FOO=1", "'FOO' is not a recurrence rule part"),
        ("COUNT=3", "FREQ is missing"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not a frequency"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0 is not allowed"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0 is not allowed"),
        ("FREQ=DAILY;COUNT=-1", "COUNT=-1 is not a whole number"),
        ("FREQ=DAILY;COUNT=99999999999", "COUNT=99999999999 is too large"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR=24 is out of range 0..=23"),
        ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE=60 is out of range 0..=59"),
        ("FREQ=DAILY;BYSECOND=61", "BYSECOND=61 is out of range 0..=60"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH=13 is out of range 1..=12"),
        ("FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY=367 is out of range 1..=366 or -366..=-1"),
        ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO=54 is out of range 1..=53 or -53..=-1"),
        ("FREQ=YEARLY;BYMONTH=1;BYSETPOS=400", "BYSETPOS=400 is out of range 1..=366 or -366..=-1"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY=0MO is out of range"),
        ("FREQ=MONTHLY;BYDAY=MONDAY", "BYDAY=MONDAY does not end in a weekday"),
        ("FREQ=MONTHLY;BYDAY=XMO", "BYDAY=XMO has an ordinal that is not a number"),
        ("FREQ=MONTHLY;BYDAY=", "BYDAY has no value"),
        ("FREQ=MONTHLY;BYDAY=,", "BYDAY=, has no values"),
        ("FREQ=DAILY;WKST=XX", "WKST=XX is not a weekday"),
        ("FREQ=DAILY;UNTIL=2026-01-01", "UNTIL=2026-01-01 is not a DATE"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL=20260230 is not a valid date or time"),
        ("FREQ=DAILY;COUNT", "the part 'COUNT' has no '='"),
        ("FREQ=YEARLY;RSCALE=CHINESE", "RSCALE (RFC 7529 calendar scales) is not supported"),
        ("", "FREQ is missing"),
    ];
    for (text, message) in cases {
        let error = parse_error(text);
        assert!(error.contains(message), "{text}: {error}");
        assert!(error.contains(&format!("recurrence rule '{}'", text.trim())), "{error}");
    }
}

#[test]
fn validate_checks_rules_built_in_code() {
    let mut built = RecurrenceRule::new(Frequency::Weekly);
    assert!(built.validate().is_ok());
    built.by_month_day = vec![1];
    let error = built.validate().expect_err("BYMONTHDAY in WEEKLY");
    assert!(error.to_string().contains("BYMONTHDAY is not allowed with FREQ=WEEKLY"), "{error}");
    built.by_month_day.clear();
    built.interval = 0;
    let set = RecurrenceSet::new(in_ny(at9(2026, 1, 1)), Some(built));
    assert!(set.first(None, 3, &TimeZone::UTC).is_err());
}

#[test]
fn display_is_canonical_and_parses_back_to_the_same_rule() {
    let texts = [
        "FREQ=DAILY",
        "FREQ=DAILY;COUNT=10;INTERVAL=2",
        "FREQ=WEEKLY;UNTIL=19971224T000000Z;INTERVAL=2;BYDAY=MO,WE,FR;WKST=SU",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
        "FREQ=MONTHLY;BYDAY=1SU,-1SU",
        "FREQ=YEARLY;UNTIL=20261231;BYMONTH=11;BYMONTHDAY=2,3,4,5,6,7,8;BYDAY=TU",
        "FREQ=YEARLY;BYWEEKNO=-1,20;BYDAY=MO",
        "FREQ=YEARLY;BYYEARDAY=-306,1,100",
        "FREQ=MINUTELY;UNTIL=20260101T120000;BYHOUR=9,10;BYMINUTE=0,20,40;BYSECOND=0,60",
        "FREQ=SECONDLY;BYSETPOS=1;BYSECOND=0;X-FOO=bar",
    ];
    for text in texts {
        let parsed = rule(text);
        let canonical = parsed.to_string();
        assert_eq!(rule(&canonical), parsed, "{text} -> {canonical}");
        assert_eq!(rule(&canonical).to_string(), canonical);
    }
    assert_eq!(
        rule("byday=fr,mo;wkst=mo;interval=1;freq=weekly;count=4").to_string(),
        "FREQ=WEEKLY;COUNT=4;BYDAY=MO,FR"
    );
    assert_eq!(
        rule("FREQ=YEARLY;BYSETPOS=1;BYMONTH=1").to_string(),
        "FREQ=YEARLY;BYMONTH=1;BYSETPOS=1"
    );
}

#[test]
fn display_sorts_the_lists_of_a_rule_built_in_code() {
    let mut built = RecurrenceRule::new(Frequency::Monthly);
    built.by_month_day = vec![15, 1, 15];
    built.until = Some(TimeValue::Zoned { local: at9(2026, 1, 1), zone: NEW_YORK.into() });
    assert_eq!(built.to_string(), "FREQ=MONTHLY;UNTIL=20260101T140000Z;BYMONTHDAY=1,15");
}

#[test]
fn rules_and_sets_survive_serialization() {
    let config = bincode::config::standard();
    let mut set = ny_set(at9(2026, 1, 1), "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20301231T000000Z;X-A=b");
    set.exdates.push(TimeValue::Date(date(2026, 1, 30)));
    let bytes = bincode::serde::encode_to_vec(&set, config).expect("encodes");
    let (back, _): (RecurrenceSet, usize) =
        bincode::serde::decode_from_slice(&bytes, config).expect("decodes");
    assert_eq!(back, set);
}
