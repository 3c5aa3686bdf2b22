//! 现存问题 drafted from the data: each rule looks at one kind of shortfall and, when the
//! period shows it, writes a finding naming where it happened and by how much. The
//! rules and their thresholds are described in `docs/self-assessment-report.md`.

use super::data::{CountyReport, Figure, NodeLine, PosterLine, TownshipReport, Unit};

/// At most this many places are named in one finding; the rest are counted.
const NAMED: usize = 5;
/// A code needs this many scans in the period before its conversion is judged.
pub const MIN_SCANS: i64 = 10;
/// Satisfaction below this is a finding.
pub const SATISFACTION_FLOOR: f64 = 0.9;
/// The stats key of 及时响应率 (the 30-minute call-back).
pub const TIMELY_RESPONSE: &str = "timely_response_rate";
/// The stats key of 满意率.
pub const SATISFACTION: &str = "satisfaction_rate";

/// One problem found in the data, with the sentences that describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A short heading (超时办理, …).
    pub heading: String,
    /// The paragraph describing it.
    pub text: String,
}

fn pct(f: &Figure) -> String {
    Unit::Percent.format(f)
}

/// The findings of a township's period, in the order the report lists them; a single
/// "nothing stands out" finding when no rule fires.
pub fn township(r: &TownshipReport) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(line) = r.result(TIMELY_RESPONSE)
        && let (Some(v), Some(n), Some(d)) = (
            line.figure.value,
            line.figure.numerator,
            line.figure.denominator,
        )
        && v < 1.0
    {
        out.push(Finding {
            heading: "30分钟内回应未全部落实".into(),
            text: format!(
                "本期应在时限内首次回应的事项{d}件，按时回应{n}件，另有{}件超时回应或未回应，及时响应率为{}。",
                d - n,
                pct(&line.figure)
            ),
        });
    }
    if let Some(f) = late(r) {
        out.push(f);
    }
    let esc = &r.resolved_after_escalation;
    if let (Some(n), Some(d)) = (esc.numerator, esc.denominator)
        && n > 0
    {
        out.push(Finding {
            heading: "部分事项升级后方才办结".into(),
            text: format!(
                "本期已办结事项{d}件中，有{n}件经升级至上级后方才办结，占{}，网格、村（社区）一级首接首办的能力有待提升。",
                pct(esc)
            ),
        });
    }
    out.extend(scans(r));
    if let Some(line) = r.result(SATISFACTION)
        && let (Some(v), Some(n), Some(d)) = (
            line.figure.value,
            line.figure.numerator,
            line.figure.denominator,
        )
        && v < SATISFACTION_FLOOR
    {
        out.push(Finding {
            heading: "群众满意率偏低".into(),
            text: format!(
                "本期作答回访的{d}件事项中，评价满意或基本满意的{n}件，满意率为{}，低于{:.0}%。",
                pct(&line.figure),
                SATISFACTION_FLOOR * 100.0
            ),
        });
    }
    if out.is_empty() {
        out.push(Finding {
            heading: "未发现突出问题".into(),
            text: "经系统比对本期数据，未发现超时办理、升级后办结、扫码转化偏低或满意率偏低等突出问题。".into(),
        });
    }
    out
}

/// The nodes with late cases, worst first.
fn late_nodes(nodes: &[NodeLine]) -> Vec<&NodeLine> {
    let mut late: Vec<&NodeLine> = nodes
        .iter()
        .filter(|n| n.overdue.numerator.unwrap_or(0) > 0)
        .collect();
    late.sort_by(|a, b| {
        b.overdue
            .value
            .unwrap_or(0.0)
            .total_cmp(&a.overdue.value.unwrap_or(0.0))
            .then(b.overdue.numerator.cmp(&a.overdue.numerator))
            .then(a.name.cmp(&b.name))
    });
    late
}

/// Villages and grids that handled cases late, worst first.
fn late(r: &TownshipReport) -> Option<Finding> {
    let villages = late_nodes(&r.villages);
    let grids = late_nodes(&r.grids);
    if villages.is_empty() && grids.is_empty() {
        return None;
    }
    let mut text = format!(
        "本期共有{}个村（社区）、{}个网格存在超时办理事项。",
        villages.len(),
        grids.len()
    );
    for (kind, nodes) in [("村（社区）", &villages), ("网格", &grids)] {
        if nodes.is_empty() {
            continue;
        }
        let named: Vec<String> = nodes
            .iter()
            .take(NAMED)
            .map(|n| {
                format!(
                    "{}超时{}件，占到期事项{}件的{}",
                    n.name,
                    n.overdue.numerator.unwrap_or(0),
                    n.overdue.denominator.unwrap_or(0),
                    pct(&n.overdue)
                )
            })
            .collect();
        text.push_str(&format!("超时较多的{kind}：{}", named.join("；")));
        if nodes.len() > NAMED {
            text.push_str(&format!("；另有{}个{kind}", nodes.len() - NAMED));
        }
        text.push('。');
    }
    Some(Finding {
        heading: "部分村（社区）、网格办理超时".into(),
        text,
    })
}

