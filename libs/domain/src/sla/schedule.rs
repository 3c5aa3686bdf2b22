//! Timer points of a target (reminders and the breach), and a target's clock with its
//! pauses, from which the points are recomputed after a pause, a resume or a reopening.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::policy::{Clock, SlaPolicy, SlaTarget, TargetKind};
use crate::calendar::pauses::{WallClock, advance_excluding, measure_excluding};
use crate::calendar::{CalendarError, Pause, WorkingCalendar, WorkingTime};

/// Why a schedule could not be computed or a clock could not change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// The calendar arithmetic failed.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// Pausing a clock that is already paused.
    #[error("the clock is already paused")]
    AlreadyPaused,
    /// Resuming a clock that is running.
    #[error("the clock is not paused")]
    NotPaused,
    /// A change dated before the clock's previous change.
    #[error("a clock change cannot be dated before the previous one")]
    OutOfOrder,
}

/// What a timer point does when it falls due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// 催办: a reminder at this percentage of the target.
    Reminder(u8),
    /// The target is missed: escalate.
    Breach,
}

impl TimerKind {
    /// The stored name: `reminder_50`, `breach`.
    pub fn name(self) -> String {
        match self {
            Self::Reminder(p) => format!("reminder_{p}"),
            Self::Breach => "breach".to_owned(),
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw == "breach" {
            return Some(Self::Breach);
        }
        let p: u8 = raw.strip_prefix("reminder_")?.parse().ok()?;
        (1..=99).contains(&p).then_some(Self::Reminder(p))
    }
}

/// One point at which the routing service must act: a row of its timers table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerPoint {
    /// Reminder or breach.
    pub kind: TimerKind,
    /// When it falls due.
    pub due: DateTime<Utc>,
    /// Computed on a year whose official schedule is not published: recompute when it is.
    pub provisional: bool,
}

/// The timer points of a target started at `start`: one per reminder percentage, then
/// the breach, in order. Paused time does not count (see [`Pause`]). Points that an
/// open pause (the clock is stopped now) holds back are left out: compute them again
/// when the clock resumes.
pub fn schedule(
    target: &SlaTarget,
    calendar: &WorkingCalendar,
    start: DateTime<Utc>,
    pauses: &[Pause],
) -> Result<Vec<TimerPoint>, SlaError> {
    let amount = target.length.amount(calendar);
    let millis = amount.num_milliseconds();
    let mut points = Vec::with_capacity(target.reminders.percents().len() + 1);
    let reminders = target
        .reminders
        .percents()
        .iter()
        .map(|&p| (TimerKind::Reminder(p), millis * i64::from(p) / 100));
    for (kind, ms) in reminders.chain([(TimerKind::Breach, millis)]) {
        let offset = TimeDelta::milliseconds(ms);
        let due = match target.length.clock() {
            Clock::WallClock => advance_excluding(&WallClock, start, offset, pauses)?,
            Clock::WorkingTime => advance_excluding(calendar, start, offset, pauses)?,
        };
        if let Some(d) = due {
            points.push(TimerPoint {
                kind,
                due: d.at,
                provisional: d.provisional,
            });
        }
    }
    Ok(points)
}

/// The clock of one target of one case: when it started and when it was paused.
/// Stored with the case; pausing, resuming and restarting it and then calling
/// [`schedule`](TargetClock::schedule) gives the new timer rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetClock {
    /// Which target.
    pub target: TargetKind,
    /// When it started (creation, resolution, or the last reopening).
    pub started_at: DateTime<Utc>,
    /// Its pauses, in order; only the last may be open.
    #[serde(default)]
    pub pauses: Vec<Pause>,
}

impl TargetClock {
    /// A clock started at `at`.
    pub fn start(target: TargetKind, at: DateTime<Utc>) -> Self {
        Self {
            target,
            started_at: at,
            pauses: Vec::new(),
        }
    }

    /// Whether the clock is stopped now.
    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(Pause::is_open)
    }

    /// Stops the clock at `at` (the case waits on the citizen).
    pub fn pause(&mut self, at: DateTime<Utc>) -> Result<(), SlaError> {
        if self.is_paused() {
            return Err(SlaError::AlreadyPaused);
        }
        if at < self.last_change() {
            return Err(SlaError::OutOfOrder);
        }
        self.pauses.push(Pause::open(at));
        Ok(())
    }

    /// Starts the clock again at `at`; deadlines move by the paused (working) time.
    pub fn resume(&mut self, at: DateTime<Utc>) -> Result<(), SlaError> {
        match self.pauses.last_mut() {
            Some(p) if p.until.is_none() => {
                if at < p.from {
                    return Err(SlaError::OutOfOrder);
                }
                p.until = Some(at);
                Ok(())
            }
            _ => Err(SlaError::NotPaused),
        }
    }

    /// Starts the target afresh at `at` (a reopened case gets a new resolution target),
    /// forgetting earlier pauses.
    pub fn restart(&mut self, at: DateTime<Utc>) {
        self.started_at = at;
        self.pauses.clear();
    }

    /// The timer points of this clock under a policy.
    pub fn schedule(
        &self,
        policy: &SlaPolicy,
        calendar: &WorkingCalendar,
    ) -> Result<Vec<TimerPoint>, SlaError> {
        schedule(
            policy.target(self.target),
            calendar,
            self.started_at,
            &self.pauses,
        )
    }

    /// The time counted against the target from its start until `now`, paused time left
    /// out (on the target's clock).
    pub fn counted(
        &self,
        policy: &SlaPolicy,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<WorkingTime, SlaError> {
        let counted = match policy.target(self.target).length.clock() {
            Clock::WallClock => measure_excluding(&WallClock, self.started_at, now, &self.pauses)?,
            Clock::WorkingTime => measure_excluding(calendar, self.started_at, now, &self.pauses)?,
        };
        Ok(counted)
    }

    fn last_change(&self) -> DateTime<Utc> {
        self.pauses
            .last()
            .and_then(|p| p.until)
            .unwrap_or(self.started_at)
    }
}
