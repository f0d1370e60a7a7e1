//! TZID resolution: which IANA zone a TZID parameter means.
//!
//! Real files use much more than IANA ids. In order, a TZID is resolved as:
//! 1. an IANA id, case-insensitively (`america/new_york`);
//! 2. an IANA id behind a vendor prefix (`/mozilla.org/20050126_1/America/New_York`,
//!    `/freeassociation.sourceforge.net/Tzfile/Europe/London`);
//! 3. a Windows zone id (`W. Europe Standard Time`), mapped to the zone CLDR's windowsZones
//!    table gives for territory "001";
//! 4. a Windows display name as Outlook writes it (`(UTC+01:00) Amsterdam, Berlin, ...`), by
//!    the cities it lists, checked against its offset;
//! 5. a fixed offset written as a name (`UTC+3`, `GMT-05:00`) when it is whole hours (`Etc/GMT-3`);
//! 6. the file's own VTIMEZONE for that TZID, evaluated and compared with every zone in the
//!    bundled database (exactly first, then by offsets only, which is reported).
//!
//! This follows CalConnect's advice to trust a recognisable name over the VTIMEZONE's rules,
//! which are often truncated or stale. What resolves to nothing is the caller's to report;
//! [`super::values`] reads such times as floating.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{Offset, TimeZone};

use super::component::Component;
use super::values::{Lenient, parse_date, parse_date_time, parse_utc_offset};
use crate::calendar::time::{tz_database, tzdb_version};
use crate::error::{Error, Result};

/// How many unrecognised VTIMEZONEs one file may ask us to match: each match compares with
/// every zone in the database, and a hostile file should not buy unbounded work.
const MAX_CUSTOM_ZONES: usize = 16;

