//! Dated overrides of the weekly schedule (holidays, make-up working days) and the
//! importer for China's official schedules in the holiday-cn JSON layout.
//!
//! The official schedules for 2024–2027 are embedded in the binary (`data/holidays-cn`,
//! MIT licence, transcribed from the State Council's yearly notices), so the product
//! never reads them from disk at run time.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::hours::DayHours;

/// What a dated override does to a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OverrideKind {
    /// A day off (holiday), whatever the weekday.
    Off,
    /// A working day (调休 make-up day, or a day with special hours).
    Working {
        /// The day's hours; `None` means the calendar's standard working day.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hours: Option<DayHours>,
    },
}

/// A dated exception to the weekly schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOverride {
    /// What the day is called (`春节`, `国庆节`), for display.
    pub name: String,
    /// Off, or working.
    #[serde(flatten)]
    pub kind: OverrideKind,
}

impl DayOverride {
    /// A holiday.
    pub fn off(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: OverrideKind::Off,
        }
    }

    /// A make-up working day with the calendar's standard working hours.
    pub fn make_up(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: OverrideKind::Working { hours: None },
        }
    }

    /// A working day with these hours.
    pub fn working(name: impl Into<String>, hours: DayHours) -> Self {
        Self {
            name: name.into(),
            kind: OverrideKind::Working { hours: Some(hours) },
        }
    }
}

/// One year's official schedule, as read from a holiday-cn file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficialSchedule {
    /// The year the schedule is for.
    pub year: i32,
    /// The State Council notices it transcribes (their addresses), for citing.
    pub papers: Vec<String>,
    /// The holidays and make-up working days of the year.
    pub days: BTreeMap<NaiveDate, DayOverride>,
    /// Whether the year's schedule has been published: it has at least one notice and
    /// at least one day. A year without either (2027 in the embedded data) is not, and
    /// deadlines that reach into it are provisional.
    pub published: bool,
}

/// Why a holiday-cn file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum HolidayImportError {
    /// Not JSON in the holiday-cn layout.
    #[error("not a holiday-cn file: {0}")]
    Json(#[from] serde_json::Error),
    /// A date that cannot be read.
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    BadDate(String),
    /// A date outside the file's year.
    #[error("{date} is outside the file's year {year}")]
    OutsideYear {
        /// The date found.
        date: NaiveDate,
        /// The file's year.
        year: i32,
    },
    /// The same date twice.
    #[error("{0} is listed twice")]
    Duplicate(NaiveDate),
    /// A day's name that is empty, longer than [`MAX_DAY_NAME_CHARS`] or holds control
    /// characters (which the database and the admin pages cannot hold).
    #[error("the name of {0} must be 1 to 30 characters of text")]
    BadName(NaiveDate),
}

/// The longest name of a dated override (`国庆节`, `镇庆`), in characters: the admin
/// form's limit, so an imported day can be edited there.
pub const MAX_DAY_NAME_CHARS: usize = 30;

/// Whether `name` can name a dated override: 1 to [`MAX_DAY_NAME_CHARS`] characters,
/// none of them control characters.
fn name_fits(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= MAX_DAY_NAME_CHARS
        && !name.chars().any(char::is_control)
}

