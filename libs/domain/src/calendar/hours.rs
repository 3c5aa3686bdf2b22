//! Working hours: an interval within a day, one day's hours, a week's hours.
//!
//! Times are local wall-clock times of the calendar's zone, in whole minutes from local
//! midnight; `24:00` (minute 1440) is allowed as an end, so a day can run to midnight.

use std::fmt;

use chrono::Weekday;
use serde::{Deserialize, Serialize};

/// Minutes in a day on the wall clock; the largest allowed interval end.
pub const MINUTES_PER_DAY: u16 = 1440;

/// Why working hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// Not written as `HH:MM-HH:MM`.
    #[error("working hours are written HH:MM-HH:MM, e.g. 08:30-12:00")]
    Format,
    /// A time past 24:00, or minutes past 59.
    #[error("a time of day runs from 00:00 to 24:00")]
    OutOfDay,
    /// The interval ends at or before its start.
    #[error("an interval must end after it starts")]
    Empty,
    /// Intervals are out of order or overlap.
    #[error("intervals must be in order and must not overlap")]
    Overlap,
}

/// One working interval of a day, `[start, end)` in minutes from local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkInterval {
    start: u16,
    end: u16,
}

impl WorkInterval {
    /// An interval from minute `start` to minute `end` (exclusive), `0 <= start < end <= 1440`.
    pub fn new(start: u16, end: u16) -> Result<Self, HoursError> {
        if end > MINUTES_PER_DAY {
            return Err(HoursError::OutOfDay);
        }
        if end <= start {
            return Err(HoursError::Empty);
        }
        Ok(Self { start, end })
    }

    /// Parses `HH:MM-HH:MM` (`08:30-12:00`, `14:30-24:00`).
    pub fn parse(raw: &str) -> Result<Self, HoursError> {
        let (a, b) = raw.trim().split_once('-').ok_or(HoursError::Format)?;
        Self::new(parse_clock(a)?, parse_clock(b)?)
    }

    /// The start, in minutes from local midnight.
    pub fn start_minute(self) -> u16 {
        self.start
    }

    /// The end (exclusive), in minutes from local midnight; at most 1440.
    pub fn end_minute(self) -> u16 {
        self.end
    }

    /// Its length in minutes on an ordinary day (no clock change).
    pub fn minutes(self) -> u32 {
        u32::from(self.end - self.start)
    }
}

fn parse_clock(raw: &str) -> Result<u16, HoursError> {
    let (h, m) = raw.trim().split_once(':').ok_or(HoursError::Format)?;
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(HoursError::Format);
    }
    let h: u16 = h.parse().map_err(|_| HoursError::Format)?;
    let m: u16 = m.parse().map_err(|_| HoursError::Format)?;
    if m > 59 || h * 60 + m > MINUTES_PER_DAY {
        return Err(HoursError::OutOfDay);
    }
    Ok(h * 60 + m)
}

impl fmt::Display for WorkInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

impl TryFrom<String> for WorkInterval {
    type Error = HoursError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WorkInterval> for String {
    fn from(value: WorkInterval) -> Self {
        value.to_string()
    }
}

/// The working hours of one day: ordered, non-overlapping intervals (touching is
/// allowed). No intervals means a day off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<WorkInterval>", into = "Vec<WorkInterval>")]
pub struct DayHours(Vec<WorkInterval>);

impl DayHours {
    /// A day off.
    pub const fn off() -> Self {
        Self(Vec::new())
    }

    /// A day with these intervals, which must be in order and must not overlap.
    pub fn new(intervals: Vec<WorkInterval>) -> Result<Self, HoursError> {
        if intervals.windows(2).any(|w| w[1].start < w[0].end) {
            return Err(HoursError::Overlap);
        }
        Ok(Self(intervals))
    }

    /// Parses a comma-separated list (`08:30-12:00,14:30-18:00`); empty text is a day off.
    pub fn parse(raw: &str) -> Result<Self, HoursError> {
        if raw.trim().is_empty() {
            return Ok(Self::off());
        }
        let intervals = raw
            .split(',')
            .map(WorkInterval::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(intervals)
    }

    /// The intervals, in order.
    pub fn intervals(&self) -> &[WorkInterval] {
        &self.0
    }

    /// Total working minutes on an ordinary day (no clock change).
    pub fn minutes(&self) -> u32 {
        self.0.iter().map(|i| i.minutes()).sum()
    }

    /// Whether this is a day off.
    pub fn is_off(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Vec<WorkInterval>> for DayHours {
    type Error = HoursError;
    fn try_from(value: Vec<WorkInterval>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<DayHours> for Vec<WorkInterval> {
    fn from(value: DayHours) -> Self {
        value.0
    }
}

impl fmt::Display for DayHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, interval) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{interval}")?;
        }
        Ok(())
    }
}

/// The plain weekly schedule: the hours of each weekday when no dated override applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    /// Monday's hours.
    pub monday: DayHours,
    /// Tuesday's hours.
    pub tuesday: DayHours,
    /// Wednesday's hours.
    pub wednesday: DayHours,
    /// Thursday's hours.
    pub thursday: DayHours,
    /// Friday's hours.
    pub friday: DayHours,
    /// Saturday's hours.
    pub saturday: DayHours,
    /// Sunday's hours.
    pub sunday: DayHours,
}

impl WeeklyHours {
    /// The same hours Monday to Friday, weekend off.
    pub fn weekdays(hours: DayHours) -> Self {
        Self {
            monday: hours.clone(),
            tuesday: hours.clone(),
            wednesday: hours.clone(),
            thursday: hours.clone(),
            friday: hours,
            saturday: DayHours::off(),
            sunday: DayHours::off(),
        }
    }