/// Windows time-zone ids, their display names (which Outlook also writes as TZIDs) and the
/// IANA zone for each. Source: Unicode CLDR `common/supplemental/windowsZones.xml`, the
/// territory "001" entry of each id and the display name in its comment. Zones CLDR still
/// lists under a deprecated alias (`Asia/Calcutta`, `Europe/Kiev`, ...) are written with their
/// current IANA name. The last rows are ids of older Windows versions that CLDR no longer
/// lists, with no display name.
static WINDOWS_ZONES: &[(&str, &str, &str)] = &[
    ("Dateline Standard Time", "(UTC-12:00) International Date Line West", "Etc/GMT+12"),
    ("UTC-11", "(UTC-11:00) Coordinated Universal Time-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "(UTC-10:00) Aleutian Islands", "America/Adak"),
    ("Hawaiian Standard Time", "(UTC-10:00) Hawaii", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "(UTC-09:30) Marquesas Islands", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "(UTC-09:00) Alaska", "America/Anchorage"),
    ("UTC-09", "(UTC-09:00) Coordinated Universal Time-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "(UTC-08:00) Baja California", "America/Tijuana"),
    ("UTC-08", "(UTC-08:00) Coordinated Universal Time-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "(UTC-08:00) Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("US Mountain Standard Time", "(UTC-07:00) Arizona", "America/Phoenix"),
    (
        "Mountain Standard Time (Mexico)",
        "(UTC-07:00) Chihuahua, La Paz, Mazatlan",
        "America/Mazatlan",
    ),
    ("Mountain Standard Time", "(UTC-07:00) Mountain Time (US & Canada)", "America/Denver"),
    ("Yukon Standard Time", "(UTC-07:00) Yukon", "America/Whitehorse"),
    ("Central America Standard Time", "(UTC-06:00) Central America", "America/Guatemala"),
    ("Central Standard Time", "(UTC-06:00) Central Time (US & Canada)", "America/Chicago"),
    ("Easter Island Standard Time", "(UTC-06:00) Easter Island", "Pacific/Easter"),
    (
        "Central Standard Time (Mexico)",
        "(UTC-06:00) Guadalajara, Mexico City, Monterrey",
        "America/Mexico_City",
    ),
    ("Canada Central Standard Time", "(UTC-06:00) Saskatchewan", "America/Regina"),
    ("SA Pacific Standard Time", "(UTC-05:00) Bogota, Lima, Quito, Rio Branco", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "(UTC-05:00) Chetumal", "America/Cancun"),
    ("Eastern Standard Time", "(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
    ("Haiti Standard Time", "(UTC-05:00) Haiti", "America/Port-au-Prince"),
    ("Cuba Standard Time", "(UTC-05:00) Havana", "America/Havana"),
    ("US Eastern Standard Time", "(UTC-05:00) Indiana (East)", "America/Indiana/Indianapolis"),
    ("Turks And Caicos Standard Time", "(UTC-05:00) Turks and Caicos", "America/Grand_Turk"),
    ("Paraguay Standard Time", "(UTC-04:00) Asuncion", "America/Asuncion"),
    ("Atlantic Standard Time", "(UTC-04:00) Atlantic Time (Canada)", "America/Halifax"),
    ("Venezuela Standard Time", "(UTC-04:00) Caracas", "America/Caracas"),
    ("Central Brazilian Standard Time", "(UTC-04:00) Cuiaba", "America/Cuiaba"),
    (
        "SA Western Standard Time",
        "(UTC-04:00) Georgetown, La Paz, Manaus, San Juan",
        "America/La_Paz",
    ),
    ("Pacific SA Standard Time", "(UTC-04:00) Santiago", "America/Santiago"),
    ("Newfoundland Standard Time", "(UTC-03:30) Newfoundland", "America/St_Johns"),
    ("Tocantins Standard Time", "(UTC-03:00) Araguaina", "America/Araguaina"),
    ("E. South America Standard Time", "(UTC-03:00) Brasilia", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "(UTC-03:00) Cayenne, Fortaleza", "America/Cayenne"),
    (
        "Argentina Standard Time",
        "(UTC-03:00) City of Buenos Aires",
        "America/Argentina/Buenos_Aires",
    ),
    ("Greenland Standard Time", "(UTC-03:00) Greenland", "America/Nuuk"),
    ("Montevideo Standard Time", "(UTC-03:00) Montevideo", "America/Montevideo"),
    ("Magallanes Standard Time", "(UTC-03:00) Punta Arenas", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "(UTC-03:00) Saint Pierre and Miquelon", "America/Miquelon"),
    ("Bahia Standard Time", "(UTC-03:00) Salvador", "America/Bahia"),
    ("UTC-02", "(UTC-02:00) Coordinated Universal Time-02", "Etc/GMT+2"),
    ("Azores Standard Time", "(UTC-01:00) Azores", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "(UTC-01:00) Cabo Verde Is.", "Atlantic/Cape_Verde"),
    ("UTC", "(UTC) Coordinated Universal Time", "Etc/UTC"),
    ("GMT Standard Time", "(UTC+00:00) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    ("Greenwich Standard Time", "(UTC+00:00) Monrovia, Reykjavik", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "(UTC+00:00) Sao Tome", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "(UTC+01:00) Casablanca", "Africa/Casablanca"),
    (
        "W. Europe Standard Time",
        "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        "Europe/Berlin",
    ),
    (
        "Central Europe Standard Time",
        "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        "Europe/Budapest",
    ),
    ("Romance Standard Time", "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris", "Europe/Paris"),
    (
        "Central European Standard Time",
        "(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb",
        "Europe/Warsaw",
    ),
    ("W. Central Africa Standard Time", "(UTC+01:00) West Central Africa", "Africa/Lagos"),
    ("Jordan Standard Time", "(UTC+02:00) Amman", "Asia/Amman"),
    ("GTB Standard Time", "(UTC+02:00) Athens, Bucharest", "Europe/Bucharest"),
    ("Middle East Standard Time", "(UTC+02:00) Beirut", "Asia/Beirut"),
    ("Egypt Standard Time", "(UTC+02:00) Cairo", "Africa/Cairo"),
    ("E. Europe Standard Time", "(UTC+02:00) Chisinau", "Europe/Chisinau"),
    ("Syria Standard Time", "(UTC+02:00) Damascus", "Asia/Damascus"),
    ("West Bank Standard Time", "(UTC+02:00) Gaza, Hebron", "Asia/Hebron"),
    ("South Africa Standard Time", "(UTC+02:00) Harare, Pretoria", "Africa/Johannesburg"),
    (
        "FLE Standard Time",
        "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        "Europe/Kyiv",
    ),
    ("Israel Standard Time", "(UTC+02:00) Jerusalem", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "(UTC+02:00) Juba", "Africa/Juba"),
    ("Kaliningrad Standard Time", "(UTC+02:00) Kaliningrad", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "(UTC+02:00) Khartoum", "Africa/Khartoum"),
    ("Libya Standard Time", "(UTC+02:00) Tripoli", "Africa/Tripoli"),
    ("Namibia Standard Time", "(UTC+02:00) Windhoek", "Africa/Windhoek"),
    ("Arabic Standard Time", "(UTC+03:00) Baghdad", "Asia/Baghdad"),
    ("Turkey Standard Time", "(UTC+03:00) Istanbul", "Europe/Istanbul"),
    ("Arab Standard Time", "(UTC+03:00) Kuwait, Riyadh", "Asia/Riyadh"),
    ("Belarus Standard Time", "(UTC+03:00) Minsk", "Europe/Minsk"),
    ("Russian Standard Time", "(UTC+03:00) Moscow, St. Petersburg", "Europe/Moscow"),
    ("E. Africa Standard Time", "(UTC+03:00) Nairobi", "Africa/Nairobi"),
    ("Iran Standard Time", "(UTC+03:30) Tehran", "Asia/Tehran"),
    ("Arabian Standard Time", "(UTC+04:00) Abu Dhabi, Muscat", "Asia/Dubai"),
    ("Astrakhan Standard Time", "(UTC+04:00) Astrakhan, Ulyanovsk", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "(UTC+04:00) Baku", "Asia/Baku"),
    ("Russia Time Zone 3", "(UTC+04:00) Izhevsk, Samara", "Europe/Samara"),
    ("Mauritius Standard Time", "(UTC+04:00) Port Louis", "Indian/Mauritius"),
    ("Saratov Standard Time", "(UTC+04:00) Saratov", "Europe/Saratov"),
    ("Georgian Standard Time", "(UTC+04:00) Tbilisi", "Asia/Tbilisi"),
    ("Volgograd Standard Time", "(UTC+04:00) Volgograd", "Europe/Volgograd"),
    ("Caucasus Standard Time", "(UTC+04:00) Yerevan", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "(UTC+04:30) Kabul", "Asia/Kabul"),
    ("West Asia Standard Time", "(UTC+05:00) Ashgabat, Tashkent", "Asia/Tashkent"),
    ("Ekaterinburg Standard Time", "(UTC+05:00) Ekaterinburg", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "(UTC+05:00) Islamabad, Karachi", "Asia/Karachi"),
    ("Qyzylorda Standard Time", "(UTC+05:00) Qyzylorda", "Asia/Qyzylorda"),
    ("India Standard Time", "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "(UTC+05:30) Sri Jayawardenepura", "Asia/Colombo"),
    ("Nepal Standard Time", "(UTC+05:45) Kathmandu", "Asia/Kathmandu"),
    ("Central Asia Standard Time", "(UTC+06:00) Astana", "Asia/Bishkek"),
    ("Bangladesh Standard Time", "(UTC+06:00) Dhaka", "Asia/Dhaka"),
    ("Omsk Standard Time", "(UTC+06:00) Omsk", "Asia/Omsk"),
    ("Myanmar Standard Time", "(UTC+06:30) Yangon (Rangoon)", "Asia/Yangon"),
    ("SE Asia Standard Time", "(UTC+07:00) Bangkok, Hanoi, Jakarta", "Asia/Bangkok"),
    ("Altai Standard Time", "(UTC+07:00) Barnaul, Gorno-Altaysk", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "(UTC+07:00) Hovd", "Asia/Hovd"),
    ("North Asia Standard Time", "(UTC+07:00) Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "(UTC+07:00) Novosibirsk", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "(UTC+07:00) Tomsk", "Asia/Tomsk"),
    ("China Standard Time", "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi", "Asia/Shanghai"),
    ("North Asia East Standard Time", "(UTC+08:00) Irkutsk", "Asia/Irkutsk"),
    ("Singapore Standard Time", "(UTC+08:00) Kuala Lumpur, Singapore", "Asia/Singapore"),
    ("W. Australia Standard Time", "(UTC+08:00) Perth", "Australia/Perth"),
    ("Taipei Standard Time", "(UTC+08:00) Taipei", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "(UTC+08:00) Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "(UTC+08:45) Eucla", "Australia/Eucla"),
    ("Transbaikal Standard Time", "(UTC+09:00) Chita", "Asia/Chita"),
    ("Tokyo Standard Time", "(UTC+09:00) Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
    ("North Korea Standard Time", "(UTC+09:00) Pyongyang", "Asia/Pyongyang"),
    ("Korea Standard Time", "(UTC+09:00) Seoul", "Asia/Seoul"),
    ("Yakutsk Standard Time", "(UTC+09:00) Yakutsk", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "(UTC+09:30) Adelaide", "Australia/Adelaide"),
    ("AUS Central Standard Time", "(UTC+09:30) Darwin", "Australia/Darwin"),
    ("E. Australia Standard Time", "(UTC+10:00) Brisbane", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "(UTC+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),
    ("West Pacific Standard Time", "(UTC+10:00) Guam, Port Moresby", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "(UTC+10:00) Hobart", "Australia/Hobart"),
    ("Vladivostok Standard Time", "(UTC+10:00) Vladivostok", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "(UTC+10:30) Lord Howe Island", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "(UTC+11:00) Bougainville Island", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "(UTC+11:00) Chokurdakh", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "(UTC+11:00) Magadan", "Asia/Magadan"),
    ("Norfolk Standard Time", "(UTC+11:00) Norfolk Island", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "(UTC+11:00) Sakhalin", "Asia/Sakhalin"),
    (
        "Central Pacific Standard Time",
        "(UTC+11:00) Solomon Is., New Caledonia",
        "Pacific/Guadalcanal",
    ),
    ("Russia Time Zone 11", "(UTC+12:00) Anadyr, Petropavlovsk-Kamchatsky", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "(UTC+12:00) Auckland, Wellington", "Pacific/Auckland"),
    ("UTC+12", "(UTC+12:00) Coordinated Universal Time+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "(UTC+12:00) Fiji", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "(UTC+12:45) Chatham Islands", "Pacific/Chatham"),
    ("UTC+13", "(UTC+13:00) Coordinated Universal Time+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "(UTC+13:00) Nuku'alofa", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "(UTC+13:00) Samoa", "Pacific/Apia"),
    ("Line Islands Standard Time", "(UTC+14:00) Kiritimati Island", "Pacific/Kiritimati"),
    ("Mid-Atlantic Standard Time", "", "Etc/GMT+2"),
    ("Mexico Standard Time", "", "America/Mexico_City"),
    ("Mexico Standard Time 2", "", "America/Chihuahua"),
    ("Armenian Standard Time", "", "Asia/Yerevan"),
    ("Kamchatka Standard Time", "", "Asia/Kamchatka"),
];

/// The IANA zone of a Windows zone id (case-insensitive; a "Daylight Time" variant of a
/// "Standard Time" id is accepted, as some exporters write the name of the current period).
pub fn windows_zone(id: &str) -> Option<&'static str> {
    const DAYLIGHT: &str = " Daylight Time";
    let id = id.trim();
    let find = |id: &str| WINDOWS_ZONES.iter().find(|e| e.0.eq_ignore_ascii_case(id)).map(|e| e.2);
    find(id).or_else(|| {
        let cut = id.len().checked_sub(DAYLIGHT.len())?;
        let (base, tail) = (id.get(..cut)?, id.get(cut..)?);
        if tail.eq_ignore_ascii_case(DAYLIGHT) {
            find(&format!("{base} Standard Time"))
        } else {
            None
        }
    })
}

/// Resolves a TZID by its name alone (steps 1–5 of the module documentation): the IANA id, or
/// `None` when the name is not recognised.
pub fn resolve_tzid_name(tzid: &str) -> Option<String> {
    let tzid = tzid.trim().trim_matches('"').trim();
    if tzid.is_empty() {
        return None;
    }
    // Our own export of a zone kept as its POSIX rule (decision 0021) names it by that rule.
    if tzid.starts_with('<') {
        return TimeZone::posix(tzid).is_ok().then(|| tzid.to_owned());
    }
    if let Some(zone) = iana(tzid) {
        return Some(zone);
    }
    // Vendor prefixes: try each suffix after a '/', longest first.
    for (i, _) in tzid.match_indices('/') {
        if let Some(zone) = iana(&tzid[i + 1..]) {
            return Some(zone);
        }
    }
    if let Some(zone) = windows_zone(tzid) {
        return Some(zone.to_owned());
    }
    display_name_zone(tzid).or_else(|| fixed_offset_name(tzid))
}

fn iana(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    // `iana_name` is None for `Etc/Unknown`, which is not a zone.
    tz_database().get(name).ok().and_then(|tz| tz.iana_name().map(str::to_owned))
}

/// The year of the bundled tz database's release (`2026f` → 2026): the year whose rules are
/// "current" when comparing a VTIMEZONE's open-ended rules with the database.
pub(crate) fn reference_year() -> i16 {
    tzdb_version().get(..4).and_then(|year| year.parse().ok()).unwrap_or(2026)
}

fn year_start(year: i16) -> Option<Timestamp> {
    Date::new(year, 1, 1)
        .ok()
        .and_then(|d| TimeZone::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok())
}

/// `(UTC+01:00) ...`, `(GMT-05:00) ...`, `(GMT+01.00) ...`, `(UTC) ...`: the offset in seconds
/// and the text after the parenthesis.
fn display_prefix(tzid: &str) -> Option<(i32, &str)> {
    let rest = tzid.trim().strip_prefix('(')?;
    let (inside, after) = rest.split_once(')')?;
    let inside = inside.trim();
    let prefix = inside.get(..3)?;
    if !prefix.eq_ignore_ascii_case("UTC") && !prefix.eq_ignore_ascii_case("GMT") {
        return None;
    }
    let offset = inside[3..].trim().replace('.', ":");
    let seconds = if offset.is_empty() { 0 } else { parse_utc_offset(&offset).ok()?.seconds() };
    Some((seconds, after.trim()))
}

fn display_tokens(text: &str) -> Vec<String> {
    text.split([',', '/', ';', ':'])
        .map(|token| fold_accents(&token.trim().to_lowercase()))
        .filter(|token| !token.is_empty())
        .collect()
}

/// Windows' display names are ASCII (`Brasilia`), but localised or hand-edited ones carry the
/// city's own spelling (`Brasília`, `São Paulo`): compare letters without their accents.
fn fold_accents(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

struct DisplayEntry {
    offset: i32,
    tokens: Vec<String>,
    zone: &'static str,
}

fn display_table() -> &'static [DisplayEntry] {
    static TABLE: OnceLock<Vec<DisplayEntry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        WINDOWS_ZONES
            .iter()
            .filter_map(|&(_, display, zone)| {
                let (offset, rest) = display_prefix(display)?;
                Some(DisplayEntry { offset, tokens: display_tokens(rest), zone })
            })
            .collect()
    })
}

/// Lower-case city (the last part of a zone id, `_` read as a space) → zone id.
fn city_table() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut names: Vec<String> =
            tz_database().available().map(|name| name.as_str().to_owned()).collect();
        names.sort();
        let mut table = HashMap::with_capacity(names.len());
        for name in names {
            if let Some((_, city)) = name.rsplit_once('/') {
                table.entry(city.replace('_', " ").to_lowercase()).or_insert(name);
            }
        }
        table
    })
}

/// Whether `zone` uses `offset` (seconds) in January or July of the reference year.
fn zone_uses_offset(zone: &TimeZone, offset: i32) -> bool {
    let year = reference_year();
    [(1, 1), (7, 1)].iter().any(|&(month, day)| {
        Date::new(year, month, day)
            .ok()
            .and_then(|d| zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok())
            .is_some_and(|at| zone.to_offset(at).seconds() == offset)
    })
}

/// Step 4: an Outlook display name. With an offset prefix, the Windows display name sharing
/// most cities wins; failing that, a listed city that is an IANA zone with that offset.
/// Without a prefix, only an exact display name (`Eastern Time (US & Canada)`) is accepted.
fn display_name_zone(tzid: &str) -> Option<String> {
    let Some((offset, rest)) = display_prefix(tzid) else {
        let tokens = display_tokens(tzid);
        return display_table()
            .iter()
            .find(|entry| entry.tokens == tokens)
            .map(|entry| entry.zone.to_owned());
    };
    let tokens = display_tokens(rest);
    let mut best: Option<(usize, &DisplayEntry)> = None;
    for entry in display_table().iter().filter(|entry| entry.offset == offset) {
        let shared = tokens.iter().filter(|t| entry.tokens.contains(t)).count();
        if shared > 0 && best.is_none_or(|(score, _)| shared > score) {
            best = Some((shared, entry));
        }
    }
    if let Some((_, entry)) = best {
        return Some(entry.zone.to_owned());
    }
    tokens.iter().find_map(|city| {
        let name = city_table().get(city)?;
        let zone = tz_database().get(name).ok()?;
        zone_uses_offset(&zone, offset)
            .then(|| zone.primary_iana_name().or(zone.iana_name()).map(str::to_owned))
            .flatten()
    })
}

/// The `Etc/GMT∓h` zone for a whole-hour offset (the `Etc` sign is inverted by POSIX
/// convention), or UTC.
fn etc_zone(seconds: i32) -> Option<String> {
    if seconds % 3600 != 0 {
        return None;
    }
    let hours = seconds / 3600;
    let name = if hours == 0 { "Etc/UTC".to_owned() } else { format!("Etc/GMT{:+}", -hours) };
    iana(&name)
}

/// Step 5: `UTC+3`, `GMT-05:00`, `UTC+0100` as a name.
fn fixed_offset_name(tzid: &str) -> Option<String> {
    let prefix = tzid.get(..3)?;
    if !prefix.eq_ignore_ascii_case("UTC") && !prefix.eq_ignore_ascii_case("GMT") {
        return None;
    }
    let rest = tzid[3..].trim();
    if !rest.starts_with(['+', '-']) {
        return None;
    }
    etc_zone(parse_utc_offset(rest).ok()?.seconds())
}

/// Resolves TZIDs to IANA zones, knowing the VTIMEZONEs of one file.
///
/// Build it once per file with [`ZoneResolver::from_components`]: it evaluates the file's
/// unrecognised VTIMEZONEs and resolves every TZID used, so per-value lookups are cheap.
/// `ZoneResolver::default()` knows no VTIMEZONEs and resolves by name only.
#[derive(Clone, Debug, Default)]
pub struct ZoneResolver {
    /// Lower-case TZID of a VTIMEZONE not recognised by name → its match, or why none.
    custom: HashMap<String, std::result::Result<Lenient<String>, String>>,
    /// TZID as written → resolution, for every TZID parameter in the file.
    cache: HashMap<String, std::result::Result<Lenient<String>, String>>,
}

impl ZoneResolver {
    /// A resolver for `components` (usually the result of [`super::parse`]): their VTIMEZONEs
    /// are evaluated and the TZIDs they use resolved ahead.
    pub fn from_components(components: &[Component]) -> ZoneResolver {
        let mut resolver = ZoneResolver::default();
        let mut timezones = Vec::new();
        collect_timezones(components, &mut timezones);
        let mut candidates: Option<Vec<Candidate>> = None;
        let mut used_from: HashMap<String, i16> = HashMap::new();
        collect_first_years(components, &mut used_from);
        for vtimezone in timezones {
            let Some(tzid) = vtimezone.property("TZID").map(|p| p.text().trim().to_owned()) else {
                continue;
            };
            let key = tzid.to_lowercase();
            if resolve_tzid_name(&tzid).is_some() || resolver.custom.contains_key(&key) {
                continue;
            }
            let result = if resolver.custom.len() >= MAX_CUSTOM_ZONES {
                Err(format!(
                    "the file has more than {MAX_CUSTOM_ZONES} unrecognised VTIMEZONEs; this one \
                     was not evaluated"
                ))
            } else {
                VTimezoneRules::from_component(vtimezone).and_then(|rules| {
                    let candidates = candidates.get_or_insert_with(load_candidates);
                    match_rules(&tzid, &rules, candidates, used_from.get(&key).copied())
                })
            };
            resolver.custom.insert(key, result);
        }
        let mut tzids = Vec::new();
        collect_tzids(components, &mut tzids);
        for tzid in tzids {
            if !resolver.cache.contains_key(tzid) {
                let result = resolver.resolve_uncached(tzid);
                resolver.cache.insert(tzid.to_owned(), result);
            }
        }
        resolver
    }

    /// The IANA zone a TZID means, with a note when it was matched only approximately; an
    /// error saying why when it means none.
    pub fn resolve(&self, tzid: &str) -> Result<Lenient<String>> {
        self.lookup(tzid).map_err(Error::InvalidInput)
    }

    /// [`ZoneResolver::resolve`] with the reason as a bare message.
    pub(crate) fn lookup(&self, tzid: &str) -> std::result::Result<Lenient<String>, String> {
        match self.cache.get(tzid) {
            Some(cached) => cached.clone(),
            None => self.resolve_uncached(tzid),
        }
    }

    fn resolve_uncached(&self, tzid: &str) -> std::result::Result<Lenient<String>, String> {
        if let Some(zone) = resolve_tzid_name(tzid) {
            return Ok(Lenient::clean(zone));
        }
        let shown = tzid.trim();
        match self.custom.get(&shown.to_lowercase()) {
            Some(Ok(resolved)) => Ok(resolved.clone()),
            Some(Err(why)) => Err(format!("unknown time zone '{shown}': {why}")),
            None => Err(format!(
                "unknown time zone '{shown}': it is not an IANA zone or a Windows zone name, and \
                 the file has no VTIMEZONE for it"
            )),
        }
    }
}

fn collect_timezones<'a>(components: &'a [Component], out: &mut Vec<&'a Component>) {
    for component in components {
        if component.is("VTIMEZONE") {
            out.push(component);
        } else {
            collect_timezones(&component.components, out);
        }
    }
}

/// The earliest year each TZID (lower case) is used in, from the values' leading digits: the
/// dates a VTIMEZONE must agree with an IANA zone on before it is replaced by one.
fn collect_first_years(components: &[Component], out: &mut HashMap<String, i16>) {
    for component in components {
        if component.is("VTIMEZONE") {
            continue;
        }
        for property in &component.properties {
            let Some(tzid) = property.param_value("TZID") else { continue };
            let years = property
                .value
                .split([',', '/'])
                .filter_map(|item| item.trim().get(..4).and_then(|y| y.parse::<i16>().ok()));
            if let Some(year) = years.min() {
                let entry = out.entry(tzid.trim().to_lowercase()).or_insert(year);
                *entry = (*entry).min(year);
            }
        }
        collect_first_years(&component.components, out);
    }
}

fn collect_tzids<'a>(components: &'a [Component], out: &mut Vec<&'a str>) {
    for component in components {
        if component.is("VTIMEZONE") {
            continue;
        }
        for property in &component.properties {
            if let Some(tzid) = property.param_value("TZID") {
                out.push(tzid);
            }
        }
        collect_tzids(&component.components, out);
    }
}

/// A point in time in a VTIMEZONE: local (read in the observance's TZOFFSETFROM) or UTC.
#[derive(Clone, Copy, Debug)]
enum Moment {
    Local(DateTime),
    Utc(Timestamp),
}

fn read_moment(text: &str) -> Option<Moment> {
    let text = text.trim();
    if text.contains(['T', 't']) {
        let (local, utc) = parse_date_time(text).ok()?;
        if utc {
            TimeZone::UTC.to_timestamp(local).ok().map(Moment::Utc)
        } else {
            Some(Moment::Local(local))
        }
    } else {
        parse_date(text).ok().map(|d| Moment::Local(d.to_datetime(jiff::civil::Time::midnight())))
    }
}

/// The yearly rules VTIMEZONEs use (`FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU`, also with BYMONTHDAY
/// ranges, UNTIL, COUNT, INTERVAL). Deliberately not a general RRULE engine.
#[derive(Clone, Debug)]
struct YearlyRule {
    interval: i32,
    months: Vec<i8>,
    days: Vec<(Option<i8>, Weekday)>,
    month_days: Vec<i8>,
    until: Option<Moment>,
    count: Option<i32>,
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

impl YearlyRule {
    /// `None` for anything but a yearly rule: other frequencies make no sense for an observance.
    fn parse(text: &str) -> Option<YearlyRule> {
        let mut rule = YearlyRule {
            interval: 1,
            months: Vec::new(),
            days: Vec::new(),
            month_days: Vec::new(),
            until: None,
            count: None,
        };
        let mut yearly = false;
        for part in text.split(';') {
            let Some((key, value)) = part.split_once('=') else { continue };
            let value = value.trim();
            let numbers = || value.split(',').filter_map(|n| n.trim().parse::<i8>().ok());
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => yearly = value.eq_ignore_ascii_case("YEARLY"),
                "INTERVAL" => rule.interval = value.parse().ok().filter(|&n| n > 0).unwrap_or(1),
                "BYMONTH" => rule.months = numbers().filter(|m| (1..=12).contains(m)).collect(),
                "BYMONTHDAY" => {
                    rule.month_days =
                        numbers().filter(|d| *d != 0 && (-31..=31).contains(d)).collect()
                }
                "BYDAY" => {
                    rule.days = value
                        .split(',')
                        .filter_map(|day| {
                            let day = day.trim();
                            let split = day.len().checked_sub(2)?;
                            let weekday = weekday(day.get(split..)?)?;
                            let ordinal = day.get(..split)?;
                            if ordinal.is_empty() {
                                return Some((None, weekday));
                            }
                            let n: i8 = ordinal.trim_start_matches('+').parse().ok()?;
                            (n != 0 && (-5..=5).contains(&n)).then_some((Some(n), weekday))
                        })
                        .collect()
                }
                "UNTIL" => rule.until = read_moment(value),
                "COUNT" => rule.count = value.parse().ok().filter(|&n| n > 0),
                _ => {}
            }
        }
        yearly.then_some(rule)
    }

    /// The dates the rule gives in `year` (before DTSTART/UNTIL filtering).
    fn dates(&self, year: i16, start: DateTime, out: &mut Vec<Date>) {
        let default_month = [start.month()];
        let months = if self.months.is_empty() { &default_month[..] } else { &self.months[..] };
        for &month in months {
            let Ok(first) = Date::new(year, month, 1) else { continue };
            let days_in = first.days_in_month();
            let day_ok = |day: i8| {
                self.month_days.is_empty()
                    || self
                        .month_days
                        .iter()
                        .any(|&md| md == day || (md < 0 && days_in + 1 + md == day))
            };
            let all_days = (1..=days_in).filter_map(|day| Date::new(year, month, day).ok());
            if self.days.is_empty() {
                if self.month_days.is_empty() {
                    out.extend(Date::new(year, month, start.day()).ok());
                } else {
                    out.extend(all_days.filter(|d| day_ok(d.day())));
                }
                continue;
            }
            for &(nth, weekday) in &self.days {
                match nth {
                    Some(n) => out.extend(
                        first.nth_weekday_of_month(n, weekday).ok().filter(|d| day_ok(d.day())),
                    ),
                    None => out.extend(
                        all_days.clone().filter(|d| d.weekday() == weekday && day_ok(d.day())),
                    ),
                }
            }
        }
    }
}

/// One STANDARD or DAYLIGHT part of a VTIMEZONE.
#[derive(Clone, Debug)]
struct Observance {
    start: DateTime,
    from: Offset,
    to: Offset,
    rule: Option<YearlyRule>,
    rdates: Vec<Moment>,
}

/// When an observance begins: the instant, and the offsets before and after.
#[derive(Clone, Copy, Debug)]
struct Onset {
    at: Timestamp,
    from: Offset,
    to: Offset,
}

/// A zone's offsets over a window: the offset at its start and each change inside it.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Timeline {
    initial: Offset,
    changes: Vec<(Timestamp, Offset)>,
}

impl Timeline {
    /// The distinct offsets used, sorted.
    fn offsets(&self) -> Vec<i32> {
        let mut offsets: Vec<i32> = std::iter::once(self.initial)
            .chain(self.changes.iter().map(|c| c.1))
            .map(|o| o.seconds())
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }
}

/// A VTIMEZONE evaluated: tolerant of the usual breakage (a DATE or missing DTSTART, a missing
/// TZOFFSETFROM, only a DAYLIGHT part, unreadable rules), which degrade to fewer onsets rather
/// than failure.
#[derive(Clone, Debug)]
pub(crate) struct VTimezoneRules {
    observances: Vec<Observance>,
    names: Vec<String>,
}

impl VTimezoneRules {
    /// Reads a VTIMEZONE; fails only when no part has a readable TZOFFSETTO.
    pub(crate) fn from_component(
        vtimezone: &Component,
    ) -> std::result::Result<VTimezoneRules, String> {
        let mut observances = Vec::new();
        let mut names = Vec::new();
        for part in &vtimezone.components {
            if !part.is("STANDARD") && !part.is("DAYLIGHT") {
                continue;
            }
            let offset =
                |name: &str| part.property(name).and_then(|p| parse_utc_offset(&p.value).ok());
            let Some(to) = offset("TZOFFSETTO") else { continue };
            let from = offset("TZOFFSETFROM").unwrap_or(to);
            let start = match part.property("DTSTART").and_then(|p| read_moment(&p.value)) {
                Some(Moment::Local(local)) => local,
                Some(Moment::Utc(at)) => from.to_datetime(at),
                None => DateTime::constant(1970, 1, 1, 0, 0, 0, 0),
            };
            let rule = part.property("RRULE").and_then(|p| YearlyRule::parse(&p.value));
            let rdates = part
                .properties_named("RDATE")
                .flat_map(|p| p.value.split(','))
                .filter_map(|item| read_moment(item.split('/').next().unwrap_or(item)))
                .collect();
            names.extend(part.properties_named("TZNAME").map(|p| p.text().trim().to_owned()));
            observances.push(Observance { start, from, to, rule, rdates });
        }
        if observances.is_empty() {
            return Err("its VTIMEZONE has no STANDARD or DAYLIGHT part with a TZOFFSETTO".into());
        }
        Ok(VTimezoneRules { observances, names })
    }

    /// Onsets relevant to the years `first..=last`: every explicit one, the rule-generated ones
    /// in those years and the year before, and the last ones of rules that ended earlier.
    fn onsets(&self, first: i16, last: i16) -> Vec<Onset> {
        let mut onsets = Vec::new();
        let mut dates = Vec::new();
        for observance in &self.observances {
            let Observance { start, from, to, .. } = *observance;
            let onset =
                |local: DateTime| from.to_timestamp(local).ok().map(|at| Onset { at, from, to });
            onsets.extend(onset(start));
            for rdate in &observance.rdates {
                onsets.extend(match *rdate {
                    Moment::Local(local) => onset(local),
                    Moment::Utc(at) => Some(Onset { at, from, to }),
                });
            }
            let Some(rule) = &observance.rule else { continue };
            let start_year = i32::from(start.year());
            let mut end_year = i32::from(last);
            if let Some(until) = rule.until {
                end_year = end_year.min(i32::from(match until {
                    Moment::Local(local) => local.year(),
                    Moment::Utc(at) => TimeZone::UTC.to_datetime(at).year(),
                }));
            }
            if let Some(count) = rule.count {
                end_year = end_year
                    .min(start_year.saturating_add((count - 1).saturating_mul(rule.interval)));
            }
            let from_year = start_year.max(end_year.min(i32::from(first)) - 1);
            for year in from_year..=end_year {
                if (year - start_year) % rule.interval != 0 {
                    continue;
                }
                let Ok(year) = i16::try_from(year) else { continue };
                dates.clear();
                rule.dates(year, start, &mut dates);
                for date in &dates {
                    let local = date.to_datetime(start.time());
                    if local <= start {
                        continue;
                    }
                    let Some(onset) = onset(local) else { continue };
                    let within = match rule.until {
                        None => true,
                        Some(Moment::Local(until)) => local <= until,
                        Some(Moment::Utc(until)) => onset.at <= until,
                    };
                    if within {
                        onsets.push(onset);
                    }
                }
            }
        }
        onsets.sort_by_key(|onset| onset.at);
        onsets
    }

    fn timeline(&self, start: Timestamp, end: Timestamp) -> Timeline {
        let year = |at: Timestamp| TimeZone::UTC.to_datetime(at).year();
        let onsets = self.onsets(year(start).saturating_sub(1), year(end).saturating_add(1));
        let initial = onsets
            .iter()
            .rev()
            .find(|onset| onset.at <= start)
            .map(|onset| onset.to)
            .or_else(|| onsets.first().map(|onset| onset.from))
            .unwrap_or(self.observances[0].to);
        let mut changes = Vec::new();
        let mut current = initial;
        for onset in onsets.iter().filter(|onset| onset.at > start && onset.at < end) {
            if onset.to != current {
                changes.push((onset.at, onset.to));
                current = onset.to;
            }
        }
        Timeline { initial, changes }
    }

    /// The offset this VTIMEZONE gives at `at`.
    #[cfg(test)]
    pub(crate) fn offset_at(&self, at: Timestamp) -> Offset {
        self.timeline(at, at).initial
    }
}

/// The VTIMEZONE's rules in the reference year as a POSIX TZ string (`<+12>-12<+10>-10,M4.1.0/
/// 3,M10.1.0/2`), which every device evaluates the same way without a tz database, and which
/// `calendar::time::time_zone` accepts as a zone. `None` when that year is not a fixed offset or
/// one pair of changes. With it, the first year from `check_from` on whose offsets it reproduces
/// only from then on (`None`: it reproduces every year checked, up to ten after the reference).
fn posix_rule(rules: &VTimezoneRules, check_from: i16) -> Option<(String, Option<i16>)> {
    let reference = reference_year();
    let current = rules.timeline(year_start(reference)?, year_start(reference.checked_add(1)?)?);
    let name = |offset: Offset| {
        let seconds = offset.seconds();
        let (sign, abs) = if seconds < 0 { ('-', -seconds) } else { ('+', seconds) };
        let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
        let mut text = format!("<{sign}{h:02}");
        if m != 0 || s != 0 {
            text.push_str(&format!("{m:02}"));
        }
        if s != 0 {
            text.push_str(&format!("{s:02}"));
        }
        text.push('>');
        // POSIX offsets count west of Greenwich as positive.
        let posix_sign = if seconds <= 0 { "" } else { "-" };
        text.push_str(&format!("{posix_sign}{h}"));
        if m != 0 || s != 0 {
            text.push_str(&format!(":{m:02}"));
        }
        if s != 0 {
            text.push_str(&format!(":{s:02}"));
        }
        text
    };
    let candidates: Vec<String> = match current.changes.as_slice() {
        [] => vec![name(current.initial)],
        [(first_at, first_to), (second_at, second_to)] if *second_to == current.initial => {
            let start = transition_rules(*first_at, current.initial);
            let end = transition_rules(*second_at, *first_to);
            let mut out = Vec::new();
            for start in &start {
                for end in &end {
                    out.push(format!("{}{},{start},{end}", name(current.initial), name(*first_to)));
                }
            }
            out
        }
        _ => return None,
    };
    let last = reference.saturating_add(10);
    let mut best: Option<(String, Option<i16>)> = None;
    for candidate in candidates {
        let Ok(zone) = TimeZone::posix(&candidate) else { continue };
        // The first year from which on every year checked agrees.
        let mut agrees_from = None;
        for year in (check_from..=last).rev() {
            let (Some(start), Some(end)) = (year_start(year), year_start(year.saturating_add(1)))
            else {
                continue;
            };
            if iana_timeline(&zone, start, end) != rules.timeline(start, end) {
                break;
            }
            agrees_from = Some(year);
        }
        let Some(from) = agrees_from else { continue };
        let exact_from = (from > check_from).then_some(from);
        if best.as_ref().is_none_or(|(_, b)| b.unwrap_or(check_from) > from) {
            best = Some((candidate, exact_from));
        }
    }
    best
}

/// The POSIX `Mm.w.d/time` forms of a change at `at` (local time read in `before`, the offset
/// before it): the nth weekday of the month, and also "the last" when it is.
fn transition_rules(at: Timestamp, before: Offset) -> Vec<String> {
    let local = before.to_datetime(at);
    let date = local.date();
    let weekday = date.weekday().to_sunday_zero_offset();
    let time = local.time();
    let clock = match (time.minute(), time.second()) {
        (0, 0) => time.hour().to_string(),
        (m, s) => format!("{}:{m:02}:{s:02}", time.hour()),
    };
    let mut out = vec![format!("M{}.{}.{weekday}/{clock}", date.month(), (date.day() - 1) / 7 + 1)];
    if date.day() + 7 > date.days_in_month() {
        out.push(format!("M{}.5.{weekday}/{clock}", date.month()));
    }
    out
}

fn iana_timeline(zone: &TimeZone, start: Timestamp, end: Timestamp) -> Timeline {
    let initial = zone.to_offset(start);
    let mut changes = Vec::new();
    let mut current = initial;
    for transition in zone.following(start) {
        if transition.timestamp() >= end {
            break;
        }
        if transition.offset() != current {
            changes.push((transition.timestamp(), transition.offset()));
            current = transition.offset();
        }
    }
    Timeline { initial, changes }
}

/// A zone a VTIMEZONE may be matched to.
struct Candidate {
    name: String,
    zone: TimeZone,
}

/// The primary zones of the database (links would only duplicate them), without `Etc/`
/// (fixed offsets are handled apart).
fn load_candidates() -> Vec<Candidate> {
    tz_database()
        .available()
        .filter_map(|name| {
            let name = name.as_str();
            if !name.contains('/') || name.starts_with("Etc/") {
                return None;
            }
            let zone = tz_database().get(name).ok()?;
            zone.is_primary().then(|| Candidate { name: name.to_owned(), zone })
        })
        .collect()
}

/// Step 6: the zone whose offsets best match the VTIMEZONE's, year by year from its first
/// observance (at the earliest 1970) to the reference year. The longest run of exactly
/// matching years ending at the reference year wins: the VTIMEZONE is used for current events.
/// Ties go to a zone the VTIMEZONE names (a Windows name as TZID or TZNAME), then to shared
/// abbreviations, then to CLDR's representative zones, and only then to agreement in other
/// years (a VTIMEZONE's history is often truncated, so it says little), then by name. Zones
/// still tied agree on every year compared, so the choice among them does not change a time.
///
/// A zone is taken only when it agrees exactly with the VTIMEZONE in every year from the first
/// the file uses the TZID in (`used_from`) to the reference year. Otherwise the file's own
/// rules are kept, written as a POSIX TZ rule (decision 0021), when they can be.
fn match_rules(
    tzid: &str,
    rules: &VTimezoneRules,
    candidates: &[Candidate],
    used_from: Option<i16>,
) -> std::result::Result<Lenient<String>, String> {
    let reference = reference_year();
    let first_start = rules.observances.iter().map(|o| o.start.year()).min().unwrap_or(reference);
    let first = first_start.saturating_add(1).clamp(1970, reference);
    let windows: Vec<(Timestamp, Timestamp, Timeline)> = (first..=reference)
        .filter_map(|year| {
            let (start, end) = (year_start(year)?, year_start(year.saturating_add(1))?);
            Some((start, end, rules.timeline(start, end)))
        })
        .collect();
    let Some((current_start, current_end, current)) = windows.last() else {
        return Err("its VTIMEZONE could not be evaluated".into());
    };
    let names: BTreeSet<String> = rules.names.iter().map(|n| n.to_uppercase()).collect();
    let hinted: Vec<&str> = std::iter::once(tzid)
        .chain(rules.names.iter().map(String::as_str))
        .filter_map(windows_zone)
        .collect();
    let offsets: Vec<Vec<i32>> = windows.iter().map(|(_, _, t)| t.offsets()).collect();

    struct Scored<'c> {
        /// Consecutive years matched exactly, counting back from the reference year.
        streak: usize,
        exact: usize,
        hinted: bool,
        abbreviations: usize,
        close: usize,
        cldr: bool,
        name: &'c str,
    }
    let mut scored: Vec<Scored<'_>> = Vec::new();
    for candidate in candidates {
        let (mut streak, mut exact, mut close, mut broken) = (0, 0, 0, false);
        for ((start, end, timeline), offsets) in windows.iter().zip(&offsets).rev() {
            let theirs = iana_timeline(&candidate.zone, *start, *end);
            let matched = theirs == *timeline;
            broken |= !matched;
            streak += usize::from(!broken);
            exact += usize::from(matched);
            close += usize::from(theirs.offsets() == *offsets);
        }
        if close == 0 {
            continue;
        }
        let zone = &candidate.zone;
        let mut abbreviations = BTreeSet::new();
        abbreviations.insert(zone.to_offset_info(*current_start).abbreviation().to_uppercase());
        for transition in zone.following(*current_start) {
            if transition.timestamp() >= *current_end {
                break;
            }
            abbreviations.insert(transition.abbreviation().to_uppercase());
        }
        scored.push(Scored {
            streak,
            exact,
            hinted: hinted.contains(&candidate.name.as_str()),
            abbreviations: abbreviations.intersection(&names).count(),
            close,
            cldr: WINDOWS_ZONES.iter().any(|e| e.2 == candidate.name),
            name: &candidate.name,
        });
    }
    scored.sort_by_key(|s| {
        (
            Reverse(s.streak),
            Reverse(s.hinted),
            Reverse(s.abbreviations),
            Reverse(s.cldr),
            Reverse(s.exact),
            Reverse(s.close),
            s.name,
        )
    });
    let best = scored.first();
    let fixed =
        windows.iter().all(|(_, _, t)| t.changes.is_empty() && t.initial == current.initial);
    // A fixed offset with nothing naming a particular place is best said as `Etc/GMT∓h`.
    if fixed && best.is_none_or(|b| !b.hinted && b.abbreviations == 0) {
        if let Some(zone) = etc_zone(current.initial.seconds()) {
            return Ok(Lenient::clean(zone));
        }
    }
    let required = windows
        .iter()
        .filter(|(start, _, _)| {
            used_from.is_none_or(|year| TimeZone::UTC.to_datetime(*start).year() >= year)
        })
        .count()
        .max(1);
    if let Some(best) = best.filter(|b| b.streak >= required) {
        return Ok(Lenient::clean(best.name.to_owned()));
    }
    let check_from = used_from.unwrap_or(first).clamp(first, reference);
    if let Some((posix, exact_from)) = posix_rule(rules, check_from) {
        let mut issue = format!(
            "time zone '{tzid}' matches no IANA zone on the dates this file uses it; the file's \
             own VTIMEZONE rules are used, kept as the POSIX rule {posix}"
        );
        if let Some(year) = exact_from {
            issue.push_str(&format!(
                " (they follow the VTIMEZONE's current rules; it differs from them before {year})"
            ));
        }
        return Ok(Lenient { value: posix, issues: vec![issue] });
    }
    let Some(best) = best else {
        return Err("its VTIMEZONE's offsets match no zone in the tz database".into());
    };
    let zone = best.name.to_owned();
    if best.streak > 0 {
        return Ok(Lenient::clean(zone));
    }
    let how = if best.exact > 0 { "by its past rules" } else { "by its UTC offsets only" };
    let issue = format!(
        "time zone '{tzid}' was matched to {zone} {how}: its daylight-saving dates differ from          {zone}'s current ones, so times near a change may be an hour off"
    );
    Ok(Lenient { value: zone, issues: vec![issue] })
}

#[cfg(test)]
mod tests {
    use super::super::component::parse;
    use super::*;

    fn resolve(tzid: &str) -> Option<String> {
        resolve_tzid_name(tzid)
    }

    #[test]
    fn iana_names_resolve_case_insensitively() {
        assert_eq!(resolve("America/New_York").as_deref(), Some("America/New_York"));
        assert_eq!(resolve("america/new_york").as_deref(), Some("America/New_York"));
        assert_eq!(resolve(" \"Europe/Paris\" ").as_deref(), Some("Europe/Paris"));
        assert_eq!(resolve("UTC").as_deref(), Some("UTC"));
        assert_eq!(resolve("Mars/Olympus"), None);
        assert_eq!(resolve(""), None);
        assert_eq!(resolve("Etc/Unknown"), None);
    }

    #[test]
    fn vendor_prefixed_tzids_resolve() {
        for (tzid, zone) in [
            ("/mozilla.org/20050126_1/America/New_York", "America/New_York"),
            ("/freeassociation.sourceforge.net/Tzfile/Europe/London", "Europe/London"),
            (
                "/softwarestudio.org/Olson_20011030_5/America/Argentina/Buenos_Aires",
                "America/Argentina/Buenos_Aires",
            ),
            ("/citadel.org/20190914_1/Europe/Berlin", "Europe/Berlin"),
        ] {
            assert_eq!(resolve(tzid).as_deref(), Some(zone), "{tzid}");
        }
    }

    #[test]
    fn windows_ids_resolve_to_the_cldr_001_zone() {
        for (tzid, zone) in [
            ("W. Europe Standard Time", "Europe/Berlin"),
            ("Eastern Standard Time", "America/New_York"),
            ("GMT Standard Time", "Europe/London"),
            ("Pacific Standard Time", "America/Los_Angeles"),
            ("pacific standard time", "America/Los_Angeles"),
            ("Pacific Daylight Time", "America/Los_Angeles"),
            ("India Standard Time", "Asia/Kolkata"),
            ("Tokyo Standard Time", "Asia/Tokyo"),
            ("AUS Eastern Standard Time", "Australia/Sydney"),
            ("Romance Standard Time", "Europe/Paris"),
            ("UTC", "UTC"),
            ("Mexico Standard Time 2", "America/Chihuahua"),
        ] {
            assert_eq!(resolve(tzid).as_deref(), Some(zone), "{tzid}");
        }
    }

    #[test]
    fn every_table_zone_exists_in_the_bundled_database() {
        for (windows, display, zone) in WINDOWS_ZONES {
            assert_eq!(iana(zone).as_deref(), Some(*zone), "{windows}");
            if !display.is_empty() {
                let (offset, _) = display_prefix(display).unwrap_or((i32::MIN, ""));
                assert!(offset != i32::MIN, "{display}");
                assert_eq!(resolve(display).as_deref(), Some(*zone), "{display}");
            }
        }
    }

    #[test]
    fn outlook_display_names_resolve() {
        for (tzid, zone) in [
            ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"),
            ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
            ("(GMT-05:00) Eastern Time (US & Canada)", "America/New_York"),
            ("(UTC+00:00) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
            ("(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "Europe/London"),
            ("(GMT+01.00) Amsterdam / Berlin / Bern / Rome / Stockholm / Vienna", "Europe/Berlin"),
            ("(UTC+02:00) Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius", "Europe/Kyiv"),
            ("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"),
            // Not a Windows display name, but the listed city is a zone with that offset.
            ("(UTC+01:00) Oslo", "Europe/Oslo"),
            ("Eastern Time (US & Canada)", "America/New_York"),
        ] {
            assert_eq!(resolve(tzid).as_deref(), Some(zone), "{tzid}");
        }
        // The city exists but not with that offset.
        assert_eq!(resolve("(UTC+05:00) Oslo"), None);
    }

    #[test]
    fn fixed_offset_names_resolve_to_etc_zones() {
        assert_eq!(resolve("UTC+3").as_deref(), Some("Etc/GMT-3"));
        assert_eq!(resolve("GMT-05:00").as_deref(), Some("Etc/GMT+5"));
        assert_eq!(resolve("UTC+05:30"), None);
    }

    fn calendar(vtimezone: &str, tzid: &str) -> (Vec<Component>, String) {
        let text = format!(
            "BEGIN:VCALENDAR\n{vtimezone}\nBEGIN:VEVENT\nDTSTART;TZID=\"{tzid}\":20260701T090000\n\
             END:VEVENT\nEND:VCALENDAR\n"
        );
        let (roots, issues) = parse(&text);
        assert!(issues.is_empty(), "{issues:?}");
        (roots, tzid.to_owned())
    }

    const OUTLOOK_CUSTOM: &str = "BEGIN:VTIMEZONE\nTZID:Customized Time Zone\n\
        BEGIN:STANDARD\nDTSTART:16010101T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\nTZNAME:W. Europe Standard Time\n\
        END:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:+0100\n\
        TZOFFSETTO:+0200\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\n\
        TZNAME:W. Europe Daylight Time\nEND:DAYLIGHT\nEND:VTIMEZONE";

    #[test]
    fn a_custom_vtimezone_is_matched_by_its_rules() -> Result<()> {
        let (roots, tzid) = calendar(OUTLOOK_CUSTOM, "Customized Time Zone");
        let resolver = ZoneResolver::from_components(&roots);
        let resolved = resolver.resolve(&tzid)?;
        assert_eq!(resolved.value, "Europe/Berlin");
        assert!(resolved.issues.is_empty());
        // Without the Windows names, the EU rule still matches a zone with those transitions.
        let anonymous = OUTLOOK_CUSTOM.replace("W. Europe", "Custom");
        let (roots, tzid) = calendar(&anonymous, "Customized Time Zone");
        let zone = ZoneResolver::from_components(&roots).resolve(&tzid)?.value;
        let tz = crate::calendar::time::time_zone(&zone)?;
        let summer: Timestamp =
            "2026-07-01T00:00:00Z".parse().map_err(|_| Error::InvalidInput("ts".into()))?;
        assert_eq!(tz.to_offset(summer).seconds(), 7200, "{zone}");
        Ok(())
    }

    #[test]
    fn a_us_style_vtimezone_with_the_2007_rule_change_matches_new_york() -> Result<()> {
        let vtimezone = "BEGIN:VTIMEZONE\nTZID:US-Eastern\n\
            BEGIN:DAYLIGHT\nDTSTART:19870405T020000\nRRULE:FREQ=YEARLY;UNTIL=20060402T070000Z;BYDAY=1SU;BYMONTH=4\n\
            TZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT\nEND:DAYLIGHT\n\
            BEGIN:STANDARD\nDTSTART:19671029T020000\nRRULE:FREQ=YEARLY;UNTIL=20061029T060000Z;BYDAY=-1SU;BYMONTH=10\n\
            TZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nTZNAME:EST\nEND:STANDARD\n\
            BEGIN:DAYLIGHT\nDTSTART:20070311T020000\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\n\
            TZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT\nEND:DAYLIGHT\n\
            BEGIN:STANDARD\nDTSTART:20071104T020000\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\n\
            TZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nTZNAME:EST\nEND:STANDARD\nEND:VTIMEZONE";
        let (roots, tzid) = calendar(vtimezone, "US-Eastern");
        let resolved = ZoneResolver::from_components(&roots).resolve(&tzid)?;
        assert_eq!(resolved.value, "America/New_York");
        assert!(resolved.issues.is_empty());
        Ok(())
    }

    #[test]
    fn broken_vtimezones_are_tolerated() -> Result<()> {
        // DATE DTSTART, no TZOFFSETFROM, a DAYLIGHT part only, a stray sub-component.
        let vtimezone = "BEGIN:VTIMEZONE\nTZID:India\nBEGIN:DAYLIGHT\nDTSTART;VALUE=DATE:19700101\n\
            TZOFFSETTO:+0530\nTZNAME:IST\nEND:DAYLIGHT\nBEGIN:X-JUNK\nEND:X-JUNK\nEND:VTIMEZONE";
        let (roots, tzid) = calendar(vtimezone, "India");
        assert_eq!(ZoneResolver::from_components(&roots).resolve(&tzid)?.value, "Asia/Kolkata");
        // A fixed whole-hour offset with no naming hint becomes an Etc zone.
        let vtimezone = "BEGIN:VTIMEZONE\nTZID:Somewhere\nBEGIN:STANDARD\nDTSTART:19700101T000000\n\
            TZOFFSETFROM:+0900\nTZOFFSETTO:+0900\nEND:STANDARD\nEND:VTIMEZONE";
        let (roots, tzid) = calendar(vtimezone, "Somewhere");
        assert_eq!(ZoneResolver::from_components(&roots).resolve(&tzid)?.value, "Etc/GMT-9");
        // Nothing usable at all.
        let vtimezone = "BEGIN:VTIMEZONE\nTZID:Empty\nEND:VTIMEZONE";
        let (roots, tzid) = calendar(vtimezone, "Empty");
        let error =
            ZoneResolver::from_components(&roots).resolve(&tzid).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("'Empty'") && e.contains("TZOFFSETTO")));
        Ok(())
    }

    #[test]
    fn a_vtimezone_with_past_rules_keeps_its_own_rules() -> Result<()> {
        // The US rule of 1987-2006 (first Sunday of April, last of October): New York's past,
        // not its present. Mapping it to New York would move every March and late-October time
        // by an hour, so the file's rules are kept (decision 0021).
        let vtimezone = "BEGIN:VTIMEZONE\nTZID:Old Eastern\nBEGIN:DAYLIGHT\nDTSTART:19700405T020000\n\
            RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT\n\
            END:DAYLIGHT\nBEGIN:STANDARD\nDTSTART:19701025T020000\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\n\
            TZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nTZNAME:EST\nEND:STANDARD\nEND:VTIMEZONE";
        let (roots, tzid) = calendar(vtimezone, "Old Eastern");
        let resolved = ZoneResolver::from_components(&roots).resolve(&tzid)?;
        assert_eq!(resolved.value, "<-05>5<-04>4,M4.1.0/2,M10.5.0/2");
        assert_eq!(resolved.issues.len(), 1);
        assert!(resolved.issues[0].contains("own VTIMEZONE rules"), "{}", resolved.issues[0]);
        Ok(())
    }

    #[test]
    fn a_vtimezone_matching_no_zone_exactly_keeps_its_own_rules() -> Result<()> {
        // EST/EDT from the second Sunday of May to the first of September: no zone ever did that.
        let vtimezone = "BEGIN:VTIMEZONE\nTZID:Invented\nBEGIN:DAYLIGHT\nDTSTART:20200510T020000\n\
            RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=5\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nTZNAME:EDT\n\
            END:DAYLIGHT\nBEGIN:STANDARD\nDTSTART:20200906T020000\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=9\n\
            TZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nTZNAME:EST\nEND:STANDARD\nEND:VTIMEZONE";
        let (roots, tzid) = calendar(vtimezone, "Invented");
        let resolved = ZoneResolver::from_components(&roots).resolve(&tzid)?;
        assert_eq!(resolved.value, "<-05>5<-04>4,M5.2.0/2,M9.1.0/2");
        let zone = crate::calendar::time::time_zone(&resolved.value)?;
        for (at, hours) in [
            ("2026-01-15T12:00:00Z", -5),
            ("2026-05-09T12:00:00Z", -5),
            ("2026-05-11T12:00:00Z", -4),
            ("2026-09-05T12:00:00Z", -4),
            ("2026-09-07T12:00:00Z", -5),
            ("2031-05-12T12:00:00Z", -4),
        ] {
            let at: Timestamp = at.parse().map_err(|_| Error::InvalidInput(at.into()))?;
            assert_eq!(zone.to_offset(at).seconds(), hours * 3600, "{at}");
        }
        assert_eq!(resolved.issues.len(), 1);
        assert!(resolved.issues[0].contains("own VTIMEZONE rules"), "{}", resolved.issues[0]);
        Ok(())
    }

    #[test]
    fn an_unknown_tzid_without_vtimezone_is_an_error_naming_it() {
        let resolver = ZoneResolver::default();
        let message = resolver.resolve("Custom 7").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("'Custom 7'") && message.contains("no VTIMEZONE"), "{message}");
        assert_eq!(
            resolver.resolve("Eastern Standard Time").map(|r| r.value).ok().as_deref(),
            Some("America/New_York")
        );
    }

    #[test]
    fn vtimezone_rules_give_offsets_at_instants() -> Result<()> {
        let (roots, _) = calendar(OUTLOOK_CUSTOM, "x");
        let rules =
            VTimezoneRules::from_component(&roots[0].components[0]).map_err(Error::InvalidInput)?;
        let at = |s: &str| s.parse::<Timestamp>().map_err(|_| Error::InvalidInput(s.into()));
        // EU 2026: summer time from 2026-03-29T01:00Z to 2026-10-25T01:00Z.
        assert_eq!(rules.offset_at(at("2026-03-29T00:59:59Z")?).seconds(), 3600);
        assert_eq!(rules.offset_at(at("2026-03-29T01:00:00Z")?).seconds(), 7200);
        assert_eq!(rules.offset_at(at("2026-10-25T00:59:59Z")?).seconds(), 7200);
        assert_eq!(rules.offset_at(at("2026-10-25T01:00:00Z")?).seconds(), 3600);
        Ok(())
    }
}
