//! The words of messages on outside channels, per township and message kind: a title
//! and a text in Chinese, and optionally in English (sent after the Chinese). A
//! township changes them on `/admin/message-templates` or through
//! `/api/v1/admin/message-templates/{kind}`; a kind it never changed uses the default
//! here. Placeholders in braces are filled from the case: `{tracking_number}`,
//! `{target}` (what a reminder is about), `{deadline}` (local time), `{state}`.

use std::collections::BTreeMap;

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 4] = ["tracking_number", "target", "deadline", "state"];

/// The kinds with their defaults: (kind, name, title, text in Chinese, text in English).
pub const DEFAULTS: [(&str, &str, &str, &str, &str); 8] = [
    (
        "case_assigned",
        "新案件",
        "新案件 {tracking_number}",
        "请在 {deadline} 前电话联系群众（30分钟内）。",
        "New case: call the citizen back by {deadline}.",
    ),
    (
        "case_reminded",
        "催办",
        "催办：{tracking_number}",
        "「{target}」期限将到，请尽快处理。",
        "The deadline to {target} is close.",
    ),
    (
        "case_escalated",
        "超时督办",
        "督办：{tracking_number}",
        "此案件已超时或被上报，请督促或接手处理。",
        "Late or sent up: please follow it up.",
    ),
    (
        "case_transferred",
        "改派",
        "改派案件 {tracking_number}",
        "此案件已改派，请尽快电话联系群众。",
        "Transferred: please call the citizen.",
    ),
    (
        "case_returned",
        "退单",
        "退单 {tracking_number}",
        "承办人退回了此案件，请重新派单。",
        "Returned by its handler: please dispatch it again.",
    ),
    (
        "case_reopened",
        "重办",
        "重新办理 {tracking_number}",
        "群众认为问题未解决或不满意，案件已重新打开，请继续处理。",
        "Reopened: the citizen is not satisfied.",
    ),
    (
        "case_invalidated",
        "无效",
        "案件已作无效处理 {tracking_number}",
        "此案件经综治中心审核为无效事件。",
        "Found invalid by the township centre.",
    ),
    (
        "case_closed",
        "办结",
        "案件已办结归档 {tracking_number}",
        "此案件已回访并关闭。",
        "Followed up and closed.",
    ),
];

/// A template's words.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Words {
    /// The headline.
    pub title: String,
    /// The Chinese text, with `{placeholders}`.
    pub text_zh: String,
    /// The English text (optional).
    #[serde(default)]
    pub text_en: String,
}

/// The default words of `kind`.
pub fn default_words(kind: &str) -> Option<Words> {
    DEFAULTS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map(|(_, _, title, zh, en)| Words {
            title: (*title).to_owned(),
            text_zh: (*zh).to_owned(),
            text_en: (*en).to_owned(),
        })
}

/// Fills the placeholders of `text` from `values` (unknown names stay as written).
pub fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if values.contains_key(&after[..close]) => {
                out.push_str(&values[&after[..close]]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Title and text of a message: the Chinese, then the English in brackets when given.
pub fn render(words: &Words, values: &BTreeMap<&str, String>) -> (String, String) {
    let zh = fill(&words.text_zh, values);
    let en = fill(&words.text_en, values);
    let text = if en.trim().is_empty() {
        zh
    } else {
        format!("{zh}\n({en})")
    };
    (fill(&words.title, values), text)
}

/// What is wrong with `words`, by field: lengths, and placeholders not in
/// [`PLACEHOLDERS`].
pub fn check(words: &Words) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    for (field, text, max) in [
        ("title", &words.title, 60),
        ("text_zh", &words.text_zh, 300),
        ("text_en", &words.text_en, 300),
    ] {
        let n = text.trim().chars().count();
        if (n == 0 && field != "text_en") || n > max {
            errors.push((field, format!("1到{max}字 (1 to {max} characters)")));
        } else if text.chars().any(|c| c.is_control() && c != '\n') {
            errors.push((field, "不能含控制字符 (no control characters)".to_owned()));
        } else if let Some(bad) = unknown_placeholder(text) {
            errors.push((
                field,
                format!(
                    "没有占位符 {{{bad}}}；可用：{} (unknown placeholder)",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                ),
            ));
        }
    }
    errors
}

fn unknown_placeholder(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Some(name.to_owned());
        }
        rest = &after[close + 1..];
    }
    None
}

/// Sample values for a preview.
pub fn sample() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("tracking_number", "CT-20261204-0042".to_owned()),
        ("target", "电话联系群众".to_owned()),
        ("deadline", "12月4日 10:30".to_owned()),
        ("state", "已受理".to_owned()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_and_unknown_ones_are_refused() {
        let words = default_words("case_assigned").expect("a default");
        let (title, text) = render(&words, &sample());
        assert_eq!(title, "新案件 CT-20261204-0042");
        assert!(text.starts_with("请在 12月4日 10:30 前电话联系群众"));
        assert!(text.ends_with("by 12月4日 10:30.)"));
        assert_eq!(
            fill("{nope} {tracking_number", &sample()),
            "{nope} {tracking_number"
        );
        let bad = Words {
            title: "新案件 {case}".into(),
            text_zh: String::new(),
            text_en: "x".repeat(301),
        };
        let fields: Vec<_> = check(&bad).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["title", "text_zh", "text_en"]);
        for (kind, ..) in DEFAULTS {
            assert!(
                check(&default_words(kind).expect("a default")).is_empty(),
                "{kind}"
            );
        }
    }
}
