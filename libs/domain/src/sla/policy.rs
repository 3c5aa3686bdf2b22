//! SLA policies: the three targets of a case, how long each runs and on which clock,
//! and when reminders go out. Stored as a JSON snapshot on each case.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::calendar::WorkingCalendar;

/// The three targets a case is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// 响应: the call back to the citizen, counted from the case's creation.
    FirstResponse,
    /// 办结: measures recorded, counted from the creation (or from a reopening).
    Resolution,
    /// 回访: the outcome checked with the citizen, counted from the resolution.
    FollowUp,
}

impl TargetKind {
    /// Every target.
    pub const ALL: [TargetKind; 3] = [Self::FirstResponse, Self::Resolution, Self::FollowUp];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::Resolution => "resolution",
            Self::FollowUp => "follow_up",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The Chinese name shown to staff.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::FirstResponse => "响应",
            Self::Resolution => "办结",
            Self::FollowUp => "回访",
        }
    }
}

/// Which clock a target runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Elapsed time, nights and holidays included.
    WallClock,
    /// The tenant's working calendar.
    WorkingTime,
}

/// How long a target runs, and on which clock.
///
/// "N working days" is N times the calendar's standard working day
/// ([`WorkingCalendar::standard_day_minutes`]) of working time: with 08:30–12:00 and
/// 14:30–18:00 (420 minutes), 3 working days are 1260 working minutes, so a case
/// submitted on Tuesday at 10:00 of a plain week is due on Friday at 10:00, and one
/// submitted at night counts from the next morning's opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetLength {
    /// Minutes of wall-clock time.
    WallMinutes(u32),
    /// Minutes of working time.
    WorkingMinutes(u32),
    /// Working days of working time (N × the standard working day).
    WorkingDays(u32),
}

impl TargetLength {
    /// The clock the target runs on.
    pub fn clock(self) -> Clock {
        match self {
            Self::WallMinutes(_) => Clock::WallClock,
            Self::WorkingMinutes(_) | Self::WorkingDays(_) => Clock::WorkingTime,
        }
    }

    /// Whether the length is one a township may set: at least one unit, at most
    /// [`MAX_TARGET_MINUTES`] minutes or [`MAX_TARGET_WORKING_DAYS`] working days.
    pub fn check(self) -> Result<(), LengthError> {
        let (amount, max) = match self {
            Self::WallMinutes(m) | Self::WorkingMinutes(m) => (m, MAX_TARGET_MINUTES),
            Self::WorkingDays(d) => (d, MAX_TARGET_WORKING_DAYS),
        };
        match amount {
            0 => Err(LengthError::Zero),
            a if a > max => Err(LengthError::TooLong),
            _ => Ok(()),
        }
    }

    /// The amount of (wall-clock or working) time, on this calendar.
    pub fn amount(self, calendar: &WorkingCalendar) -> TimeDelta {
        let minutes = match self {
            Self::WallMinutes(m) | Self::WorkingMinutes(m) => i64::from(m),
            Self::WorkingDays(d) => i64::from(d) * i64::from(calendar.standard_day_minutes()),
        };
        TimeDelta::minutes(minutes)
    }
}

/// The longest target in minutes (wall-clock or working): 366 days of 24 hours.
pub const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

/// The longest target in working days: about a year of them.
pub const MAX_TARGET_WORKING_DAYS: u32 = 250;

/// Why a target's length was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LengthError {
    /// A target of no time at all would be missed the moment a case arrives.
    #[error("a target lasts at least one minute or one working day")]
    Zero,
    /// Longer than a year.
    #[error(
        "a target lasts at most {MAX_TARGET_MINUTES} minutes or {MAX_TARGET_WORKING_DAYS} working days"
    )]
    TooLong,
}

/// Why reminder points were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReminderError {
    /// A point outside 1–99 %.
    #[error("a reminder point is between 1 and 99 percent")]
    OutOfRange,
    /// Points not strictly increasing.
    #[error("reminder points must be strictly increasing")]
    Unordered,
    /// More than five points.
    #[error("at most {MAX_REMINDERS} reminder points")]
    TooMany,
}

/// The most reminder points a target may have.
pub const MAX_REMINDERS: usize = 5;

/// When reminders go out, in percent of the target (strictly increasing, 1–99).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<u8>", into = "Vec<u8>")]
pub struct ReminderPoints(Vec<u8>);

