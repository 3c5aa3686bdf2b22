//! What one case's facts add to the daily roll-ups: one row of counters, at most two
//! duration buckets, and a report on its QR code. A changed fact takes back what it
//! added and adds anew.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::fold::CaseFact;

/// The counters of `analytics.daily_rollups`, in column order.
pub const COUNTERS: [&str; 17] = [
    "reports",
    "qr_reports",
    "invalid",
    "returned",
    "valid",
    "responded",
    "responded_on_time",
    "resolved",
    "resolved_on_time",
    "resolved_late",
    "resolved_low",
    "resolved_ever",
    "answered",
    "answered_resolved",
    "answered_satisfied",
    "reopened",
    "escalated",
];

/// The dimensions of a roll-up row; the nil uuid stands for "none".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    /// Local day of submission.
    pub day: NaiveDate,
    /// The case's grid.
    pub grid_node_id: Uuid,
    /// The grid's village.
    pub village_node_id: Uuid,
    /// Category code.
    pub category: String,
    /// The handler.
    pub handler_id: Uuid,
}

/// Which duration a histogram measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    /// Submission to first response.
    FirstResponse = 1,
    /// Submission to the latest resolution.
    Resolution = 2,
}

impl Measure {
    /// The stored number.
    pub fn code(self) -> i16 {
        self as i16
    }
}

/// What one fact adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// Where it adds.
    pub key: RollupKey,
    /// One value per [`COUNTERS`] entry (each 0 or 1).
    pub counters: [i64; COUNTERS.len()],
    /// Duration buckets it falls in.
    pub durations: Vec<(Measure, i16)>,
    /// The QR code and day its report counts on, for reports through a code.
    pub qr: Option<(Uuid, NaiveDate, Uuid)>,
}

/// The duration histogram's bucket of a span: whole minutes (rounded up) below two
/// hours, 15 minutes below two days, 6 hours below 60 days, then one last bucket.
pub fn bucket(from: DateTime<Utc>, to: DateTime<Utc>) -> i16 {
    let seconds = (to - from).num_seconds().max(0);
    let minutes = (seconds + 59) / 60;
    let idx = if minutes <= 120 {
        minutes
    } else if minutes <= 2880 {
        120 + (minutes - 120 + 14) / 15
    } else if minutes <= 86_400 {
        304 + (minutes - 2880 + 359) / 360
    } else {
        537
    };
    i16::try_from(idx).unwrap_or(537)
}

/// The upper bound, in minutes, of a bucket (the value a percentile reports).
pub fn bucket_minutes(bucket: i16) -> i64 {
    let b = i64::from(bucket);
    if b <= 120 {
        b
    } else if b <= 304 {
        120 + (b - 120) * 15
    } else {
        2880 + (b - 304) * 360
    }
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn or_nil(id: Option<Uuid>) -> Uuid {
    id.unwrap_or(Uuid::nil())
}

/// What `fact` adds to the roll-ups.
pub fn contribution(fact: &CaseFact) -> Contribution {
    let valid = fact.valid();
    let responded = valid && fact.first_responded_at.is_some();
    let resolved = fact.resolved_now();
    let on_time = fact.resolved_on_time().unwrap_or(false);
    let answer = fact.answer.as_ref().filter(|_| valid);
    let counters = [
        1,
        flag(fact.channel == "qr"),
        flag(!valid),
        flag(fact.returns > 0),
        flag(valid),
        flag(responded),
        flag(responded && fact.responded_on_time().unwrap_or(false)),
        flag(resolved),
        flag(resolved && on_time),
        flag(resolved && !on_time),
        flag(resolved && fact.resolved_level.is_some_and(|l| l.in_village())),
        flag(valid && fact.first_resolved_at.is_some()),
        flag(answer.is_some()),
        flag(answer.is_some_and(|a| a.resolved)),
        flag(answer.is_some_and(|a| a.satisfied())),
        flag(valid && fact.reopenings > 0),
        flag(valid && fact.escalations > 0),
    ];
    let mut durations = Vec::new();
    if responded && let Some(at) = fact.first_responded_at {
        durations.push((Measure::FirstResponse, bucket(fact.submitted_at, at)));
    }
    if resolved && let Some(at) = fact.resolved_at {
        durations.push((Measure::Resolution, bucket(fact.submitted_at, at)));
    }
    let qr = fact
        .qr_code_id
        .map(|code| (code, fact.submitted_day, or_nil(fact.grid_node_id)));
    Contribution {
        key: RollupKey {
            day: fact.submitted_day,
            grid_node_id: or_nil(fact.grid_node_id),
            village_node_id: or_nil(fact.village_node_id),
            category: fact.category.clone(),
            handler_id: or_nil(fact.handler_id),
        },
        counters,
        durations,
        qr,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn buckets_are_exact_minutes_below_two_hours_and_bounded_beyond() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .expect("a time");
        for (span, minutes) in [
            (Duration::seconds(0), 0),
            (Duration::seconds(1), 1),
            (Duration::minutes(30), 30),
            (Duration::minutes(31), 31),
            (Duration::minutes(120), 120),
            (Duration::minutes(121), 135),
            (Duration::hours(48), 2880),
            (Duration::hours(49), 3240),
            (Duration::days(59), 59 * 1440),
        ] {
            let b = bucket(t0, t0 + span);
            assert_eq!(bucket_minutes(b), minutes, "{span}");
            assert!(
                bucket_minutes(b) * 60 >= span.num_seconds(),
                "an upper bound"
            );
        }
        assert_eq!(bucket(t0, t0 + Duration::days(400)), 537);
        assert_eq!(bucket(t0 + Duration::minutes(5), t0), 0, "never negative");
    }
}
