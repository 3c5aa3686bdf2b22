//! The figures a township is judged by — one implementation of the definitions in
//! `docs/metrics.md`. Everything that shows a figure (the API, the dashboards, the
//! exports, the self-assessment report) calls these functions:
//!
//! ```ignore
//! let period = Period::new(from, to)?;                  // local days, ≤ 366
//! let mut tx = db.tenant(tenant).await?;
//! let out: TownshipFigures = township_figures(&mut tx, period, &Filters::default()).await?;
//! let rate = out.figures["timely_response_rate"];       // Figure { value, numerator, denominator }
//! ```
//!
//! - [`township_figures`]`(tx, period, filters) -> TownshipFigures`: the figures by key
//!   ([`KEYS`]), with breakdowns per grid, village and worker and per QR poster.
//! - [`county_figures`]`(tx, period) -> Vec<TownshipRow>`: every township's figures
//!   side by side, in a county-read transaction; [`county_league`] (or [`league`] over
//!   rows already read) ranks them by the composite score.
//! - [`trend::weekly`]`(conn, scope, weeks) -> Vec<(Period, Figures)>`: a township's or
//!   the county's figures for consecutive weeks, all weeks in one read (no durations).
//!
//! Each [`Figure`] is `{value, numerator, denominator}` (serde); `value` is `None` when
//! the denominator is 0. The figures come from the daily roll-ups; only the part that
//! depends on the clock (open cases past a deadline) reads the open cases' facts.

mod compute;
mod county;
pub mod drill;
#[cfg(test)]
mod small_history_tests;
mod township;
pub mod trend;

use chrono::NaiveDate;
pub use compute::{Counters, Figure, Figures, Histogram, Inputs, KEYS, figures, percentile};
pub use county::{
    Component, Durations, LEAGUE_WEIGHTS, LeagueRow, TownshipRow, county_figures, county_league,
    county_rows, league,
};
use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
pub(crate) use township::subtree;
pub use township::{Breakdown, Poster, TownshipFigures};

/// The longest period a figure covers, in days.
pub const MAX_DAYS: i64 = 366;

/// A period of local calendar days, `from` to `to`, both included, at most
/// [`MAX_DAYS`] long. Only [`Period::new`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

/// Why a period was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// `to` is before `from`.
    #[error("the period ends before it begins")]
    Reversed,
    /// Longer than [`MAX_DAYS`].
    #[error("the period is longer than {MAX_DAYS} days")]
    TooLong,
}

impl Period {
    /// The days `from` to `to`, both included.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// How many days.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length just before this one (for comparisons).
    pub fn previous(&self) -> Self {
        let days = chrono::Duration::days(self.days());
        Self {
            from: self.from - days,
            to: self.to - days,
        }
    }
}

/// Which cases of the township a figure covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Cases at this grid node or below it.
    pub node_id: Option<GridNodeId>,
    /// Cases of this category code.
    pub category: Option<String>,
}

/// The township's figures for `period` and `filters` (see the module doc), in the
/// caller's tenant transaction.
pub async fn township_figures(
    tx: &mut TenantTx,
    period: Period,
    filters: &Filters,
) -> Result<TownshipFigures, sqlx::Error> {
    township::compute(tx, period, filters).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str) -> NaiveDate {
        d.parse().expect("a date")
    }

    #[test]
    fn periods_are_bounded_and_ordered() {
        assert_eq!(
            Period::new(day("2026-12-02"), day("2026-12-01")),
            Err(PeriodError::Reversed)
        );
        assert!(Period::new(day("2026-01-01"), day("2026-12-31")).is_ok());
        assert!(
            Period::new(day("2024-01-01"), day("2024-12-31")).is_ok(),
            "a leap year"
        );
        assert_eq!(
            Period::new(day("2025-01-01"), day("2026-01-02")),
            Err(PeriodError::TooLong)
        );
        let p = Period::new(day("2026-12-01"), day("2026-12-07")).expect("a week");
        assert_eq!(p.previous().from(), day("2026-11-24"));
        assert_eq!(p.previous().to(), day("2026-11-30"));
    }
}
