//! A tenant's working calendar: its time zone, weekly working hours, dated overrides
//! (holidays and 调休 make-up working days) and which years' official schedules are
//! published; and business-time arithmetic on it (`arith`, `pauses`).
//!
//! Day boundaries and working hours are local to the calendar's zone. A day in a year
//! whose official schedule is not published is computed on the plain weekly schedule
//! (plus any override the tenant entered for it), and every result that depends on
//! such a day is marked provisional.

mod arith;
mod holidays;
mod hours;
pub(crate) mod pauses;

#[cfg(test)]
mod dst_zone_tests;
#[cfg(test)]
mod holiday_fuzz_tests;
#[cfg(test)]
mod official_dates_tests;
#[cfg(test)]
mod property_tests;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use arith::SEARCH_HORIZON_DAYS;
pub use holidays::{
    DayOverride, HolidayImportError, MAX_DAY_NAME_CHARS, OfficialSchedule, OverrideKind,
    SEED_FILES, import_holiday_cn, seed_schedules,
};
pub use hours::{DayHours, HoursError, MINUTES_PER_DAY, WeeklyHours, WorkInterval};
pub use pauses::Pause;

/// Why a calendar could not be built or a computation could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The weekly schedule has no working hours at all, so no deadline could ever fall.
    #[error("the weekly schedule has no working hours")]
    NoWorkingHours,
    /// The zone is not an IANA time-zone name.
    #[error("{0:?} is not an IANA time zone")]
    UnknownZone(String),
    /// No working time was found within the search horizon (about ten years).
    #[error("no working time within {0} days")]
    BeyondHorizon(u32),
    /// The computation ran past the range of representable dates.
    #[error("date out of range")]
    OutOfRange,
    /// A pause ends before it starts.
    #[error("a pause ends before it starts")]
    ReversedPause,
}

/// An instant computed on a calendar, and whether it rests on a year whose official
/// schedule is not published (so it may move once the schedule is known).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The instant.
    pub at: DateTime<Utc>,
    /// True when a day of an unpublished year lay between the start and `at`.
    pub provisional: bool,
}

/// An amount of working time measured on a calendar, and whether it is provisional.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingTime {
    /// The working time (negative when measured backwards).
    pub duration: TimeDelta,
    /// True when a day of an unpublished year lay in the measured range.
    pub provisional: bool,
}

/// Where a day's hours come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaySource {
    /// The weekly schedule.
    Weekly,
    /// A dated override: a holiday.
    Holiday,
    /// A dated override: a working day (make-up day or special hours).
    WorkingOverride,
}

/// The working hours that apply on one local date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayPlan<'a> {
    /// The hours (empty on a day off).
    pub hours: &'a DayHours,
    /// Where they come from.
    pub source: DaySource,
    /// The date's year has no published official schedule.
    pub provisional: bool,
}

/// A tenant's working calendar. Built valid: the weekly schedule has working hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredCalendar", into = "StoredCalendar")]
pub struct WorkingCalendar {
    zone: Tz,
    weekly: WeeklyHours,
    standard_day: DayHours,
    overrides: BTreeMap<NaiveDate, DayOverride>,
    published_years: BTreeSet<i32>,
}

static OFF: DayHours = DayHours::off();

impl WorkingCalendar {
    /// A calendar with a weekly schedule, no overrides and no published year.
    pub fn new(zone: Tz, weekly: WeeklyHours) -> Result<Self, CalendarError> {
        let standard_day = weekly
            .standard_day()
            .cloned()
            .ok_or(CalendarError::NoWorkingHours)?;
        Ok(Self {
            zone,
            weekly,
            standard_day,
            overrides: BTreeMap::new(),
            published_years: BTreeSet::new(),
        })
    }

    /// The default for a new tenant: the standard week (Monday to Friday, 08:30–12:00
    /// and 14:30–18:00) with the embedded official schedules applied (2024–2026
    /// published; 2027 not yet).
    pub fn china_official(zone: Tz) -> Self {
        let mut calendar = Self {
            zone,
            standard_day: WeeklyHours::standard()
                .standard_day()
                .cloned()
                .unwrap_or_else(|| unreachable!("the standard week has working hours")),
            weekly: WeeklyHours::standard(),
            overrides: BTreeMap::new(),
            published_years: BTreeSet::new(),
        };
        for schedule in seed_schedules() {
            calendar.apply_official(&schedule);
        }
        calendar
    }

