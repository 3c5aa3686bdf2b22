//! Calendars outside Asia/Shanghai: day boundaries in the tenant's zone, daylight-saving
//! gaps and overlaps, and a day a zone skipped altogether.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;

fn local(zone: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    zone.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .expect("a local time that exists")
        .to_utc()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid instant")
}

fn every_day(zone: Tz, hours: &str) -> WorkingCalendar {
    let day = DayHours::parse(hours).expect("valid hours");
    let mut week = WeeklyHours::weekdays(day.clone());
    week.saturday = day.clone();
    week.sunday = day;
    WorkingCalendar::new(zone, week).expect("has hours")
}

fn sundays_only(zone: Tz, hours: &str) -> WorkingCalendar {
    let mut week = WeeklyHours::weekdays(DayHours::off());
    week.sunday = DayHours::parse(hours).expect("valid hours");
    WorkingCalendar::new(zone, week).expect("has hours")
}

#[test]
fn urumqi_days_start_in_urumqi() {
    let urumqi =
        WorkingCalendar::new(chrono_tz::Asia::Urumqi, WeeklyHours::standard()).expect("has hours");
    let shanghai = WorkingCalendar::new(chrono_tz::Asia::Shanghai, WeeklyHours::standard())
        .expect("has hours");
    // Tue 10 March 2026 02:00 UTC: 08:00 in Urumqi (before hours), 10:00 in Shanghai.
    let start = utc(2026, 3, 10, 2, 0);
    let in_urumqi = urumqi.add_working_minutes(start, 1260).expect("computes");
    assert_eq!(
        in_urumqi.at,
        local(chrono_tz::Asia::Urumqi, 2026, 3, 12, 18, 0)
    );
    let in_shanghai = shanghai.add_working_minutes(start, 1260).expect("computes");
    assert_eq!(
        in_shanghai.at,
        local(chrono_tz::Asia::Shanghai, 2026, 3, 13, 10, 0)
    );
    assert!(
        in_urumqi.provisional,
        "no year is published on a bare calendar"
    );
}

#[test]
fn berlin_days_are_23_and_25_hours_long_around_the_clock_changes() {
    let berlin = chrono_tz::Europe::Berlin;
    let c = every_day(berlin, "00:00-24:00");
    let hours = |a, b| c.working_time_between(a, b).expect("computes").duration;
    // Sunday 29 March 2026 loses 02:00–03:00; Sunday 25 October repeats 02:00–03:00.
    assert_eq!(
        hours(
            local(berlin, 2026, 3, 28, 0, 0),
            local(berlin, 2026, 3, 30, 0, 0)
        ),
        TimeDelta::hours(47)
    );
    assert_eq!(
        hours(
            local(berlin, 2026, 10, 24, 0, 0),
            local(berlin, 2026, 10, 26, 0, 0)
        ),
        TimeDelta::hours(49)
    );
    // 01:30 CET + 60 working minutes is 03:30 CEST.
    let d = c
        .add_working_minutes(local(berlin, 2026, 3, 29, 1, 30), 60)
        .expect("computes");
    assert_eq!(d.at, local(berlin, 2026, 3, 29, 3, 30));
    assert_eq!(d.at, utc(2026, 3, 29, 1, 30));
}

#[test]
fn intervals_across_a_gap_are_shorter_and_across_an_overlap_longer() {
    let berlin = chrono_tz::Europe::Berlin;
    let c = sundays_only(berlin, "01:00-04:00");
    let minutes = |y, m, d| {
        c.working_minutes_between(local(berlin, y, m, d, 0, 0), local(berlin, y, m, d, 12, 0))
            .expect("computes")
    };
    assert_eq!(minutes(2026, 3, 22), 180, "a plain Sunday");
    assert_eq!(minutes(2026, 3, 29), 120, "02:00–03:00 does not exist");
    assert_eq!(minutes(2026, 10, 25), 240, "02:00–03:00 happens twice");

    // Hours wholly inside the gap count for nothing that day; the search moves on.
    let gap = sundays_only(berlin, "02:00-02:30,09:00-10:00");
    let day = |d| {
        gap.working_minutes_between(
            local(berlin, 2026, 3, d, 0, 0),
            local(berlin, 2026, 3, d, 23, 0),
        )
        .expect("computes")
    };
    assert_eq!((day(22), day(29)), (90, 60));
    let next = gap
        .next_working_instant(local(berlin, 2026, 3, 29, 0, 0))
        .expect("computes");
    assert_eq!(next.at, local(berlin, 2026, 3, 29, 9, 0));
    assert!(
        !gap.is_working_instant(utc(2026, 3, 29, 1, 0)),
        "03:00 CEST"
    );
}

#[test]
fn working_days_keep_their_wall_clock_time_across_a_clock_change() {
    let berlin = chrono_tz::Europe::Berlin;
    let c = WorkingCalendar::new(berlin, WeeklyHours::standard()).expect("has hours");
    // Fri 27 March 10:00 CET + 3 working days → Wed 1 April 10:00 CEST.
    let d = c
        .add_working_minutes(local(berlin, 2026, 3, 27, 10, 0), 1260)
        .expect("computes");
    assert_eq!(d.at, local(berlin, 2026, 4, 1, 10, 0));
    assert_eq!(d.at, utc(2026, 4, 1, 8, 0));
}

#[test]
fn a_skipped_day_counts_for_nothing() {
    // Samoa moved across the date line: 30 December 2011 did not happen in Apia.
    let apia = chrono_tz::Pacific::Apia;
    let c = every_day(apia, "00:00-24:00");
    let from = local(apia, 2011, 12, 29, 0, 0);
    let to = local(apia, 2011, 12, 31, 0, 0);
    let span = c.working_time_between(from, to).expect("computes");
    assert_eq!(span.duration, TimeDelta::hours(24));
    assert!(span.provisional);
}
