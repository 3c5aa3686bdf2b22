//! The county's report: every township side by side, ranked.

use super::ReportError;
use super::data::{CountyReport, zh_date};
use super::document::{Document, HEADING1, HEADING2, TITLE};
use super::draft;
use super::township::ordinal;
use crate::charts::{Chart, ChartKind};

/// The county's report for its period as a `.docx` file.
pub fn county_docx(r: &CountyReport) -> Result<Vec<u8>, ReportError> {
    let mut doc = Document::new();
    doc.styled(
        TITLE,
        &format!("{}各乡镇“码上反映”工作自查自评汇总报告", r.county),
    );
    doc.subtitle(&format!("（{}）", r.period.zh()));
    doc.subtitle(&format!(
        "本报告初稿由系统根据各乡镇办理数据于{}自动生成，各项数据按统一口径计算；第四部分由县综治中心填写。",
        zh_date(r.generated_on)
    ));

    doc.styled(HEADING1, "一、基本情况");
    let sum =
        |f: fn(&super::data::Basics) -> i64| r.league.iter().map(|l| f(&l.basics)).sum::<i64>();
    doc.para(&format!(
        "{}，全县{}个乡镇共张贴“码上反映”二维码{}个，累计扫码{}次，共收到群众反映{}件。",
        r.period.zh(),
        r.league.len(),
        sum(|b| b.codes_posted),
        sum(|b| b.scans),
        sum(|b| b.reports)
    ));
    let rows = r
        .league
        .iter()
        .map(|l| {
            vec![
                l.township.clone(),
                l.basics.codes_posted.to_string(),
                l.basics.codes_scanned.to_string(),
                l.basics.scans.to_string(),
                l.basics.reports.to_string(),
            ]
        })
        .collect();
    doc.table(
        &[
            "乡镇",
            "张贴二维码",
            "被扫码的二维码",
            "扫码次数",
            "收到反映",
        ],
        rows,
    );

    doc.styled(HEADING1, "二、工作成效");
    doc.para("各乡镇按综合得分排名如下（综合得分的构成见县级统计口径说明），各项指标的分子、分母见其后明细表。");
    let names: Vec<&str> = r
        .league
        .first()
        .map(|l| l.components.iter().map(|c| c.label.as_str()).collect())
        .unwrap_or_default();
    let mut header = vec!["排名", "乡镇", "综合得分"];
    header.extend(names.iter().copied());
    let rows = r
        .league
        .iter()
        .map(|l| {
            let mut row = vec![
                l.rank.to_string(),
                l.township.clone(),
                l.score
                    .map_or_else(|| "—".to_owned(), |s| format!("{s:.1}")),
            ];
            row.extend(l.components.iter().map(|c| c.unit.format(&c.figure)));
            row
        })
        .collect();
    doc.table(&header, rows);
    let chart = Chart::new(
        ChartKind::Bar,
        "各乡镇综合得分",
        "乡镇",
        r.league.iter().map(|l| l.township.clone()).collect(),
        "分",
    )
    .with_series("综合得分", r.league.iter().map(|l| l.score).collect());
    doc.chart(&chart)?;
    doc.styled(HEADING2, "各乡镇指标明细");
    let rows = r
        .league
        .iter()
        .flat_map(|l| {
            l.components.iter().map(|c| {
                vec![
                    l.township.clone(),
                    c.label.clone(),
                    c.unit.format(&c.figure),
                    c.figure
                        .numerator
                        .map_or_else(|| "—".to_owned(), |n| n.to_string()),
                    c.figure
                        .denominator
                        .map_or_else(|| "—".to_owned(), |n| n.to_string()),
                ]
            })
        })
        .collect();
    doc.table(&["乡镇", "指标", "数值", "分子", "分母"], rows);

    doc.styled(HEADING1, "三、现存问题");
    for (i, finding) in draft::county(r).iter().enumerate() {
        doc.styled(
            HEADING2,
            &format!("（{}）{}", ordinal(i + 1), finding.heading),
        );
        doc.para(&finding.text);
    }

    doc.styled(HEADING1, "四、下一步工作");
    doc.placeholder("请县综治中心针对上述问题，写明督导措施、责任单位和完成时限。");
    doc.right(&r.county);
    doc.right(&zh_date(r.generated_on));
    doc.finish()
}
