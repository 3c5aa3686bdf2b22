//! How the dashboards name and write each figure of docs/metrics.md.

use crate::figures::Figure;

/// What a figure's value is, and so how it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A number of cases or scans.
    Count,
    /// A fraction, written as a percentage.
    Rate,
    /// Minutes, written in minutes or hours.
    Minutes,
    /// Cases per person.
    Ratio,
}

/// A figure's Chinese and English names and its kind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Label {
    /// The stats key.
    pub key: &'static str,
    /// 中文名称.
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
    /// How it is written.
    pub kind: Kind,
}

/// Every figure, in docs/metrics.md's order.
pub(crate) const LABELS: [Label; 21] = [
    label("reports", "受理量", "Reports received", Kind::Count),
    label(
        "timely_response_rate",
        "及时响应率",
        "Called back in time",
        Kind::Rate,
    ),
    label(
        "on_time_resolution_rate",
        "按时办结率",
        "Resolved on time",
        Kind::Rate,
    ),
    label("resolution_rate", "办结率", "Resolved", Kind::Rate),
    label("solved_rate", "解决率", "Problem solved", Kind::Rate),
    label("satisfaction_rate", "满意率", "Satisfied", Kind::Rate),
    label("follow_up_rate", "回访率", "Followed up", Kind::Rate),
    label("return_rate", "退单率", "Returned", Kind::Rate),
    label("reopen_rate", "重办率", "Reopened", Kind::Rate),
    label("overdue_rate", "超时率", "Late", Kind::Rate),
    label("escalation_rate", "升级率", "Escalated", Kind::Rate),
    label("invalid_rate", "无效率", "Invalid", Kind::Rate),
    label(
        "village_rate",
        "小事不出村率",
        "Settled in the village",
        Kind::Rate,
    ),
    label(
        "first_response_median",
        "首次响应时长中位数",
        "Median time to call-back",
        Kind::Minutes,
    ),
    label(
        "first_response_p90",
        "首次响应时长P90",
        "90th percentile time to call-back",
        Kind::Minutes,
    ),
    label(
        "resolution_median",
        "办结时长中位数",
        "Median time to resolution",
        Kind::Minutes,
    ),
    label(
        "resolution_p90",
        "办结时长P90",
        "90th percentile time to resolution",
        Kind::Minutes,
    ),
    label(
        "cases_per_worker",
        "人均案件数",
        "Cases per worker",
        Kind::Ratio,
    ),
    label("qr_scans", "扫码次数", "QR scans", Kind::Count),
    label(
        "qr_reports",
        "扫码报件数",
        "Reports through QR codes",
        Kind::Count,
    ),
    label(
        "qr_conversion",
        "扫码转化率",
        "Scans that became reports",
        Kind::Rate,
    ),
];

const fn label(key: &'static str, zh: &'static str, en: &'static str, kind: Kind) -> Label {
    Label { key, zh, en, kind }
}

/// The label of `key` (unknown keys are written as themselves, as counts).
pub(crate) fn of(key: &str) -> Label {
    LABELS
        .iter()
        .find(|l| l.key == key)
        .copied()
        .unwrap_or(Label {
            key: "",
            zh: "",
            en: "",
            kind: Kind::Count,
        })
}

/// A value as the dashboards write it: "—" when there is none.
pub(crate) fn value(kind: Kind, value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return "—".to_owned();
    };
    match kind {
        Kind::Count => format!("{v:.0}"),
        Kind::Rate => format!("{:.1}%", v * 100.0),
        Kind::Ratio => format!("{v:.1}"),
        Kind::Minutes if v < 120.0 => format!("{v:.0} 分钟"),
        Kind::Minutes => format!("{:.1} 小时", v / 60.0),
    }
}

/// The figure's value, written.
pub(crate) fn figure(key: &str, figure: Option<&Figure>) -> String {
    value(of(key).kind, figure.and_then(|f| f.value))
}

/// How the value moved since the previous period: percentage points for rates,
/// the difference otherwise; empty when either side has no value.
pub(crate) fn change(key: &str, now: Option<&Figure>, before: Option<&Figure>) -> String {
    let (Some(now), Some(before)) = (now.and_then(|f| f.value), before.and_then(|f| f.value))
    else {
        return String::new();
    };
    let d = now - before;
    let sign = if d > 0.0 { "+" } else { "" };
    match of(key).kind {
        Kind::Rate => format!("{sign}{:.1} 个百分点", d * 100.0),
        Kind::Count => format!("{sign}{d:.0}"),
        Kind::Ratio => format!("{sign}{d:.1}"),
        Kind::Minutes => format!("{sign}{d:.0} 分钟"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_figures_has_a_label() {
        let keys: Vec<&str> = LABELS.iter().map(|l| l.key).collect();
        assert_eq!(keys, crate::figures::KEYS);
    }

    #[test]
    fn values_are_written_as_a_township_reads_them() {
        assert_eq!(value(Kind::Rate, Some(0.95)), "95.0%");
        assert_eq!(value(Kind::Rate, None), "—");
        assert_eq!(value(Kind::Count, Some(12.0)), "12");
        assert_eq!(value(Kind::Minutes, Some(25.0)), "25 分钟");
        assert_eq!(value(Kind::Minutes, Some(300.0)), "5.0 小时");
        let f = |v| Figure {
            value: Some(v),
            numerator: 0,
            denominator: 1,
        };
        assert_eq!(
            change("satisfaction_rate", Some(&f(0.9)), Some(&f(0.85))),
            "+5.0 个百分点"
        );
        assert_eq!(change("reports", Some(&f(3.0)), Some(&f(5.0))), "-2");
        assert_eq!(change("reports", Some(&f(3.0)), None), "");
    }
}
