//! Timer points on the official calendar (Asia/Shanghai, 420-minute working day).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use super::*;
use crate::calendar::{Pause, WorkingCalendar};

fn cal() -> WorkingCalendar {
    WorkingCalendar::china_official(Shanghai)
}

fn sh(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("Shanghai has no clock changes")
        .to_utc()
}

fn dues(points: &[TimerPoint]) -> Vec<(TimerKind, DateTime<Utc>)> {
    points.iter().map(|p| (p.kind, p.due)).collect()
}

#[test]
fn resolution_points_fall_at_50_80_and_100_percent_of_working_time() {
    let policy = SlaPolicy::standard();
    let points =
        schedule(&policy.resolution, &cal(), sh(2026, 3, 10, 10, 0), &[]).expect("computes");
    // 630 min: 330 Tue + 210 + 90 Wed; 1008 min: … + 210 + 48 Thu; 1260: Fri 10:00.
    assert_eq!(
        dues(&points),
        [
            (TimerKind::Reminder(50), sh(2026, 3, 11, 16, 0)),
            (TimerKind::Reminder(80), sh(2026, 3, 12, 15, 18)),
            (TimerKind::Breach, sh(2026, 3, 13, 10, 0)),
        ]
    );
    assert!(points.iter().all(|p| !p.provisional));
}

#[test]
fn first_response_runs_on_the_wall_clock_even_at_night() {
    let policy = SlaPolicy::standard();
    let start = sh(2026, 2, 16, 23, 0); // a Spring Festival night
    let points = schedule(&policy.first_response, &cal(), start, &[]).expect("computes");
    assert_eq!(
        dues(&points),
        [
            (TimerKind::Reminder(50), sh(2026, 2, 16, 23, 15)),
            (TimerKind::Reminder(80), sh(2026, 2, 16, 23, 24)),
            (TimerKind::Breach, sh(2026, 2, 16, 23, 30)),
        ]
    );
    let urgent =
        schedule(&SlaPolicy::urgent().first_response, &cal(), start, &[]).expect("computes");
    assert_eq!(urgent.last().map(|p| p.due), Some(sh(2026, 2, 16, 23, 15)));
}

#[test]
fn spring_festival_resolution_and_follow_up() {
    let policy = SlaPolicy::standard();
    let breach = |target: &SlaTarget, start| {
        schedule(target, &cal(), start, &[])
            .expect("computes")
            .last()
            .map(|p| p.due)
    };
    assert_eq!(
        breach(&policy.resolution, sh(2026, 2, 13, 10, 0)),
        Some(sh(2026, 2, 25, 10, 0))
    );
    // Resolved Fri 13 Feb 17:00: 60 + 420 (Sat 14, make-up) + 360 on Tue 24 → 17:00.
    assert_eq!(
        breach(&policy.follow_up, sh(2026, 2, 13, 17, 0)),
        Some(sh(2026, 2, 24, 17, 0))
    );
    // Urgent: 24 wall-clock hours, holiday or not; follow-up one working day.
    let urgent = SlaPolicy::urgent();
    assert_eq!(
        breach(&urgent.resolution, sh(2026, 2, 14, 10, 0)),
        Some(sh(2026, 2, 15, 10, 0))
    );
    assert_eq!(
        breach(&urgent.follow_up, sh(2026, 2, 14, 10, 0)),
        Some(sh(2026, 2, 24, 10, 0))
    );
}

#[test]
fn points_reaching_into_2027_are_provisional() {
    let policy = SlaPolicy::standard();
    let points =
        schedule(&policy.resolution, &cal(), sh(2026, 12, 30, 10, 0), &[]).expect("computes");
    let flags: Vec<_> = points.iter().map(|p| (p.kind, p.provisional)).collect();
    // 50 % (630 min) is reached on Thu 31 Dec; 80 % and the breach fall in 2027.
    assert_eq!(
        flags,
        [
            (TimerKind::Reminder(50), false),
            (TimerKind::Reminder(80), true),
            (TimerKind::Breach, true),
        ]
    );
}

