//! What a self-assessment report says: the figures it is drafted from, for a township
//! or, side by side, for the county.

use chrono::NaiveDate;

/// One figure as the stats API gives it: a value with the numerator and denominator
/// it was computed from (both absent for plain counts and times).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figure {
    /// The value: a ratio in 0..=1 for rates, a number for counts and times; `None`
    /// when there was nothing to compute it from (a zero denominator).
    pub value: Option<f64>,
    /// What was counted.
    pub numerator: Option<i64>,
    /// What it was counted out of.
    pub denominator: Option<i64>,
}

impl Figure {
    /// A rate `numerator ÷ denominator` (no value when the denominator is zero).
    pub fn rate(numerator: i64, denominator: i64) -> Self {
        Self {
            value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
            numerator: Some(numerator),
            denominator: Some(denominator),
        }
    }

    /// A plain count.
    pub fn count(n: i64) -> Self {
        Self {
            value: Some(n as f64),
            numerator: None,
            denominator: None,
        }
    }
}

/// How a figure is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A ratio written as a percentage with one decimal.
    Percent,
    /// A whole number of cases, codes, scans.
    Count,
    /// A duration in minutes.
    Minutes,
    /// A number with one decimal (cases per worker).
    Number,
}

impl Unit {
    /// The figure's value as the report writes it ("—" when there is none).
    pub fn format(self, figure: &Figure) -> String {
        let Some(v) = figure.value.filter(|v| v.is_finite()) else {
            return "—".to_owned();
        };
        match self {
            Unit::Percent => format!("{:.1}%", v * 100.0),
            Unit::Count => format!("{v:.0}"),
            Unit::Minutes => format!("{v:.0} 分钟"),
            Unit::Number => format!("{v:.1}"),
        }
    }
}

/// A named figure of the report: its Chinese name as `docs/metrics.md` gives it, the
/// key it has in the stats API, and how it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureLine {
    /// The figure's key in the stats API (`satisfaction_rate`, …).
    pub key: String,
    /// Its name (满意率, …).
    pub label: String,
    /// How it is written.
    pub unit: Unit,
    /// The figure.
    pub figure: Figure,
}

/// One grid or village in the breakdowns the report reads late handling from.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLine {
    /// The node's name (its path, e.g. 东村 / 第一网格).
    pub name: String,
    /// Cases received there in the period.
    pub cases: i64,
    /// 超时率: cases handled late ÷ cases whose deadline fell due.
    pub overdue: Figure,
}

/// One posted QR code with its scans and the reports made from them.
#[derive(Clone, Debug, PartialEq)]
pub struct PosterLine {
    /// Where it is posted (grid path and the code's label).
    pub name: String,
    /// Scans in the period.
    pub scans: i64,
    /// Reports submitted from those scans.
    pub reports: i64,
}

impl PosterLine {
    /// Reports per scan.
    pub fn conversion(&self) -> Figure {
        Figure::rate(self.reports, self.scans)
    }
}

/// 基本情况: the codes posted and scanned and the reports received.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Basics {
    /// QR codes posted (active) at the end of the period.
    pub codes_posted: i64,
    /// Of those, codes scanned at least once in the period.
    pub codes_scanned: i64,
    /// Scans in the period.
    pub scans: i64,
    /// Reports received in the period.
    pub reports: i64,
    /// Reports by channel (扫码, 其他渠道), in that order.
    pub by_channel: Vec<(String, i64)>,
    /// The figures of 基本情况 as the stats API gives them (受理量, 扫码次数, 扫码报件数,
    /// 扫码转化率), for the table.
    pub figures: Vec<FigureLine>,
}

/// The period a report covers: the township's local days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl Period {
    /// The period as the report writes it: 2026年11月1日至2026年11月30日.
    pub fn zh(&self) -> String {
        format!("{}至{}", zh_date(self.from), zh_date(self.to))
    }
}

/// A day as Chinese documents write it: 2026年11月1日.
pub fn zh_date(day: NaiveDate) -> String {
    day.format("%Y年%-m月%-d日").to_string()
}

/// Everything a township's report is drafted from.
#[derive(Clone, Debug, PartialEq)]
pub struct TownshipReport {
    /// The township's name.
    pub township: String,
    /// The period.
    pub period: Period,
    /// The day the draft was generated (the township's local day).
    pub generated_on: NaiveDate,
    /// 基本情况.
    pub basics: Basics,
    /// 工作成效: the headline figures, in the order the report lists them.
    pub results: Vec<FigureLine>,
    /// Cases resolved only after escalation ÷ cases resolved.
    pub resolved_after_escalation: Figure,
    /// Villages, for late handling.
    pub villages: Vec<NodeLine>,
    /// Grids, for late handling.
    pub grids: Vec<NodeLine>,
    /// Posted codes, for scan conversion.
    pub posters: Vec<PosterLine>,
}

impl TownshipReport {
    /// The headline figure with `key`, if the report has it.
    pub fn result(&self, key: &str) -> Option<&FigureLine> {
        self.results.iter().find(|l| l.key == key)
    }
}

/// One township in the county's league table.
#[derive(Clone, Debug, PartialEq)]
pub struct LeagueLine {
    /// Its place (1 is best).
    pub rank: u32,
    /// The township's name.
    pub township: String,
    /// The composite score.
    pub score: Option<f64>,
    /// Its basic counts.
    pub basics: Basics,
    /// The figures the score is made of, in the same order for every township.
    pub components: Vec<FigureLine>,
}

/// Everything the county's report is drafted from.
#[derive(Clone, Debug, PartialEq)]
pub struct CountyReport {
    /// The county's name (or 全县 when it has none set).
    pub county: String,
    /// The period.
    pub period: Period,
    /// The day the draft was generated.
    pub generated_on: NaiveDate,
    /// The townships, best first.
    pub league: Vec<LeagueLine>,
}