impl ReminderPoints {
    /// Validates a list of percentages.
    pub fn new(points: Vec<u8>) -> Result<Self, ReminderError> {
        if points.len() > MAX_REMINDERS {
            return Err(ReminderError::TooMany);
        }
        if points.iter().any(|p| !(1..=99).contains(p)) {
            return Err(ReminderError::OutOfRange);
        }
        if points.windows(2).any(|w| w[1] <= w[0]) {
            return Err(ReminderError::Unordered);
        }
        Ok(Self(points))
    }

    /// No reminders.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// The percentages, in order.
    pub fn percents(&self) -> &[u8] {
        &self.0
    }
}

impl Default for ReminderPoints {
    /// 50 % and 80 %.
    fn default() -> Self {
        Self(vec![50, 80])
    }
}

impl TryFrom<Vec<u8>> for ReminderPoints {
    type Error = ReminderError;
    fn try_from(value: Vec<u8>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ReminderPoints> for Vec<u8> {
    fn from(value: ReminderPoints) -> Self {
        value.0
    }
}

/// One target: its length (and clock) and its reminder points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTarget {
    /// How long it runs.
    pub length: TargetLength,
    /// When reminders go out (default 50 % and 80 %).
    #[serde(default)]
    pub reminders: ReminderPoints,
}

impl SlaTarget {
    /// A target with the default reminders.
    pub fn new(length: TargetLength) -> Self {
        Self {
            length,
            reminders: ReminderPoints::default(),
        }
    }
}

/// A tenant's SLA policy for a category and priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// The call back to the citizen.
    pub first_response: SlaTarget,
    /// Recording the measures taken.
    pub resolution: SlaTarget,
    /// Checking the outcome with the citizen, after resolution.
    pub follow_up: SlaTarget,
}

impl SlaPolicy {
    /// The default: first response in 30 minutes (wall clock), resolution in 3 working
    /// days, follow-up within 2 working days of the resolution; reminders at 50 % and 80 %.
    pub fn standard() -> Self {
        Self {
            first_response: SlaTarget::new(TargetLength::WallMinutes(30)),
            resolution: SlaTarget::new(TargetLength::WorkingDays(3)),
            follow_up: SlaTarget::new(TargetLength::WorkingDays(2)),
        }
    }

    /// The urgent default: first response in 15 minutes and resolution in 24 hours (both
    /// wall clock), follow-up within 1 working day.
    pub fn urgent() -> Self {
        Self {
            first_response: SlaTarget::new(TargetLength::WallMinutes(15)),
            resolution: SlaTarget::new(TargetLength::WallMinutes(24 * 60)),
            follow_up: SlaTarget::new(TargetLength::WorkingDays(1)),
        }
    }

    /// Each target whose length may not be set ([`TargetLength::check`]).
    pub fn check(&self) -> Result<(), Vec<(TargetKind, LengthError)>> {
        let refused: Vec<_> = TargetKind::ALL
            .into_iter()
            .filter_map(|kind| self.target(kind).length.check().err().map(|e| (kind, e)))
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(refused)
        }
    }

    /// The target of a kind.
    pub fn target(&self, kind: TargetKind) -> &SlaTarget {
        match kind {
            TargetKind::FirstResponse => &self.first_response,
            TargetKind::Resolution => &self.resolution,
            TargetKind::FollowUp => &self.follow_up,
        }
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_lasts_between_one_unit_and_about_a_year() {
        assert_eq!(TargetLength::WallMinutes(0).check(), Err(LengthError::Zero));
        assert_eq!(TargetLength::WorkingDays(0).check(), Err(LengthError::Zero));
        assert_eq!(TargetLength::WallMinutes(1).check(), Ok(()));
        assert_eq!(
            TargetLength::WorkingMinutes(MAX_TARGET_MINUTES).check(),
            Ok(())
        );
        assert_eq!(
            TargetLength::WallMinutes(MAX_TARGET_MINUTES + 1).check(),
            Err(LengthError::TooLong)
        );
        assert_eq!(TargetLength::WorkingDays(250).check(), Ok(()));
        assert_eq!(
            TargetLength::WorkingDays(251).check(),
            Err(LengthError::TooLong)
        );
        assert!(SlaPolicy::standard().check().is_ok());
        assert!(SlaPolicy::urgent().check().is_ok());
    }
}
