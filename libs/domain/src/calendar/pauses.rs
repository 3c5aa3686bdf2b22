//! Pauses of a case's clock (waiting on the citizen) and arithmetic that leaves them out.
//!
//! A list of pauses may be unsorted, may overlap or touch, and its last pause may be
//! open-ended (the clock is stopped now). It is read as the union of its half-open
//! ranges `[from, until)`; an open pause runs to the end of time. A pause that ends
//! before it starts is an error, an empty one (`until == from`) is ignored.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{CalendarError, Deadline, WorkingCalendar, WorkingTime};

/// A range during which the clock was (or is) stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When the clock stopped.
    pub from: DateTime<Utc>,
    /// When it started again; `None` while it is still stopped.
    pub until: Option<DateTime<Utc>>,
}

impl Pause {
    /// A pause that has ended.
    pub fn closed(from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        Self {
            from,
            until: Some(until),
        }
    }

    /// A pause that is still running.
    pub fn open(from: DateTime<Utc>) -> Self {
        Self { from, until: None }
    }

    /// Whether the pause is still running.
    pub fn is_open(&self) -> bool {
        self.until.is_none()
    }
}

impl From<(DateTime<Utc>, DateTime<Utc>)> for Pause {
    fn from((from, until): (DateTime<Utc>, DateTime<Utc>)) -> Self {
        Self::closed(from, until)
    }
}

/// A pause range: its start and its end (`None` while open).
type Range = (DateTime<Utc>, Option<DateTime<Utc>>);

