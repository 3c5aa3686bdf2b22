//! The generated documents, opened as Word would: the parts of the package, the
//! paragraphs with their styles, the pictures.

use std::io::{Cursor, Read};

use chrono::NaiveDate;

use super::data::{
    Basics, CountyReport, Figure, FigureLine, LeagueLine, NodeLine, Period, PosterLine,
    TownshipReport, Unit,
};
use super::{PLACEHOLDER, county_docx, draft, township_docx};

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("a valid day")
}

fn line(key: &str, label: &str, unit: Unit, figure: Figure) -> FigureLine {
    FigureLine {
        key: key.into(),
        label: label.into(),
        unit,
        figure,
    }
}

fn node(name: &str, cases: i64, late: i64, due: i64) -> NodeLine {
    NodeLine {
        name: name.into(),
        cases,
        overdue: Figure::rate(late, due),
    }
}

fn poster(name: &str, scans: i64, reports: i64) -> PosterLine {
    PosterLine {
        name: name.into(),
        scans,
        reports,
    }
}

pub(super) fn township() -> TownshipReport {
    TownshipReport {
        township: "城关镇".into(),
        period: Period {
            from: day(11, 1),
            to: day(11, 30),
        },
        generated_on: day(12, 4),
        basics: Basics {
            codes_posted: 6,
            codes_scanned: 4,
            scans: 140,
            reports: 23,
            by_channel: vec![("扫码".into(), 20), ("代为登记".into(), 3)],
            figures: vec![
                line("reports", "受理量", Unit::Count, Figure::count(23)),
                line("qr_scans", "扫码次数", Unit::Count, Figure::count(140)),
                line(
                    "qr_conversion",
                    "扫码转化率",
                    Unit::Percent,
                    Figure::rate(20, 140),
                ),
            ],
        },
        results: vec![
            line(
                "timely_response_rate",
                "及时响应率",
                Unit::Percent,
                Figure::rate(19, 20),
            ),
            line(
                "resolution_rate",
                "办结率",
                Unit::Percent,
                Figure::rate(18, 21),
            ),
            line(
                "satisfaction_rate",
                "满意率",
                Unit::Percent,
                Figure::rate(12, 15),
            ),
            line("invalid_rate", "无效率", Unit::Percent, Figure::rate(2, 23)),
            line(
                "median_minutes_to_first_response",
                "首次响应用时中位数",
                Unit::Minutes,
                Figure::count(14),
            ),
        ],
        resolved_after_escalation: Figure::rate(3, 18),
        villages: vec![
            node("东村", 10, 2, 8),
            node("西村", 7, 0, 6),
            node("南村", 6, 1, 2),
        ],
        grids: vec![
            node("东村/第一网格", 6, 2, 5),
            node("南村/第一网格", 6, 1, 2),
        ],
        posters: vec![
            poster("东村/第一网格 村委会门口", 80, 16),
            poster("西村/第一网格 小卖部", 40, 1),
            poster("南村/第一网格 祠堂", 20, 3),
            poster("南村/第二网格 桥头", 0, 0),
        ],
    }
}

/// The paragraphs of a `.docx`: each with its style id and text.
fn paragraphs(docx: &[u8]) -> Vec<(String, String)> {
    let xml = part(docx, "word/document.xml");
    xml.split("<w:p>")
        .flat_map(|chunk| chunk.split("<w:p "))
        .skip(1)
        .map(|p| {
            let p = p.split("</w:p>").next().unwrap_or_default();
            let style = p
                .split("<w:pStyle w:val=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_default()
                .to_owned();
            let text: String = p
                .split("<w:t")
                .skip(1)
                .filter_map(|t| t.split_once('>').map(|(_, rest)| rest))
                .filter_map(|t| t.split("</w:t>").next())
                .collect();
            (style, text)
        })
        .collect()
}

fn part(docx: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(docx)).expect("a docx is a zip");
    let mut out = String::new();
    zip.by_name(name)
        .expect("the part exists")
        .read_to_string(&mut out)
        .expect("the part is text");
    out
}

fn pictures(docx: &[u8]) -> Vec<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(docx)).expect("a docx is a zip");
    let names: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("word/media/") && !n.ends_with('/'))
        .map(str::to_owned)
        .collect();
    names
        .iter()
        .map(|n| {
            let mut buf = Vec::new();
            zip.by_name(n)
                .expect("listed")
                .read_to_end(&mut buf)
                .expect("readable");
            buf
        })
        .collect()
}

