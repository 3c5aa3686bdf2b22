//! Fixed cases on the official Chinese calendar (Asia/Shanghai, standard week:
//! 08:30–12:00 and 14:30–18:00, so one working day is 420 minutes).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use super::*;

const THREE_DAYS: u32 = 3 * 420;

fn cal() -> WorkingCalendar {
    WorkingCalendar::china_official(Shanghai)
}

/// An instant given as Shanghai local time.
fn sh(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("Shanghai has no clock changes")
        .to_utc()
}

fn due(start: DateTime<Utc>, minutes: u32) -> Deadline {
    cal().add_working_minutes(start, minutes).expect("computes")
}

#[test]
fn one_working_day_is_the_standard_day() {
    assert_eq!(cal().standard_day_minutes(), 420);
}

#[test]
fn three_working_days_on_a_plain_week_land_on_the_same_time() {
    // Tuesday 10 March 2026 10:00 → Friday 13 March 10:00.
    let d = due(sh(2026, 3, 10, 10, 0), THREE_DAYS);
    assert_eq!(d.at, sh(2026, 3, 13, 10, 0));
    assert!(!d.provisional);
}

#[test]
fn spring_festival_2026_skips_the_holiday_and_uses_the_make_up_day() {
    let c = cal();
    assert!(
        c.is_working_instant(sh(2026, 2, 14, 10, 0)),
        "Sat 14 Feb is a make-up day"
    );
    assert!(
        c.is_working_instant(sh(2026, 2, 28, 10, 0)),
        "Sat 28 Feb is a make-up day"
    );
    assert!(
        !c.is_working_instant(sh(2026, 2, 16, 10, 0)),
        "Mon 16 Feb is a holiday"
    );
    assert!(
        !c.is_working_instant(sh(2026, 2, 23, 10, 0)),
        "Mon 23 Feb is a holiday"
    );
    // Fri 13 Feb 10:00: 330 min that day, 420 on Sat 14 (make-up), off 15–23,
    // 420 on Tue 24, the last 90 on Wed 25 → 10:00.
    let d = due(sh(2026, 2, 13, 10, 0), THREE_DAYS);
    assert_eq!(d.at, sh(2026, 2, 25, 10, 0));
    assert!(!d.provisional);
    assert_eq!(
        c.working_minutes_between(sh(2026, 2, 13, 10, 0), d.at),
        Ok(i64::from(THREE_DAYS))
    );
}

#[test]
fn national_day_2026_with_its_make_up_days() {
    let c = cal();
    assert!(
        c.is_working_instant(sh(2026, 9, 20, 9, 0)),
        "Sun 20 Sep is a make-up day"
    );
    assert!(
        c.is_working_instant(sh(2026, 10, 10, 9, 0)),
        "Sat 10 Oct is a make-up day"
    );
    assert!(
        !c.is_working_instant(sh(2026, 9, 25, 9, 0)),
        "Fri 25 Sep: Mid-Autumn"
    );
    // Wed 30 Sep 10:00: 330 that day, off 1–7 Oct, 420 on Thu 8 and Fri 9, 90 on the
    // make-up Saturday 10 Oct → 10:00.
    let d = due(sh(2026, 9, 30, 10, 0), THREE_DAYS);
    assert_eq!(d.at, sh(2026, 10, 10, 10, 0));
    // Thu 24 Sep 10:00: 330, off 25–27, 420 on Mon 28 and Tue 29, 90 on Wed 30.
    assert_eq!(
        due(sh(2026, 9, 24, 10, 0), THREE_DAYS).at,
        sh(2026, 9, 30, 10, 0)
    );
}

#[test]
fn a_deadline_reaching_into_unpublished_2027_is_provisional() {
    let c = cal();
    assert!(c.is_published(2026));
    assert!(!c.is_published(2027));
    // Mon 28 Dec 10:00 → Thu 31 Dec 10:00, all in 2026: firm.
    let firm = due(sh(2026, 12, 28, 10, 0), THREE_DAYS);
    assert_eq!(
        (firm.at, firm.provisional),
        (sh(2026, 12, 31, 10, 0), false)
    );
    // Wed 30 Dec 10:00: 330 + 420 on Thu 31; Fri 1 Jan 2027 is computed as a plain
    // Friday (the 2027 notice is not known: no guess that it is a holiday), then Mon 4.
    let guess = due(sh(2026, 12, 30, 10, 0), THREE_DAYS);
    assert_eq!(guess.at, sh(2027, 1, 4, 10, 0));
    assert!(guess.provisional);
    let measured = c
        .working_time_between(sh(2026, 12, 30, 10, 0), guess.at)
        .expect("computes");
    assert!(measured.provisional);
    // Ending exactly at the close of 2026's last working interval does not look into 2027.
    let edge = due(sh(2026, 12, 31, 14, 30), 210);
    assert_eq!(
        (edge.at, edge.provisional),
        (sh(2026, 12, 31, 18, 0), false)
    );
}

