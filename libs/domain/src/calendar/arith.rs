//! Business-time arithmetic on a working calendar: adding working time to an instant,
//! measuring the working time between two instants, finding the next working instant.
//!
//! Working time is the union of the calendar's working intervals, each mapped from its
//! local wall-clock times to UTC instants. A local time that does not exist (inside a
//! daylight-saving gap) maps to the instant the gap ends; one that exists twice (in an
//! overlap) maps to its first occurrence. So an interval spanning a gap is shorter and
//! one spanning an overlap is longer, as the hours actually worked are.
//!
//! The computation steps interval by interval and day by day, never minute by minute,
//! and gives up with [`CalendarError::BeyondHorizon`] after [`SEARCH_HORIZON_DAYS`]
//! days instead of looping.

use std::ops::ControlFlow;

use chrono::{DateTime, MappedLocalTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};

use super::hours::MINUTES_PER_DAY;
use super::{CalendarError, Deadline, WorkingCalendar, WorkingTime};

/// How many local days a computation may look at before giving up (about ten years).
pub const SEARCH_HORIZON_DAYS: u32 = 3660;

impl WorkingCalendar {
    /// The instant at which `amount` of working time has passed since `start`. When the
    /// amount is used up exactly at the end of a working interval, the deadline is that
    /// end (Friday 18:00), not the start of the next interval (Monday 08:30). A zero or
    /// negative amount gives `start`.
    pub fn add_working_time(
        &self,
        start: DateTime<Utc>,
        amount: TimeDelta,
    ) -> Result<Deadline, CalendarError> {
        if amount <= TimeDelta::zero() {
            return Ok(Deadline {
                at: start,
                provisional: false,
            });
        }
        let mut remaining = amount;
        let mut at = start;
        let provisional = self.walk(start, None, |s, e| {
            let available = e - s;
            if available >= remaining {
                at = s + remaining;
                ControlFlow::Break(())
            } else {
                remaining -= available;
                ControlFlow::Continue(())
            }
        })?;
        Ok(Deadline { at, provisional })
    }

    /// [`add_working_time`](Self::add_working_time) in whole minutes.
    pub fn add_working_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: u32,
    ) -> Result<Deadline, CalendarError> {
        self.add_working_time(start, TimeDelta::minutes(i64::from(minutes)))
    }

    /// The working time between two instants; negative when `b` is before `a`, so
    /// measuring is additive over split ranges in either direction.
    pub fn working_time_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<WorkingTime, CalendarError> {
        if b < a {
            let forward = self.working_time_between(b, a)?;
            return Ok(WorkingTime {
                duration: -forward.duration,
                provisional: forward.provisional,
            });
        }
        let mut total = TimeDelta::zero();
        let last = self.local_date(b);
        let provisional = self.walk(a, Some(last), |s, e| {
            if s >= b {
                return ControlFlow::Break(());
            }
            total += e.min(b) - s;
            ControlFlow::Continue(())
        })?;
        Ok(WorkingTime {
            duration: total,
            provisional,
        })
    }

    /// [`working_time_between`](Self::working_time_between) in whole minutes, truncated
    /// toward zero.
    pub fn working_minutes_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        Ok(self.working_time_between(a, b)?.duration.num_minutes())
    }

    /// `t` itself when it is working time, otherwise the start of the next working
    /// interval: when a non-urgent reminder may go out.
    pub fn next_working_instant(&self, t: DateTime<Utc>) -> Result<Deadline, CalendarError> {
        let mut at = t;
        let provisional = self.walk(t, None, |s, _| {
            at = s;
            ControlFlow::Break(())
        })?;
        Ok(Deadline { at, provisional })
    }

    /// Whether `t` lies in a working interval (start included, end excluded). In a year
    /// whose official schedule is not published this answers from the weekly schedule.
    pub fn is_working_instant(&self, t: DateTime<Utc>) -> bool {
        let date = self.local_date(t);
        [date.pred_opt(), Some(date)]
            .into_iter()
            .flatten()
            .any(|day| {
                self.hours_on(day).hours.intervals().iter().any(|i| {
                    let span = (
                        self.local_instant(day, i.start_minute()),
                        self.local_instant(day, i.end_minute()),
                    );
                    matches!(span, (Ok(s), Ok(e)) if s <= t && t < e)
                })
            })
    }

    /// The local date of an instant in the calendar's zone.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.zone).date_naive()
    }

    /// Visits the working spans `[s, e)` at or after `from`, in order (the first one
    /// clipped to start at `from`), until the visitor breaks, the local date passes
    /// `last`, or the horizon is reached. Returns whether any day from `from`'s local
    /// date on that was looked at lies in an unpublished year.
    fn walk(
        &self,
        from: DateTime<Utc>,
        last: Option<NaiveDate>,
        mut visit: impl FnMut(DateTime<Utc>, DateTime<Utc>) -> ControlFlow<()>,
    ) -> Result<bool, CalendarError> {
        let first = self.local_date(from);
        // The previous local day is looked at too, in case a zone's clock change puts
        // part of its hours after `from`; it counts for provisionality only if used.
        let mut date = first.pred_opt().ok_or(CalendarError::OutOfRange)?;
        let mut provisional = false;
        for _ in 0..SEARCH_HORIZON_DAYS {
            if last.is_some_and(|l| date > l) {
                return Ok(provisional);
            }
            let plan = self.hours_on(date);
            if plan.provisional && date >= first {
                provisional = true;
            }
            for interval in plan.hours.intervals() {
                let end = self.local_instant(date, interval.end_minute())?;
                if end <= from {
                    continue;
                }
                let start = self.local_instant(date, interval.start_minute())?.max(from);
                if start >= end {
                    continue;
                }
                provisional |= plan.provisional;
                if visit(start, end).is_break() {
                    return Ok(provisional);
                }
            }
            date = date.succ_opt().ok_or(CalendarError::OutOfRange)?;
        }
        Err(CalendarError::BeyondHorizon(SEARCH_HORIZON_DAYS))
    }

    /// The UTC instant of a local date and minute of the day (1440 = next midnight).
    fn local_instant(&self, date: NaiveDate, minute: u16) -> Result<DateTime<Utc>, CalendarError> {
        let (day, minute) = if minute >= MINUTES_PER_DAY {
            let next = date.succ_opt().ok_or(CalendarError::OutOfRange)?;
            (next, minute - MINUTES_PER_DAY)
        } else {
            (date, minute)
        };
        let local = day
            .and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
            .ok_or(CalendarError::OutOfRange)?;
        match self.zone.from_local_datetime(&local) {
            MappedLocalTime::Single(t) | MappedLocalTime::Ambiguous(t, _) => Ok(t.to_utc()),
            MappedLocalTime::None => self.end_of_gap(local),
        }
    }

    /// The instant a daylight-saving gap containing `local` ends: the first local minute
    /// after it that exists. Gaps are whole minutes and at most a day long (Samoa skipped
    /// 30 December 2011), so the search is bounded.
    fn end_of_gap(&self, local: NaiveDateTime) -> Result<DateTime<Utc>, CalendarError> {
        let mut probe = local;
        for _ in 0..2 * u32::from(MINUTES_PER_DAY) {
            probe = probe
                .checked_add_signed(TimeDelta::minutes(1))
                .ok_or(CalendarError::OutOfRange)?;
            if let MappedLocalTime::Single(t) | MappedLocalTime::Ambiguous(t, _) =
                self.zone.from_local_datetime(&probe)
            {
                return Ok(t.to_utc());
            }
        }
        Err(CalendarError::OutOfRange)
    }
}