fn headings(docx: &[u8], style: &str) -> Vec<String> {
    paragraphs(docx)
        .into_iter()
        .filter(|(s, _)| s == style)
        .map(|(_, t)| t)
        .collect()
}

#[test]
fn a_township_report_has_its_title_and_the_four_sections_in_order() {
    let docx = township_docx(&township()).expect("the report is written");
    assert_eq!(
        headings(&docx, "Title"),
        ["城关镇“码上反映”工作自查自评报告"]
    );
    assert_eq!(
        headings(&docx, "Heading1"),
        [
            "一、基本情况",
            "二、工作成效",
            "三、现存问题",
            "四、下一步工作"
        ]
    );
    let all = paragraphs(&docx);
    assert!(
        all.iter()
            .any(|(_, t)| t == "（2026年11月1日至2026年11月30日）")
    );
    let styles = part(&docx, "word/styles.xml");
    assert!(styles.contains("w:styleId=\"Heading1\"") && styles.contains("w:val=\"heading 1\""));
}

#[test]
fn the_page_is_a4() {
    let docx = township_docx(&township()).expect("the report is written");
    let xml = part(&docx, "word/document.xml");
    assert!(xml.contains("<w:pgSz w:w=\"11906\" w:h=\"16838\""), "{xml}");
}

#[test]
fn the_basic_counts_and_each_figure_with_its_numerator_and_denominator_are_written() {
    let docx = township_docx(&township()).expect("the report is written");
    let text: Vec<String> = paragraphs(&docx).into_iter().map(|(_, t)| t).collect();
    assert!(text.iter().any(|t| t.contains("共张贴“码上反映”二维码6个，其中4个本期被扫码，累计扫码140次；共收到群众反映23件，其中扫码20件、代为登记3件")));
    // The figures table: a row is four cells in a row.
    let joined = text.join("|");
    assert!(joined.contains("及时响应率|95.0%|19|20"), "{joined}");
    assert!(joined.contains("满意率|80.0%|12|15"));
    assert!(joined.contains("首次响应用时中位数|14 分钟|—|—"));
    assert!(joined.contains("张贴二维码（个）|6|—|—|本期被扫码的二维码（个）|4|—|—|受理量|23|—|—"));
    assert!(joined.contains("扫码转化率|14.3%|20|140"));
    assert!(joined.contains("经审核认定的无效事项2件不计入"));
}

#[test]
fn every_chart_is_embedded_as_a_png_with_its_data_table() {
    let docx = township_docx(&township()).expect("the report is written");
    let pictures = pictures(&docx);
    assert_eq!(pictures.len(), 3, "scans, headline figures, late villages");
    assert!(pictures.iter().all(|p| p.starts_with(b"\x89PNG")));
    let captions = headings(&docx, "Caption");
    assert_eq!(captions.len(), 3);
    assert!(captions[0].starts_with("图1　扫码次数与形成反映件数"));
    let joined = paragraphs(&docx)
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("|");
    assert!(
        joined.contains("东村/第一网格 村委会门口|80|16"),
        "the chart's data is in a table"
    );
}

#[test]
fn the_problems_name_the_late_places_the_escalations_and_the_weak_posters() {
    let docx = township_docx(&township()).expect("the report is written");
    let subheadings = headings(&docx, "Heading2");
    assert_eq!(
        subheadings,
        [
            "（一）30分钟内回应未全部落实",
            "（二）部分村（社区）、网格办理超时",
            "（三）部分事项升级后方才办结",
            "（四）部分二维码未被扫码",
            "（五）部分二维码扫码转化率偏低",
            "（六）群众满意率偏低",
        ]
    );
    let findings = draft::township(&township());
    // 南村 (1 of 2 late, 50%) before 东村 (2 of 8, 25%); 西村 had none.
    assert!(findings[1].text.contains("2个村（社区）、2个网格"));
    assert!(
        findings[1]
            .text
            .contains("南村超时1件，占到期事项2件的50.0%；东村超时2件")
    );
    assert!(!findings[1].text.contains("西村"));
    assert!(findings[2].text.contains("有3件经升级"));
    assert!(findings[3].text.contains("有2个本期无人扫码"));
    // 20/140 = 14.3 % overall; 西村 1/40 = 2.5 % is under half of it, 南村 3/20 = 15 % is not.
    assert!(
        findings[4]
            .text
            .contains("西村/第一网格 小卖部扫码40次、形成反映1件（2.5%）")
    );
    assert!(!findings[4].text.contains("祠堂"));
}