    /// The calendar's time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The plain weekly schedule.
    pub fn weekly(&self) -> &WeeklyHours {
        &self.weekly
    }

    /// The hours of the standard working day (see [`WeeklyHours::standard_day`]).
    pub fn standard_day(&self) -> &DayHours {
        &self.standard_day
    }

    /// The length of one working day in minutes: "N working days" is N times this.
    pub fn standard_day_minutes(&self) -> u32 {
        self.standard_day.minutes()
    }

    /// Sets (or replaces) the override of a date.
    pub fn set_override(&mut self, date: NaiveDate, day: DayOverride) {
        self.overrides.insert(date, day);
    }

    /// Removes the override of a date, returning it.
    pub fn remove_override(&mut self, date: NaiveDate) -> Option<DayOverride> {
        self.overrides.remove(&date)
    }

    /// The dated overrides, in date order.
    pub fn overrides(&self) -> impl Iterator<Item = (&NaiveDate, &DayOverride)> {
        self.overrides.iter()
    }

    /// Marks a year's official schedule as published (or not).
    pub fn set_published(&mut self, year: i32, published: bool) {
        if published {
            self.published_years.insert(year);
        } else {
            self.published_years.remove(&year);
        }
    }

    /// Whether a year's official schedule is published.
    pub fn is_published(&self, year: i32) -> bool {
        self.published_years.contains(&year)
    }

    /// The years whose official schedule is published.
    pub fn published_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.published_years.iter().copied()
    }

    /// Adds an official schedule: its days replace overrides on the same dates, and its
    /// year is marked published when the schedule is.
    pub fn apply_official(&mut self, schedule: &OfficialSchedule) {
        for (date, day) in &schedule.days {
            self.overrides.insert(*date, day.clone());
        }
        if schedule.published {
            self.published_years.insert(schedule.year);
        }
    }

    /// The hours that apply on a local date.
    pub fn hours_on(&self, date: NaiveDate) -> DayPlan<'_> {
        let provisional = !self.published_years.contains(&date.year());
        let (hours, source) = match self.overrides.get(&date) {
            Some(DayOverride {
                kind: OverrideKind::Off,
                ..
            }) => (&OFF, DaySource::Holiday),
            Some(DayOverride {
                kind: OverrideKind::Working { hours },
                ..
            }) => (
                hours.as_ref().unwrap_or(&self.standard_day),
                DaySource::WorkingOverride,
            ),
            None => (self.weekly.on(date.weekday()), DaySource::Weekly),
        };
        DayPlan {
            hours,
            source,
            provisional,
        }
    }
}

/// The stored (JSON) form of a calendar; validated when read back.
#[derive(Serialize, Deserialize)]
struct StoredCalendar {
    zone: String,
    weekly: WeeklyHours,
    #[serde(default)]
    overrides: BTreeMap<NaiveDate, DayOverride>,
    #[serde(default)]
    published_years: BTreeSet<i32>,
}

impl TryFrom<StoredCalendar> for WorkingCalendar {
    type Error = CalendarError;
    fn try_from(stored: StoredCalendar) -> Result<Self, Self::Error> {
        let zone: Tz = stored
            .zone
            .parse()
            .map_err(|_| CalendarError::UnknownZone(stored.zone.clone()))?;
        let mut calendar = Self::new(zone, stored.weekly)?;
        calendar.overrides = stored.overrides;
        calendar.published_years = stored.published_years;
        Ok(calendar)
    }
}

impl From<WorkingCalendar> for StoredCalendar {
    fn from(calendar: WorkingCalendar) -> Self {
        Self {
            zone: calendar.zone.name().to_owned(),
            weekly: calendar.weekly,
            overrides: calendar.overrides,
            published_years: calendar.published_years,
        }
    }
}