#[test]
fn two_intervals_a_day_and_the_lunch_break() {
    let c = cal();
    // Tue 10 March 2026: 11:30 + 60 min → 30 min before lunch, 30 after → 15:00.
    assert_eq!(due(sh(2026, 3, 10, 11, 30), 60).at, sh(2026, 3, 10, 15, 0));
    // A deadline that uses up the morning ends at 12:00, not at 14:30.
    assert_eq!(due(sh(2026, 3, 10, 8, 30), 210).at, sh(2026, 3, 10, 12, 0));
    assert_eq!(due(sh(2026, 3, 10, 8, 30), 420).at, sh(2026, 3, 10, 18, 0));
    assert_eq!(due(sh(2026, 3, 10, 8, 30), 0).at, sh(2026, 3, 10, 8, 30));
    assert_eq!(
        c.working_minutes_between(sh(2026, 3, 10, 11, 0), sh(2026, 3, 10, 15, 0)),
        Ok(90)
    );
    assert_eq!(
        c.working_minutes_between(sh(2026, 3, 10, 15, 0), sh(2026, 3, 10, 11, 0)),
        Ok(-90)
    );
    assert!(
        !c.is_working_instant(sh(2026, 3, 10, 12, 0)),
        "interval ends are excluded"
    );
    assert!(
        c.is_working_instant(sh(2026, 3, 10, 14, 30)),
        "interval starts are included"
    );
}

#[test]
fn starts_outside_working_hours_wait_for_the_next_interval() {
    let c = cal();
    // At night: Tue 22:00 + 60 → Wed 09:30.
    assert_eq!(due(sh(2026, 3, 10, 22, 0), 60).at, sh(2026, 3, 11, 9, 30));
    // On a holiday: Sat 3 Oct 09:00 + 30 → Thu 8 Oct 09:00.
    assert_eq!(due(sh(2026, 10, 3, 9, 0), 30).at, sh(2026, 10, 8, 9, 0));
    // Next working instant: from a Spring Festival day, from lunch, from within hours.
    let next = |t| c.next_working_instant(t).expect("computes").at;
    assert_eq!(next(sh(2026, 2, 21, 10, 0)), sh(2026, 2, 24, 8, 30));
    assert_eq!(next(sh(2026, 3, 10, 12, 30)), sh(2026, 3, 10, 14, 30));
    assert_eq!(next(sh(2026, 3, 10, 9, 15)), sh(2026, 3, 10, 9, 15));
    assert!(
        c.next_working_instant(sh(2027, 1, 1, 7, 0))
            .expect("computes")
            .provisional
    );
}

#[test]
fn pauses_shift_a_deadline_by_the_paused_working_time() {
    let c = cal();
    let start = sh(2026, 3, 10, 10, 0);
    // Paused Wed 11 March 11:00 – Thu 12 March 15:00: 60 + 210 + 210 + 30 = 510 working
    // minutes, so the deadline moves from Fri 13 10:00 to Mon 16 11:30.
    let pause = Pause::closed(sh(2026, 3, 11, 11, 0), sh(2026, 3, 12, 15, 0));
    let shifted = c
        .add_working_minutes_excluding(start, THREE_DAYS, &[pause])
        .expect("computes")
        .expect("the pause has ended");
    assert_eq!(
        c.working_minutes_between(sh(2026, 3, 13, 10, 0), shifted.at),
        Ok(510)
    );
    assert_eq!(shifted.at, sh(2026, 3, 16, 11, 30));
    assert_eq!(
        c.working_minutes_between_excluding(start, shifted.at, &[pause]),
        Ok(i64::from(THREE_DAYS))
    );
    let open = Pause::open(sh(2026, 3, 11, 11, 0));
    assert_eq!(
        c.add_working_minutes_excluding(start, THREE_DAYS, &[open]),
        Ok(None)
    );
}

#[test]
fn a_calendar_without_working_time_is_an_error_not_a_hang() {
    let none = WorkingCalendar::new(Shanghai, WeeklyHours::weekdays(DayHours::off()));
    assert_eq!(none, Err(CalendarError::NoWorkingHours));
    // Mondays only, and every Monday for eleven years declared a holiday.
    let mut week = WeeklyHours::weekdays(DayHours::off());
    week.monday = DayHours::parse("09:00-17:00").expect("valid");
    let mut c = WorkingCalendar::new(Shanghai, week).expect("has hours");
    let mut day = NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date");
    while day.year() < 2037 {
        c.set_override(day, DayOverride::off("closed"));
        day += TimeDelta::days(7);
    }
    assert_eq!(
        c.add_working_minutes(sh(2026, 1, 1, 0, 0), 60),
        Err(CalendarError::BeyondHorizon(SEARCH_HORIZON_DAYS))
    );
}

#[test]
fn tenant_overrides_apply_and_the_calendar_round_trips_through_json() {
    let mut c = cal();
    let fair = NaiveDate::from_ymd_opt(2026, 3, 11).expect("valid date");
    c.set_override(fair, DayOverride::off("庙会"));
    let half = NaiveDate::from_ymd_opt(2026, 3, 12).expect("valid date");
    c.set_override(
        half,
        DayOverride::working("半天", DayHours::parse("08:30-12:00").expect("valid")),
    );
    assert_eq!(c.hours_on(fair).source, DaySource::Holiday);
    // Tue 10:00: 330 on Tue, Wed off, 210 on Thu (half day), 420 Fri, 300 on Mon.
    let d = c
        .add_working_minutes(sh(2026, 3, 10, 10, 0), THREE_DAYS)
        .expect("computes");
    assert_eq!(d.at, sh(2026, 3, 16, 16, 0));

    let json = serde_json::to_string(&c).expect("serialises");
    let back: WorkingCalendar = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, c);
    let value = serde_json::to_value(&c).expect("serialises");
    assert_eq!(value["zone"], "Asia/Shanghai");
    assert_eq!(value["overrides"]["2026-02-15"]["kind"], "off");

    let mut bad = value.clone();
    bad["zone"] = "Mars/Olympus".into();
    assert!(serde_json::from_value::<WorkingCalendar>(bad).is_err());
    let mut empty = value;
    for day in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
        empty["weekly"][day] = serde_json::json!([]);
    }
    assert!(serde_json::from_value::<WorkingCalendar>(empty).is_err());
}