    /// A township office's usual week: Monday to Friday, 08:30–12:00 and 14:30–18:00
    /// (7 hours a day), weekend off.
    pub fn standard() -> Self {
        let morning = WorkInterval {
            start: 510,
            end: 720,
        };
        let afternoon = WorkInterval {
            start: 870,
            end: 1080,
        };
        Self::weekdays(DayHours(vec![morning, afternoon]))
    }

    /// The hours of a weekday.
    pub fn on(&self, day: Weekday) -> &DayHours {
        match day {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    /// Total working minutes in a plain week.
    pub fn minutes(&self) -> u32 {
        self.days().iter().map(|d| d.minutes()).sum()
    }

    /// The standard working day: the most frequent non-empty day pattern of the week
    /// (ties go to the longer, then to the earlier weekday). `None` when the week has no
    /// working hours at all. Its length defines "one working day", and a make-up
    /// working day without hours of its own uses it.
    pub fn standard_day(&self) -> Option<&DayHours> {
        let days = self.days();
        let count = |d: &DayHours| days.iter().filter(|o| **o == d).count();
        let mut best: Option<&DayHours> = None;
        for day in days.into_iter().filter(|d| !d.is_off()) {
            let better = match best {
                None => true,
                Some(b) => (count(day), day.minutes()) > (count(b), b.minutes()),
            };
            if better {
                best = Some(day);
            }
        }
        best
    }

    fn days(&self) -> [&DayHours; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_and_print() {
        let i = WorkInterval::parse("08:30-12:00").expect("valid interval");
        assert_eq!(
            (i.start_minute(), i.end_minute(), i.minutes()),
            (510, 720, 210)
        );
        assert_eq!(i.to_string(), "08:30-12:00");
        let late = WorkInterval::parse("20:00-24:00").expect("24:00 is a valid end");
        assert_eq!(late.end_minute(), MINUTES_PER_DAY);
        assert_eq!(WorkInterval::parse("8:30-12:00"), Err(HoursError::Format));
        assert_eq!(WorkInterval::parse("08:30"), Err(HoursError::Format));
        assert_eq!(WorkInterval::parse("12:00-08:30"), Err(HoursError::Empty));
        assert_eq!(WorkInterval::parse("12:00-12:00"), Err(HoursError::Empty));
        assert_eq!(
            WorkInterval::parse("08:60-12:00"),
            Err(HoursError::OutOfDay)
        );
        assert_eq!(
            WorkInterval::parse("08:00-24:01"),
            Err(HoursError::OutOfDay)
        );
        assert_eq!(WorkInterval::new(0, 1441), Err(HoursError::OutOfDay));
    }

    #[test]
    fn day_hours_must_be_ordered_and_disjoint() {
        let day = DayHours::parse("08:30-12:00,14:30-18:00").expect("valid day");
        assert_eq!(day.minutes(), 420);
        assert_eq!(day.to_string(), "08:30-12:00,14:30-18:00");
        assert!(
            DayHours::parse("08:00-12:00,12:00-13:00").is_ok(),
            "touching is fine"
        );
        assert_eq!(
            DayHours::parse("14:30-18:00,08:30-12:00"),
            Err(HoursError::Overlap)
        );
        assert_eq!(
            DayHours::parse("08:30-12:00,11:00-13:00"),
            Err(HoursError::Overlap)
        );
        assert!(DayHours::parse("").expect("empty is a day off").is_off());
    }

    #[test]
    fn standard_day_is_the_most_frequent_pattern() {
        let week = WeeklyHours::standard();
        assert_eq!(week.minutes(), 5 * 420);
        assert_eq!(week.standard_day().map(DayHours::minutes), Some(420));
        let mut short_friday = WeeklyHours::standard();
        short_friday.friday = DayHours::parse("08:30-12:00").expect("valid");
        short_friday.saturday = DayHours::parse("09:00-11:00").expect("valid");
        assert_eq!(
            short_friday.standard_day().map(DayHours::minutes),
            Some(420)
        );
        let empty = WeeklyHours::weekdays(DayHours::off());
        assert_eq!(empty.standard_day(), None);
    }

    #[test]
    fn hours_round_trip_through_json() {
        let week = WeeklyHours::standard();
        let json = serde_json::to_value(&week).expect("serialises");
        assert_eq!(json["monday"][1], "14:30-18:00");
        let back: WeeklyHours = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, week);
        let bad = serde_json::from_str::<DayHours>(r#"["14:30-18:00","08:30-12:00"]"#);
        assert!(bad.is_err(), "validation runs on deserialisation");
    }
}
