//! From summed counters and histograms to the figures of docs/metrics.md. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::projection::contribution::{COUNTERS, bucket_minutes};

/// One figure: `value` is `numerator ÷ denominator` (a fraction), or a count, or
/// minutes for durations; `null` when the denominator is 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The figure's value.
    pub value: Option<f64>,
    /// What was counted.
    pub numerator: i64,
    /// What it was counted among.
    pub denominator: i64,
}

impl Figure {
    /// A rate.
    pub fn rate(numerator: i64, denominator: i64) -> Self {
        Self {
            value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
            numerator,
            denominator,
        }
    }

    /// A count (numerator = denominator = value).
    pub fn count(n: i64) -> Self {
        Self {
            value: Some(n as f64),
            numerator: n,
            denominator: n,
        }
    }
}

/// Figures by key (`timely_response_rate`, …), in the order of the keys.
pub type Figures = BTreeMap<String, Figure>;

/// Every key a [`Figures`] map holds, in docs/metrics.md's order.
pub const KEYS: [&str; 21] = [
    "reports",
    "timely_response_rate",
    "on_time_resolution_rate",
    "resolution_rate",
    "solved_rate",
    "satisfaction_rate",
    "follow_up_rate",
    "return_rate",
    "reopen_rate",
    "overdue_rate",
    "escalation_rate",
    "invalid_rate",
    "village_rate",
    "first_response_median",
    "first_response_p90",
    "resolution_median",
    "resolution_p90",
    "cases_per_worker",
    "qr_scans",
    "qr_reports",
    "qr_conversion",
];

/// The roll-up counters summed over a selection, plus the two parts that depend on
/// the clock (open cases whose deadline passed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// One sum per [`COUNTERS`] column.
    pub sums: [i64; COUNTERS.len()],
    /// Valid open cases not yet responded whose first-response deadline passed.
    pub response_missed_open: i64,
    /// Valid unresolved open cases whose resolution deadline passed.
    pub resolution_missed_open: i64,
}

impl Counters {
    /// A summed column by name.
    pub fn get(&self, column: &str) -> i64 {
        COUNTERS
            .iter()
            .position(|c| *c == column)
            .map_or(0, |i| self.sums[i])
    }

    /// Adds another selection's counters.
    pub fn absorb(&mut self, other: &Counters) {
        for (a, b) in self.sums.iter_mut().zip(other.sums) {
            *a += b;
        }
        self.response_missed_open += other.response_missed_open;
        self.resolution_missed_open += other.resolution_missed_open;
    }
}

/// Case counts per duration bucket (minutes' bucket index → cases).
pub type Histogram = BTreeMap<i16, i64>;

/// The nearest-rank `p`-th percentile of a histogram: the smallest bucket bound with
/// at least `p` % of the cases at or below it; numerator = the cases at or below it.
pub fn percentile(hist: &Histogram, p: u32) -> Figure {
    let total: i64 = hist.values().sum();
    if total == 0 {
        return Figure {
            value: None,
            numerator: 0,
            denominator: 0,
        };
    }
    // ceil(p × total / 100), at least 1.
    let rank = ((i64::from(p) * total + 99) / 100).max(1);
    let mut seen = 0;
    for (bucket, cases) in hist {
        seen += cases;
        if seen >= rank {
            return Figure {
                value: Some(bucket_minutes(*bucket) as f64),
                numerator: seen,
                denominator: total,
            };
        }
    }
    Figure {
        value: None,
        numerator: 0,
        denominator: total,
    }
}

/// What the figures of a selection are computed from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Summed counters.
    pub counters: Counters,
    /// First-response durations.
    pub first_response: Histogram,
    /// Resolution durations.
    pub resolution: Histogram,
    /// (valid cases with a handler, handlers), when known.
    pub workers: Option<(i64, i64)>,
    /// (scans, reports through a code), when known.
    pub qr: Option<(i64, i64)>,
}

/// The figures of docs/metrics.md from their inputs.
pub fn figures(inputs: &Inputs) -> Figures {
    let c = &inputs.counters;
    let g = |k: &str| c.get(k);
    let mut out = Figures::new();
    let mut put = |k: &str, f: Figure| {
        out.insert(k.to_owned(), f);
    };
    put("reports", Figure::count(g("reports")));
    put(
        "timely_response_rate",
        Figure::rate(
            g("responded_on_time"),
            g("responded") + c.response_missed_open,
        ),
    );
    put(
        "on_time_resolution_rate",
        Figure::rate(
            g("resolved_on_time"),
            g("resolved") + c.resolution_missed_open,
        ),
    );
    put("resolution_rate", Figure::rate(g("resolved"), g("valid")));
    put(
        "solved_rate",
        Figure::rate(g("answered_resolved"), g("answered")),
    );
    put(
        "satisfaction_rate",
        Figure::rate(g("answered_satisfied"), g("answered")),
    );
    put(
        "follow_up_rate",
        Figure::rate(g("answered"), g("resolved_ever")),
    );
    put("return_rate", Figure::rate(g("returned"), g("reports")));
    put(
        "reopen_rate",
        Figure::rate(g("reopened"), g("resolved_ever")),
    );
    put(
        "overdue_rate",
        Figure::rate(g("resolved_late") + c.resolution_missed_open, g("valid")),
    );
    put("escalation_rate", Figure::rate(g("escalated"), g("valid")));
    put("invalid_rate", Figure::rate(g("invalid"), g("reports")));
    put(
        "village_rate",
        Figure::rate(g("resolved_low"), g("resolved")),
    );
    put(
        "first_response_median",
        percentile(&inputs.first_response, 50),
    );
    put("first_response_p90", percentile(&inputs.first_response, 90));
    put("resolution_median", percentile(&inputs.resolution, 50));
    put("resolution_p90", percentile(&inputs.resolution, 90));
    if let Some((cases, workers)) = inputs.workers {
        put("cases_per_worker", Figure::rate(cases, workers));
    }
    if let Some((scans, reports)) = inputs.qr {
        put("qr_scans", Figure::count(scans));
        put("qr_reports", Figure::count(reports));
        put("qr_conversion", Figure::rate(reports, scans));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_the_buckets() {
        // 10, 20, 30, 40 minutes: the median is 20 (2 of 4), p90 is 40.
        let hist: Histogram = [(10, 1), (20, 1), (30, 1), (40, 1)].into_iter().collect();
        assert_eq!(percentile(&hist, 50).value, Some(20.0));
        assert_eq!(percentile(&hist, 50).numerator, 2);
        assert_eq!(percentile(&hist, 90).value, Some(40.0));
        assert_eq!(percentile(&Histogram::new(), 50).value, None);
        let one: Histogram = [(7, 1)].into_iter().collect();
        assert_eq!(percentile(&one, 90).value, Some(7.0));
    }

    #[test]
    fn rates_have_no_value_without_a_denominator() {
        assert_eq!(Figure::rate(0, 0).value, None);
        assert_eq!(Figure::rate(1, 4).value, Some(0.25));
        let f = figures(&Inputs::default());
        for key in KEYS
            .iter()
            .filter(|k| !k.starts_with("qr") && **k != "cases_per_worker")
        {
            assert!(f.contains_key(*key), "{key}");
        }
    }
}