#[test]
fn pausing_and_resuming_moves_the_points_by_the_paused_working_time() {
    let policy = SlaPolicy::standard();
    let calendar = cal();
    let mut clock = TargetClock::start(TargetKind::Resolution, sh(2026, 3, 10, 10, 0));
    clock
        .pause(sh(2026, 3, 11, 11, 0))
        .expect("running clock pauses");
    assert!(clock.is_paused());
    assert_eq!(
        clock.pause(sh(2026, 3, 11, 12, 0)),
        Err(SlaError::AlreadyPaused)
    );
    // While paused, only points reached before the pause are known: the 50 % point
    // (Wed 16:00) lies after it.
    assert!(
        clock
            .schedule(&policy, &calendar)
            .expect("computes")
            .is_empty()
    );
    assert_eq!(
        clock.resume(sh(2026, 3, 11, 10, 0)),
        Err(SlaError::OutOfOrder)
    );
    clock
        .resume(sh(2026, 3, 12, 15, 0))
        .expect("paused clock resumes");
    assert_eq!(
        clock.resume(sh(2026, 3, 12, 16, 0)),
        Err(SlaError::NotPaused)
    );
    // 510 working minutes paused: the breach moves from Fri 13 10:00 to Mon 16 11:30.
    let points = clock.schedule(&policy, &calendar).expect("computes");
    assert_eq!(points.last().map(|p| p.due), Some(sh(2026, 3, 16, 11, 30)));
    let used = clock
        .counted(&policy, &calendar, sh(2026, 3, 16, 11, 30))
        .expect("computes");
    assert_eq!(used.duration, TimeDelta::minutes(1260));
    assert_eq!(
        clock.pause(sh(2026, 3, 12, 14, 0)),
        Err(SlaError::OutOfOrder)
    );

    // Reopened on Wed 18 March at 09:00: a fresh 3 working days from then.
    clock.restart(sh(2026, 3, 18, 9, 0));
    let points = clock.schedule(&policy, &calendar).expect("computes");
    assert_eq!(points.last().map(|p| p.due), Some(sh(2026, 3, 23, 9, 0)));
}

#[test]
fn wall_clock_targets_pause_too() {
    let urgent = SlaPolicy::urgent();
    let start = sh(2026, 3, 10, 10, 0);
    let pause = Pause::closed(sh(2026, 3, 10, 12, 0), sh(2026, 3, 10, 14, 0));
    let points = schedule(&urgent.resolution, &cal(), start, &[pause]).expect("computes");
    assert_eq!(points.last().map(|p| p.due), Some(sh(2026, 3, 11, 12, 0)));
}

#[test]
fn policies_round_trip_through_json() {
    for policy in [SlaPolicy::standard(), SlaPolicy::urgent()] {
        let json = serde_json::to_string(&policy).expect("serialises");
        let back: SlaPolicy = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, policy);
    }
    let value = serde_json::to_value(SlaPolicy::standard()).expect("serialises");
    assert_eq!(
        value,
        serde_json::json!({
            "first_response": {"length": {"wall_minutes": 30}, "reminders": [50, 80]},
            "resolution": {"length": {"working_days": 3}, "reminders": [50, 80]},
            "follow_up": {"length": {"working_days": 2}, "reminders": [50, 80]},
        })
    );
    let defaulted: SlaTarget =
        serde_json::from_str(r#"{"length": {"working_minutes": 90}}"#).expect("deserialises");
    assert_eq!(defaulted.reminders.percents(), [50, 80]);
    for bad in [
        r#"[80, 50]"#,
        r#"[0]"#,
        r#"[100]"#,
        r#"[10,20,30,40,50,60]"#,
    ] {
        assert!(
            serde_json::from_str::<ReminderPoints>(bad).is_err(),
            "{bad}"
        );
    }
    let clock = TargetClock::start(TargetKind::FollowUp, sh(2026, 3, 10, 10, 0));
    let json = serde_json::to_string(&clock).expect("serialises");
    assert_eq!(
        serde_json::from_str::<TargetClock>(&json).expect("deserialises"),
        clock
    );
}

#[test]
fn timer_kinds_have_stable_names() {
    for kind in [
        TimerKind::Reminder(50),
        TimerKind::Reminder(80),
        TimerKind::Breach,
    ] {
        assert_eq!(TimerKind::parse(&kind.name()), Some(kind));
    }
    assert_eq!(TimerKind::Reminder(50).name(), "reminder_50");
    assert_eq!(TimerKind::parse("reminder_0"), None);
    assert_eq!(TimerKind::parse("reminder_x"), None);
    for target in TargetKind::ALL {
        assert_eq!(TargetKind::parse(target.as_str()), Some(target));
    }
}
