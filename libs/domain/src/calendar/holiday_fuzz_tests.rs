//! Fuzzing the holiday-cn importer, the one parser here that takes a file an official
//! uploads: whatever the bytes, it returns a schedule or an error (never panics, never
//! recurses without bound), a well-formed file reads back exactly as written, and a
//! damaged one is either refused or read into days that keep every rule.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

use super::*;

/// A year's schedule as a file would state it: (date, name, off).
fn schedule() -> impl Strategy<Value = (i32, Vec<String>, BTreeMap<NaiveDate, (String, bool)>)> {
    let names = prop_oneof![
        Just("元旦".to_owned()),
        Just("春节".to_owned()),
        Just("国庆节、中秋节".to_owned()),
        "[\\PC]{1,30}".prop_filter("a name with text", |n| !n.trim().is_empty()),
    ];
    (2000i32..=2100).prop_flat_map(move |year| {
        (
            Just(year),
            proptest::collection::vec("https://www\\.gov\\.cn/[a-z0-9/_]{0,40}", 0..3),
            proptest::collection::btree_map(
                (0u32..365).prop_map(move |d| {
                    NaiveDate::from_yo_opt(year, d + 1).expect("a day of the year")
                }),
                (names.clone(), any::<bool>()),
                0..40,
            ),
        )
    })
}

/// The holiday-cn text of a schedule, laid out as the published files are.
fn file_text(year: i32, papers: &[String], days: &BTreeMap<NaiveDate, (String, bool)>) -> String {
    let days: Vec<_> = days
        .iter()
        .map(|(date, (name, off))| {
            serde_json::json!({"name": name, "date": date.format("%Y-%m-%d").to_string(), "isOffDay": off})
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
        "year": year,
        "papers": papers,
        "days": days,
    }))
    .expect("JSON text")
}

/// One way a file gets damaged in transit or by hand.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(usize),
    Replace(usize, char),
    Insert(usize, String),
    Remove(usize, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let char_in = prop_oneof![
        Just('"'),
        Just(','),
        Just('{'),
        Just(']'),
        Just('\\'),
        Just('0'),
        Just('9'),
        Just('-'),
        any::<char>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), char_in).prop_map(|(at, c)| Damage::Replace(at, c)),
        (
            any::<usize>(),
            prop_oneof![
                Just("\\u0000".to_owned()),
                Just("99999999999999999999".to_owned()),
                Just(r#","year":2027"#.to_owned()),
                Just(r#"{"name":"x","date":"2026-02-30","isOffDay":true},"#.to_owned()),
                ".{0,12}",
            ]
        )
            .prop_map(|(at, s)| Damage::Insert(at, s)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Damage::Remove(at, n)),
    ]
}

/// Applies `damage` at a character boundary (the body reaches the importer as text).
fn apply(text: &str, damage: &Damage) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = |i: usize| boundaries[i % boundaries.len()];
    let mut out = text.to_owned();
    match damage {
        Damage::Truncate(i) => out.truncate(at(*i)),
        Damage::Replace(i, c) => {
            let start = at(*i);
            if let Some(old) = out[start..].chars().next() {
                out.replace_range(start..start + old.len_utf8(), &c.to_string());
            }
        }
        Damage::Insert(i, s) => out.insert_str(at(*i), s),
        Damage::Remove(i, n) => {
            let start = at(*i);
            let end = boundaries
                .iter()
                .copied()
                .find(|&b| b >= start + n)
                .unwrap_or(text.len());
            out.replace_range(start..end, "");
        }
    }
    out
}

/// What every schedule the importer returns keeps, however odd the file.
fn keeps_the_rules(schedule: &OfficialSchedule) -> Result<(), TestCaseError> {
    for (date, day) in &schedule.days {
        prop_assert_eq!(date.year(), schedule.year);
        prop_assert!(!day.name.trim().is_empty());
        prop_assert!(day.name.chars().count() <= MAX_DAY_NAME_CHARS);
        prop_assert!(!day.name.chars().any(char::is_control), "{:?}", day.name);
    }
    prop_assert_eq!(
        schedule.published,
        !schedule.days.is_empty() && !schedule.papers.is_empty()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_holiday_file_written_then_imported_reads_back((year, papers, days) in schedule()) {
        let text = file_text(year, &papers, &days);
        let read = import_holiday_cn(&text).expect("a well-formed file imports");
        prop_assert_eq!(read.year, year);
        prop_assert_eq!(&read.papers, &papers);
        let expected: BTreeMap<NaiveDate, DayOverride> = days
            .iter()
            .map(|(d, (name, off))| {
                let day = if *off { DayOverride::off(name.clone()) } else { DayOverride::make_up(name.clone()) };
                (*d, day)
            })
            .collect();
        prop_assert_eq!(&read.days, &expected);
        keeps_the_rules(&read)?;
    }

    #[test]
    fn fuzz_damaged_holiday_file_is_refused_or_keeps_the_rules(
        (year, papers, days) in schedule(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut text = file_text(year, &papers, &days);
        for d in &damages {
            text = apply(&text, d);
        }
        if let Ok(schedule) = import_holiday_cn(&text) {
            keeps_the_rules(&schedule)?;
        }
    }

    #[test]
    fn fuzz_any_text_is_a_schedule_or_an_error(text in ".{0,200}") {
        if let Ok(schedule) = import_holiday_cn(&text) {
            keeps_the_rules(&schedule)?;
        }
    }

    #[test]
    fn fuzz_deeply_nested_json_is_refused(depth in 2usize..20_000, inside in 0usize..3) {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let text = match inside {
            0 => nested,
            1 => format!(r#"{{"year":2026,"papers":{nested}}}"#),
            _ => format!(r#"{{"year":2026,"days":[{{"name":{nested},"date":"2026-01-01","isOffDay":true}}]}}"#),
        };
        prop_assert!(import_holiday_cn(&text).is_err());
    }
}