/// Codes never scanned, and codes whose scans seldom turn into reports.
fn scans(r: &TownshipReport) -> Vec<Finding> {
    let mut out = Vec::new();
    let unscanned = r.basics.codes_posted - r.basics.codes_scanned;
    if unscanned > 0 {
        out.push(Finding {
            heading: "部分二维码未被扫码".into(),
            text: format!(
                "已张贴的{}个二维码中，有{unscanned}个本期无人扫码，所在网格群众对“码上反映”的知晓度有待提高。",
                r.basics.codes_posted
            ),
        });
    }
    let scans: i64 = r.posters.iter().map(|p| p.scans).sum();
    let reports: i64 = r.posters.iter().map(|p| p.reports).sum();
    let overall = Figure::rate(reports, scans);
    let Some(avg) = overall.value.filter(|v| *v > 0.0) else {
        return out;
    };
    let mut low: Vec<&PosterLine> = r
        .posters
        .iter()
        .filter(|p| p.scans >= MIN_SCANS)
        .filter(|p| p.conversion().value.is_some_and(|c| c < avg / 2.0))
        .collect();
    low.sort_by(|a, b| {
        let (ca, cb) = (
            a.conversion().value.unwrap_or(0.0),
            b.conversion().value.unwrap_or(0.0),
        );
        ca.total_cmp(&cb).then(b.scans.cmp(&a.scans))
    });
    if low.is_empty() {
        return out;
    }
    let named: Vec<String> = low
        .iter()
        .take(NAMED)
        .map(|p| {
            format!(
                "{}扫码{}次、形成反映{}件（{}）",
                p.name,
                p.scans,
                p.reports,
                pct(&p.conversion())
            )
        })
        .collect();
    let mut text = format!(
        "全镇扫码形成反映的转化率为{}（{reports}/{scans}），以下{}个二维码扫码{}次以上但转化率不到全镇的一半：{}",
        pct(&overall),
        low.len(),
        MIN_SCANS,
        named.join("；")
    );
    if low.len() > NAMED {
        text.push('等');
    }
    text.push_str("。需查明群众扫码后未提交的原因（码牌位置、页面使用困难等）。");
    out.push(Finding {
        heading: "部分二维码扫码转化率偏低".into(),
        text,
    });
    out
}

/// The findings of the county's period: the townships at the bottom of the league and
/// those below the lines the county holds every township to.
pub fn county(r: &CountyReport) -> Vec<Finding> {
    let mut out = Vec::new();
    let n = r.league.len();
    if n > 3 {
        let bottom: Vec<&str> = r.league[n - 3..]
            .iter()
            .map(|l| l.township.as_str())
            .collect();
        out.push(Finding {
            heading: "排名靠后的乡镇".into(),
            text: format!(
                "综合得分排名后三位的乡镇为：{}，需对照各项指标查找差距。",
                bottom.join("、")
            ),
        });
    }
    let below = |key: &str, floor: f64| -> Vec<String> {
        r.league
            .iter()
            .filter_map(|l| {
                let c = l.components.iter().find(|c| c.key == key)?;
                let v = c.figure.value?;
                (v < floor).then(|| format!("{}（{}）", l.township, pct(&c.figure)))
            })
            .collect()
    };
    let late = below(TIMELY_RESPONSE, 1.0);
    if !late.is_empty() {
        out.push(Finding {
            heading: "30分钟内回应未全部落实的乡镇".into(),
            text: format!("及时响应率未达100%的乡镇：{}。", late.join("、")),
        });
    }
    let unhappy = below(SATISFACTION, SATISFACTION_FLOOR);
    if !unhappy.is_empty() {
        out.push(Finding {
            heading: "群众满意率偏低的乡镇".into(),
            text: format!(
                "满意率低于{:.0}%的乡镇：{}。",
                SATISFACTION_FLOOR * 100.0,
                unhappy.join("、")
            ),
        });
    }
    if out.is_empty() {
        out.push(Finding {
            heading: "未发现突出问题".into(),
            text: "经系统比对本期数据，各乡镇及时响应率、满意率均达到要求。".into(),
        });
    }
    out
}