/// Sorted, disjoint, non-touching pauses; `None` as the end means open-ended.
pub(crate) fn normalise(pauses: &[Pause]) -> Result<Vec<Range>, CalendarError> {
    let mut ranges = Vec::with_capacity(pauses.len());
    for p in pauses {
        match p.until {
            Some(u) if u < p.from => return Err(CalendarError::ReversedPause),
            Some(u) if u == p.from => {}
            _ => ranges.push((p.from, p.until)),
        }
    }
    ranges.sort_by_key(|r| r.0);
    let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
    for (from, until) in ranges {
        match merged.last_mut() {
            Some((_, last_until)) if last_until.is_none_or(|u| from <= u) => {
                *last_until = match (*last_until, until) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push((from, until)),
        }
    }
    Ok(merged)
}

/// A way of counting time: the working calendar, or the wall clock.
pub(crate) trait Timeline {
    /// The instant `amount` after `start` (`amount > 0`).
    fn advance(&self, start: DateTime<Utc>, amount: TimeDelta) -> Result<Deadline, CalendarError>;
    /// The time counted between `a` and `b` (`a <= b`).
    fn measure(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<WorkingTime, CalendarError>;
}

impl Timeline for WorkingCalendar {
    fn advance(&self, start: DateTime<Utc>, amount: TimeDelta) -> Result<Deadline, CalendarError> {
        self.add_working_time(start, amount)
    }
    fn measure(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<WorkingTime, CalendarError> {
        self.working_time_between(a, b)
    }
}

/// Plain elapsed time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallClock;

impl Timeline for WallClock {
    fn advance(&self, start: DateTime<Utc>, amount: TimeDelta) -> Result<Deadline, CalendarError> {
        let at = start
            .checked_add_signed(amount.max(TimeDelta::zero()))
            .ok_or(CalendarError::OutOfRange)?;
        Ok(Deadline {
            at,
            provisional: false,
        })
    }
    fn measure(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<WorkingTime, CalendarError> {
        Ok(WorkingTime {
            duration: b - a,
            provisional: false,
        })
    }
}

/// The instant `amount` of counted time after `start`, not counting paused time.
/// `None` when an open pause stops the clock before the amount is used up: there is
/// no deadline until the clock resumes.
pub(crate) fn advance_excluding(
    timeline: &impl Timeline,
    start: DateTime<Utc>,
    amount: TimeDelta,
    pauses: &[Pause],
) -> Result<Option<Deadline>, CalendarError> {
    let mut cursor = start;
    let mut remaining = amount.max(TimeDelta::zero());
    let mut provisional = false;
    for (from, until) in normalise(pauses)? {
        if until.is_some_and(|u| u <= cursor) {
            continue;
        }
        let pause_start = from.max(cursor);
        let candidate = timeline.advance(cursor, remaining)?;
        if candidate.at <= pause_start {
            return Ok(Some(Deadline {
                at: candidate.at,
                provisional: provisional || candidate.provisional,
            }));
        }
        let before = timeline.measure(cursor, pause_start)?;
        provisional |= before.provisional;
        remaining -= before.duration;
        match until {
            Some(u) => cursor = u,
            None => return Ok(None),
        }
    }
    let last = timeline.advance(cursor, remaining)?;
    Ok(Some(Deadline {
        at: last.at,
        provisional: provisional || last.provisional,
    }))
}

/// The counted time between `a` and `b`, less what falls in pauses; negative when `b`
/// is before `a`.
pub(crate) fn measure_excluding(
    timeline: &impl Timeline,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    pauses: &[Pause],
) -> Result<WorkingTime, CalendarError> {
    if b < a {
        let forward = measure_excluding(timeline, b, a, pauses)?;
        return Ok(WorkingTime {
            duration: -forward.duration,
            provisional: forward.provisional,
        });
    }
    let mut total = timeline.measure(a, b)?;
    for (from, until) in normalise(pauses)? {
        let lo = from.max(a);
        let hi = until.map_or(b, |u| u.min(b));
        if lo < hi {
            let paused = timeline.measure(lo, hi)?;
            total.duration -= paused.duration;
            total.provisional |= paused.provisional;
        }
    }
    Ok(total)
}

impl WorkingCalendar {
    /// Like [`add_working_time`](Self::add_working_time), leaving out working time that
    /// falls in `pauses`. `None` when an open pause stops the clock first.
    pub fn add_working_time_excluding(
        &self,
        start: DateTime<Utc>,
        amount: TimeDelta,
        pauses: &[Pause],
    ) -> Result<Option<Deadline>, CalendarError> {
        advance_excluding(self, start, amount, pauses)
    }

    /// [`add_working_time_excluding`](Self::add_working_time_excluding) in whole minutes.
    pub fn add_working_minutes_excluding(
        &self,
        start: DateTime<Utc>,
        minutes: u32,
        pauses: &[Pause],
    ) -> Result<Option<Deadline>, CalendarError> {
        advance_excluding(self, start, TimeDelta::minutes(i64::from(minutes)), pauses)
    }

    /// Like [`working_time_between`](Self::working_time_between), leaving out working
    /// time that falls in `pauses`.
    pub fn working_time_between_excluding(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Result<WorkingTime, CalendarError> {
        measure_excluding(self, a, b, pauses)
    }

    /// [`working_time_between_excluding`](Self::working_time_between_excluding) in whole
    /// minutes, truncated toward zero.
    pub fn working_minutes_between_excluding(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Result<i64, CalendarError> {
        Ok(measure_excluding(self, a, b, pauses)?
            .duration
            .num_minutes())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0)
            .single()
            .expect("valid instant")
    }

    #[test]
    fn pauses_normalise_to_a_sorted_disjoint_union() {
        let merged = normalise(&[
            Pause::closed(t(5), t(6)),
            Pause::closed(t(1), t(3)),
            Pause::closed(t(2), t(4)),
            Pause::closed(t(4), t(4)),
            Pause::closed(t(6), t(7)),
        ])
        .expect("valid pauses");
        assert_eq!(merged, [(t(1), Some(t(4))), (t(5), Some(t(7)))]);
        let open = normalise(&[Pause::open(t(3)), Pause::closed(t(1), t(4))]).expect("valid");
        assert_eq!(open, [(t(1), None)]);
        assert_eq!(
            normalise(&[Pause::closed(t(4), t(3))]),
            Err(CalendarError::ReversedPause)
        );
    }

    #[test]
    fn wall_clock_pauses_shift_the_deadline() {
        let pauses = [Pause::closed(t(2), t(4)), Pause::from((t(3), t(5)))];
        let due = advance_excluding(&WallClock, t(0), TimeDelta::hours(4), &pauses)
            .expect("computes")
            .expect("clock not stopped");
        assert_eq!(due.at, t(7));
        let measured = measure_excluding(&WallClock, t(0), t(7), &pauses).expect("computes");
        assert_eq!(measured.duration, TimeDelta::hours(4));
        let stopped =
            advance_excluding(&WallClock, t(0), TimeDelta::hours(4), &[Pause::open(t(1))]);
        assert_eq!(stopped, Ok(None));
        let before = advance_excluding(&WallClock, t(0), TimeDelta::hours(1), &[Pause::open(t(1))]);
        assert_eq!(before.expect("computes").map(|d| d.at), Some(t(1)));
    }
}
