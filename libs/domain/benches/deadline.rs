//! Deadline arithmetic speed on the seeded official calendar: random starts across 2026,
//! a 3-working-day resolution target, one pause each. Prints the mean time per deadline
//! against the target (under 10 µs); it measures, it does not assert.
//!
//! Run with `cargo bench -p mashang-domain`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mashang_domain::calendar::{Pause, WorkingCalendar};
use mashang_domain::sla::{SlaPolicy, schedule};

const DEADLINES: usize = 200_000;
const TARGET_MICROS: f64 = 10.0;

/// xorshift64*: a small, seeded generator, so every run times the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: i64) -> i64 {
        let n = u64::try_from(n).unwrap_or(1).max(1);
        i64::try_from(self.next() % n).unwrap_or(0)
    }
}

struct Input {
    start: DateTime<Utc>,
    pause: Pause,
}

fn inputs(count: usize) -> Vec<Input> {
    let Some(year_start) = Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0).single() else {
        unreachable!("2026-01-01 00:00 Shanghai is a valid instant");
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..count)
        .map(|_| {
            let start = year_start + TimeDelta::seconds(rng.below(365 * 86_400));
            // Paused some time in the first two days, for up to a day and a half.
            let from = start + TimeDelta::minutes(rng.below(2 * 1440));
            let until = from + TimeDelta::minutes(1 + rng.below(36 * 60));
            Input {
                start,
                pause: Pause::closed(from, until),
            }
        })
        .collect()
}

fn report(label: &str, count: usize, elapsed: Duration, failures: usize) {
    let micros = elapsed.as_secs_f64() * 1e6 / count as f64;
    let verdict = if micros < TARGET_MICROS {
        "within"
    } else {
        "OVER"
    };
    println!(
        "  {label:<48} {micros:>7.3} µs per deadline  ({count} in {:.3} s; {verdict} the {TARGET_MICROS} µs target{})",
        elapsed.as_secs_f64(),
        if failures > 0 {
            format!("; {failures} errors")
        } else {
            String::new()
        },
    );
}

fn main() {
    let calendar = WorkingCalendar::china_official(chrono_tz::Asia::Shanghai);
    let policy = SlaPolicy::standard();
    let minutes = 3 * calendar.standard_day_minutes();
    let inputs = inputs(DEADLINES);
    println!(
        "deadline benchmark: Asia/Shanghai official calendar, random starts across 2026, \
         resolution {minutes} working minutes (3 working days)"
    );

    // Warm up caches and branch predictors on a slice of the inputs.
    for input in inputs.iter().take(10_000) {
        black_box(
            calendar
                .add_working_minutes_excluding(input.start, minutes, &[input.pause])
                .ok(),
        );
    }

    let mut failures = 0;
    let began = Instant::now();
    for input in &inputs {
        let due = calendar.add_working_minutes_excluding(
            black_box(input.start),
            black_box(minutes),
            black_box(std::slice::from_ref(&input.pause)),
        );
        failures += usize::from(!matches!(due, Ok(Some(_))));
        black_box(due.ok());
    }
    report(
        "deadline with one pause",
        inputs.len(),
        began.elapsed(),
        failures,
    );

    let mut failures = 0;
    let began = Instant::now();
    for input in &inputs {
        let due = calendar.add_working_minutes(black_box(input.start), black_box(minutes));
        failures += usize::from(due.is_err());
        black_box(due.ok());
    }
    report(
        "deadline without pause",
        inputs.len(),
        began.elapsed(),
        failures,
    );

    let mut failures = 0;
    let began = Instant::now();
    for input in &inputs {
        let points = schedule(
            &policy.resolution,
            &calendar,
            black_box(input.start),
            std::slice::from_ref(&input.pause),
        );
        failures += usize::from(!matches!(&points, Ok(p) if p.len() == 3));
        black_box(points.ok());
    }
    report(
        "sla::schedule (50 %, 80 %, breach), one pause",
        inputs.len(),
        began.elapsed(),
        failures,
    );
}