#[test]
fn a_good_period_says_nothing_stands_out() {
    let mut r = township();
    r.results
        .retain(|l| l.key != "timely_response_rate" && l.key != "satisfaction_rate");
    r.villages
        .iter_mut()
        .chain(r.grids.iter_mut())
        .for_each(|n| n.overdue = Figure::rate(0, 3));
    r.resolved_after_escalation = Figure::rate(0, 18);
    r.basics.codes_scanned = r.basics.codes_posted;
    r.posters = vec![poster("东村", 50, 10)];
    let findings = draft::township(&r);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].heading, "未发现突出问题");
}

#[test]
fn the_next_steps_are_left_marked_for_the_township() {
    let docx = township_docx(&township()).expect("the report is written");
    let all = paragraphs(&docx);
    let at = all
        .iter()
        .position(|(_, t)| t == "四、下一步工作")
        .expect("the section is there");
    assert!(all[at + 1].1.starts_with(PLACEHOLDER));
    assert!(part(&docx, "word/document.xml").contains("<w:highlight w:val=\"yellow\""));
}

#[test]
fn an_empty_period_still_makes_a_report() {
    let mut r = township();
    r.basics = Basics::default();
    r.results
        .iter_mut()
        .for_each(|l| l.figure = Figure::rate(0, 0));
    r.villages.clear();
    r.grids.clear();
    r.posters.clear();
    r.resolved_after_escalation = Figure::rate(0, 0);
    let docx = township_docx(&r).expect("the report is written");
    let joined = paragraphs(&docx)
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("|");
    assert!(joined.contains("及时响应率|—|0|0"));
    assert_eq!(
        pictures(&docx).len(),
        1,
        "only the headline chart has categories"
    );
}

fn league_line(
    rank: u32,
    name: &str,
    score: f64,
    timely: (i64, i64),
    happy: (i64, i64),
) -> LeagueLine {
    LeagueLine {
        rank,
        township: name.into(),
        score: Some(score),
        basics: Basics {
            codes_posted: 10,
            codes_scanned: 8,
            scans: 100,
            reports: 20,
            by_channel: vec![],
            figures: vec![],
        },
        components: vec![
            line(
                "timely_response_rate",
                "及时响应率",
                Unit::Percent,
                Figure::rate(timely.0, timely.1),
            ),
            line(
                "satisfaction_rate",
                "满意率",
                Unit::Percent,
                Figure::rate(happy.0, happy.1),
            ),
        ],
    }
}

#[test]
fn the_county_report_ranks_the_townships_and_names_those_below_the_line() {
    let r = CountyReport {
        county: "某县".into(),
        period: Period {
            from: day(11, 1),
            to: day(11, 30),
        },
        generated_on: day(12, 4),
        league: vec![
            league_line(1, "城关镇", 95.5, (20, 20), (19, 20)),
            league_line(2, "河口镇", 90.0, (18, 20), (18, 20)),
            league_line(3, "山前乡", 80.25, (10, 20), (10, 20)),
            league_line(4, "沙坪镇", 70.0, (20, 20), (17, 20)),
        ],
    };
    let docx = county_docx(&r).expect("the report is written");
    assert_eq!(
        headings(&docx, "Heading1"),
        [
            "一、基本情况",
            "二、工作成效",
            "三、现存问题",
            "四、下一步工作"
        ]
    );
    let joined = paragraphs(&docx)
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("|");
    assert!(
        joined.contains("排名|乡镇|综合得分|及时响应率|满意率|1|城关镇|95.5|100.0%|95.0%|2|河口镇"),
        "{joined}"
    );
    assert!(joined.contains("山前乡|及时响应率|50.0%|10|20"));
    assert!(joined.contains("全县4个乡镇共张贴“码上反映”二维码40个"));
    assert_eq!(pictures(&docx).len(), 1, "the scores chart");
    let findings = draft::county(&r);
    assert!(findings[0].text.contains("河口镇、山前乡、沙坪镇"));
    assert!(
        findings[1]
            .text
            .contains("河口镇（90.0%）、山前乡（50.0%）")
    );
    assert!(
        findings[2]
            .text
            .contains("山前乡（50.0%）、沙坪镇（85.0%）")
    );
}