#[derive(Deserialize)]
struct RawFile {
    year: i32,
    #[serde(default)]
    papers: Vec<String>,
    #[serde(default)]
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
struct RawDay {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// Reads a holiday-cn file (`{"year", "papers": [...], "days": [{"name", "date",
/// "isOffDay"}]}`): `isOffDay: true` is a holiday, `false` a make-up working day with
/// the calendar's standard hours.
pub fn import_holiday_cn(json: &str) -> Result<OfficialSchedule, HolidayImportError> {
    let raw: RawFile = serde_json::from_str(json)?;
    let mut days = BTreeMap::new();
    for day in raw.days {
        let date = NaiveDate::parse_from_str(&day.date, "%Y-%m-%d")
            .map_err(|_| HolidayImportError::BadDate(day.date.clone()))?;
        if date.year() != raw.year {
            return Err(HolidayImportError::OutsideYear {
                date,
                year: raw.year,
            });
        }
        if !name_fits(&day.name) {
            return Err(HolidayImportError::BadName(date));
        }
        let entry = if day.is_off_day {
            DayOverride::off(day.name)
        } else {
            DayOverride::make_up(day.name)
        };
        if days.insert(date, entry).is_some() {
            return Err(HolidayImportError::Duplicate(date));
        }
    }
    let published = !days.is_empty() && !raw.papers.is_empty();
    Ok(OfficialSchedule {
        year: raw.year,
        papers: raw.papers,
        days,
        published,
    })
}

/// The embedded official schedules, by year, as holiday-cn JSON.
pub const SEED_FILES: [(i32, &str); 4] = [
    (2024, include_str!("../../data/holidays-cn/2024.json")),
    (2025, include_str!("../../data/holidays-cn/2025.json")),
    (2026, include_str!("../../data/holidays-cn/2026.json")),
    (2027, include_str!("../../data/holidays-cn/2027.json")),
];

/// The embedded official schedules, parsed: 2024–2026 published, 2027 not yet.
pub fn seed_schedules() -> Vec<OfficialSchedule> {
    SEED_FILES
        .iter()
        .map(|(year, json)| {
            // The files are part of the binary and checked by this crate's tests.
            import_holiday_cn(json)
                .unwrap_or_else(|e| panic!("embedded holiday-cn {year}.json must parse: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn seeds_parse_with_their_notices() {
        let seeds = seed_schedules();
        let years: Vec<_> = seeds.iter().map(|s| (s.year, s.published)).collect();
        assert_eq!(
            years,
            [(2024, true), (2025, true), (2026, true), (2027, false)]
        );
        for s in &seeds[..3] {
            assert!(s.papers[0].starts_with("https://www.gov.cn/"), "{s:?}");
        }
        let y2026 = &seeds[2];
        assert_eq!(y2026.days[&date(2026, 2, 15)], DayOverride::off("春节"));
        assert_eq!(y2026.days[&date(2026, 2, 14)], DayOverride::make_up("春节"));
        assert_eq!(y2026.days[&date(2026, 2, 28)], DayOverride::make_up("春节"));
        assert!(seeds[3].days.is_empty());
    }

    #[test]
    fn refuses_malformed_files() {
        let outside = r#"{"year":2026,"papers":["x"],"days":[{"name":"a","date":"2025-12-31","isOffDay":true}]}"#;
        assert!(matches!(
            import_holiday_cn(outside),
            Err(HolidayImportError::OutsideYear { .. })
        ));
        let twice = r#"{"year":2026,"papers":["x"],"days":[
            {"name":"a","date":"2026-01-01","isOffDay":true},
            {"name":"a","date":"2026-01-01","isOffDay":false}]}"#;
        assert!(matches!(
            import_holiday_cn(twice),
            Err(HolidayImportError::Duplicate(_))
        ));
        let bad_date = r#"{"year":2026,"days":[{"name":"a","date":"2026-13-01","isOffDay":true}]}"#;
        assert!(matches!(
            import_holiday_cn(bad_date),
            Err(HolidayImportError::BadDate(_))
        ));
        assert!(matches!(
            import_holiday_cn("[]"),
            Err(HolidayImportError::Json(_))
        ));
    }

    #[test]
    fn names_the_database_cannot_hold_or_the_form_cannot_edit_are_refused() {
        for name in ["\\u0000", "春节\\u0007", "", "  ", &"节".repeat(31)] {
            let file = format!(
                r#"{{"year":2026,"papers":["x"],"days":[{{"name":"{name}","date":"2026-01-01","isOffDay":true}}]}}"#
            );
            assert!(
                matches!(
                    import_holiday_cn(&file),
                    Err(HolidayImportError::BadName(_))
                ),
                "{file}"
            );
        }
        let longest = format!(
            r#"{{"year":2026,"days":[{{"name":"{}","date":"2026-01-01","isOffDay":true}}]}}"#,
            "节".repeat(30)
        );
        assert!(import_holiday_cn(&longest).is_ok());
    }

    #[test]
    fn days_without_a_notice_are_not_published() {
        let no_paper =
            r#"{"year":2028,"days":[{"name":"元旦","date":"2028-01-01","isOffDay":true}]}"#;
        let s = import_holiday_cn(no_paper).expect("parses");
        assert!(!s.published);
        assert_eq!(s.days.len(), 1);
    }

    #[test]
    fn overrides_round_trip_through_json() {
        for o in [
            DayOverride::off("春节"),
            DayOverride::make_up("春节"),
            DayOverride::working("半天", DayHours::parse("08:30-12:00").expect("valid")),
        ] {
            let json = serde_json::to_string(&o).expect("serialises");
            let back: DayOverride = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, o, "{json}");
        }
        let json = serde_json::to_value(DayOverride::off("春节")).expect("serialises");
        assert_eq!(json, serde_json::json!({"name": "春节", "kind": "off"}));
    }
}
