//! A township's report.

use super::ReportError;
use super::data::{Figure, FigureLine, TownshipReport, Unit, zh_date};
use super::document::{Document, HEADING1, HEADING2, TITLE};
use super::draft;
use crate::charts::{Chart, ChartKind};

/// At most this many codes and villages are drawn in one chart (the busiest).
const CHART_ROWS: usize = 12;

/// The township's report for its period as a `.docx` file.
pub fn township_docx(r: &TownshipReport) -> Result<Vec<u8>, ReportError> {
    let mut doc = Document::new();
    doc.styled(TITLE, &format!("{}“码上反映”工作自查自评报告", r.township));
    doc.subtitle(&format!("（{}）", r.period.zh()));
    doc.subtitle(&format!(
        "本报告初稿由系统根据办理数据于{}自动生成，各项数据按统一口径计算；第四部分由乡镇填写。",
        zh_date(r.generated_on)
    ));

    basics(&mut doc, r)?;
    results(&mut doc, r)?;
    problems(&mut doc, r)?;

    doc.styled(HEADING1, "四、下一步工作");
    doc.placeholder("请乡镇针对上述问题，逐条写明下一步工作措施、责任单位和完成时限。");
    doc.right(&r.township);
    doc.right(&zh_date(r.generated_on));
    doc.finish()
}

fn basics(doc: &mut Document, r: &TownshipReport) -> Result<(), ReportError> {
    let b = &r.basics;
    doc.styled(HEADING1, "一、基本情况");
    let channels: Vec<String> = b
        .by_channel
        .iter()
        .map(|(name, n)| format!("{name}{n}件"))
        .collect();
    let mut text = format!(
        "{}，全镇共张贴“码上反映”二维码{}个，其中{}个本期被扫码，累计扫码{}次；共收到群众反映{}件",
        r.period.zh(),
        b.codes_posted,
        b.codes_scanned,
        b.scans,
        b.reports
    );
    if !channels.is_empty() {
        text.push_str(&format!("，其中{}", channels.join("、")));
    }
    text.push('。');
    doc.para(&text);
    let count = |label: &str, n: i64| FigureLine {
        key: String::new(),
        label: label.to_owned(),
        unit: Unit::Count,
        figure: Figure::count(n),
    };
    let mut lines = vec![
        count("张贴二维码（个）", b.codes_posted),
        count("本期被扫码的二维码（个）", b.codes_scanned),
    ];
    lines.extend(b.figures.iter().cloned());
    doc.figures(&lines);

    let mut posters: Vec<_> = r.posters.iter().collect();
    posters.sort_by(|a, b| b.scans.cmp(&a.scans).then(a.name.cmp(&b.name)));
    posters.truncate(CHART_ROWS);
    let chart = Chart::new(
        ChartKind::Bar,
        "扫码次数与形成反映件数（扫码最多的二维码）",
        "二维码",
        posters.iter().map(|p| p.name.clone()).collect(),
        "次/件",
    )
    .with_series(
        "扫码",
        posters.iter().map(|p| Some(p.scans as f64)).collect(),
    )
    .with_series(
        "反映",
        posters.iter().map(|p| Some(p.reports as f64)).collect(),
    );
    doc.chart(&chart)
}

fn results(doc: &mut Document, r: &TownshipReport) -> Result<(), ReportError> {
    doc.styled(HEADING1, "二、工作成效");
    let said: Vec<String> = r
        .results
        .iter()
        .map(|l| match (l.figure.numerator, l.figure.denominator) {
            (Some(n), Some(d)) => format!("{}{}（{n}/{d}）", l.label, l.unit.format(&l.figure)),
            _ => format!("{}{}", l.label, l.unit.format(&l.figure)),
        })
        .collect();
    let mut text = String::from("本期办理情况：");
    if let Some(invalid) = r.results.iter().find(|l| l.key == "invalid_rate")
        && let Some(n) = invalid.figure.numerator
    {
        text.push_str(&format!(
            "经审核认定的无效事项{n}件不计入办结、解决等各项统计（申请无效但未获批准的事项按有效事项计）；"
        ));
    }
    text.push_str(&said.join("，"));
    text.push_str("。各项指标的分子、分母见下表。");
    doc.para(&text);
    doc.figures(&r.results);

    let rates: Vec<_> = r
        .results
        .iter()
        .filter(|l| l.unit == Unit::Percent)
        .collect();
    let chart = Chart::new(
        ChartKind::Bar,
        "主要工作指标",
        "指标",
        rates.iter().map(|l| l.label.clone()).collect(),
        "%",
    )
    .with_series(
        "本期",
        rates
            .iter()
            .map(|l| l.figure.value.map(|v| v * 100.0))
            .collect(),
    );
    doc.chart(&chart)
}

fn problems(doc: &mut Document, r: &TownshipReport) -> Result<(), ReportError> {
    doc.styled(HEADING1, "三、现存问题");
    for (i, finding) in draft::township(r).iter().enumerate() {
        doc.styled(
            HEADING2,
            &format!("（{}）{}", ordinal(i + 1), finding.heading),
        );
        doc.para(&finding.text);
    }
    let mut villages: Vec<_> = r.villages.iter().filter(|v| v.cases > 0).collect();
    villages.sort_by(|a, b| {
        b.overdue
            .value
            .unwrap_or(0.0)
            .total_cmp(&a.overdue.value.unwrap_or(0.0))
            .then(a.name.cmp(&b.name))
    });
    villages.truncate(CHART_ROWS);
    let pct = |f: &Figure| f.value.map(|v| v * 100.0);
    let chart = Chart::new(
        ChartKind::Bar,
        "各村（社区）超时率",
        "村（社区）",
        villages.iter().map(|v| v.name.clone()).collect(),
        "%",
    )
    .with_series("超时率", villages.iter().map(|v| pct(&v.overdue)).collect());
    doc.chart(&chart)
}

/// 一, 二, 三 … for the sub-headings (a report never has more than a handful).
pub(super) fn ordinal(n: usize) -> &'static str {
    const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    NUMERALS.get(n.wrapping_sub(1)).copied().unwrap_or("十")
}
