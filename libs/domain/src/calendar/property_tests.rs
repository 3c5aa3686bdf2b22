//! Properties of the arithmetic on the official calendar, for random instants across
//! 2025–2026: adding then measuring gives the amount back; measuring is monotonic and
//! additive; pauses subtract exactly the paused working time (checked against a
//! minute-by-minute count).

use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn cal() -> &'static WorkingCalendar {
    static CAL: OnceLock<WorkingCalendar> = OnceLock::new();
    CAL.get_or_init(|| WorkingCalendar::china_official(chrono_tz::Asia::Shanghai))
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 12, 31, 16, 0, 0)
        .single()
        .expect("valid instant: 2025-01-01 00:00 in Shanghai")
}

/// A whole-minute instant in 2025–2026 (Shanghai time).
fn minute_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..2 * 365 * 1440).prop_map(|m| base() + TimeDelta::minutes(m))
}

/// Any instant (to the nanosecond) in 2025–2026.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..2 * 365 * 86_400, 0i64..1_000_000_000)
        .prop_map(|(s, n)| base() + TimeDelta::seconds(s) + TimeDelta::nanoseconds(n))
}

/// Counts working minutes one by one: the slow, obviously right oracle.
fn brute_force_minutes(a: DateTime<Utc>, b: DateTime<Utc>, pauses: &[Pause]) -> i64 {
    let mut count = 0;
    let mut t = a;
    while t < b {
        let paused = pauses
            .iter()
            .any(|p| p.from <= t && p.until.is_none_or(|u| t < u));
        if !paused && cal().is_working_instant(t) {
            count += 1;
        }
        t += TimeDelta::minutes(1);
    }
    count
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn adding_then_measuring_gives_the_amount_back(
        start in any_instant(),
        minutes in 0u32..20 * 420,
    ) {
        let due = cal().add_working_minutes(start, minutes).expect("computes");
        prop_assert!(due.at >= start);
        let measured = cal().working_time_between(start, due.at).expect("computes");
        prop_assert_eq!(measured.duration, TimeDelta::minutes(i64::from(minutes)));
        prop_assert_eq!(measured.provisional, due.provisional);
    }

    #[test]
    fn measuring_is_monotonic_and_additive(
        mut points in proptest::collection::vec(any_instant(), 3),
    ) {
        points.sort();
        let (a, b, c) = (points[0], points[1], points[2]);
        let m = |x, y| cal().working_time_between(x, y).expect("computes").duration;
        prop_assert!(m(a, b) <= m(a, c));
        prop_assert!(m(b, c) <= m(a, c));
        prop_assert_eq!(m(a, b) + m(b, c), m(a, c));
        prop_assert_eq!(m(c, a), -m(a, c));
        prop_assert!(m(a, b) <= b - a);
    }

    #[test]
    fn the_deadline_is_the_end_of_working_time(
        start in any_instant(),
        minutes in 1u32..5 * 420,
    ) {
        let due = cal().add_working_minutes(start, minutes).expect("computes");
        // The last moment before the deadline is working time, so the deadline is the
        // earliest instant with the full amount behind it.
        prop_assert!(cal().is_working_instant(due.at - TimeDelta::nanoseconds(1)));
        let next = cal().next_working_instant(start).expect("computes");
        prop_assert!(next.at >= start && next.at < due.at);
        prop_assert!(cal().is_working_instant(next.at));
    }

}

proptest! {
    // The oracle counts minute by minute, so fewer cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pauses_subtract_exactly_the_paused_working_time(
        a in minute_instant(),
        span in 0i64..4 * 1440,
        pauses in proptest::collection::vec((0i64..4 * 1440, 0i64..1440, any::<bool>()), 0..4),
    ) {
        let b = a + TimeDelta::minutes(span);
        let pauses: Vec<Pause> = pauses
            .into_iter()
            .map(|(offset, len, open)| {
                let from = a + TimeDelta::minutes(offset - 360);
                if open && offset > 2 * 1440 { Pause::open(from) }
                else { Pause::closed(from, from + TimeDelta::minutes(len)) }
            })
            .collect();
        let measured = cal()
            .working_minutes_between_excluding(a, b, &pauses)
            .expect("computes");
        prop_assert_eq!(measured, brute_force_minutes(a, b, &pauses));
        let plain = cal().working_minutes_between(a, b).expect("computes");
        prop_assert!(measured <= plain);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_paused_deadline_moves_by_the_paused_working_time(
        start in any_instant(),
        minutes in 1u32..6 * 420,
        pauses in proptest::collection::vec((0i64..6 * 1440, 0i64..3 * 1440), 0..3),
    ) {
        let pauses: Vec<Pause> = pauses
            .into_iter()
            .map(|(offset, len)| {
                let from = start + TimeDelta::minutes(offset - 720);
                Pause::closed(from, from + TimeDelta::minutes(len))
            })
            .collect();
        let plain = cal().add_working_minutes(start, minutes).expect("computes");
        let paused = cal()
            .add_working_minutes_excluding(start, minutes, &pauses)
            .expect("computes")
            .expect("every pause has ended");
        prop_assert!(paused.at >= plain.at);
        let counted = cal()
            .working_time_between_excluding(start, paused.at, &pauses)
            .expect("computes");
        prop_assert_eq!(counted.duration, TimeDelta::minutes(i64::from(minutes)));
        // The shift is exactly the working time paused before the new deadline.
        let shift = cal().working_time_between(plain.at, paused.at).expect("computes");
        let total = cal().working_time_between(start, paused.at).expect("computes");
        prop_assert_eq!(shift.duration, total.duration - counted.duration);
    }
}
