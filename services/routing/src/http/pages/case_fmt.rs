//! How the console's case pages say things, shared by every list and case page: the
//! time left to a deadline in words, a state's label, the names behind category codes,
//! grid node ids and people's ids, times in the township's zone, and a timeline entry
//! in words.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use mashang_db::TenantTx;
use mashang_domain::case::CaseState;
use mashang_domain::case::{ContactMethod, ReturnReason, Satisfaction};
use mashang_domain::sla::EscalationLevel;
use serde_json::Value;
use uuid::Uuid;

/// Under this many seconds left, a deadline shows red.
pub(crate) const URGENT_SECONDS: i64 = 10 * 60;

/// The time left to a deadline, in words.
#[derive(Clone, Debug)]
pub(crate) struct TimeLeft {
    /// `还剩 25 分钟` or `已超时 1 小时 5 分`.
    pub zh: String,
    /// `25 min left` or `1 h 5 min overdue`.
    pub en: String,
    /// Under ten minutes left, or overdue: shown red.
    pub urgent: bool,
    /// Past the deadline.
    pub overdue: bool,
    /// The deadline, RFC 3339 (for the live countdown's `data-due`).
    pub due: String,
}

/// A span of seconds in Chinese: `2 天 3 小时`, `1 小时 5 分`, `25 分钟`, `不到 1 分钟`.
pub(crate) fn span_zh(seconds: i64) -> String {
    let s = seconds.abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    if d > 0 {
        if h > 0 {
            format!("{d} 天 {h} 小时")
        } else {
            format!("{d} 天")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h} 小时 {m} 分")
        } else {
            format!("{h} 小时")
        }
    } else if m > 0 {
        format!("{m} 分钟")
    } else {
        "不到 1 分钟".to_owned()
    }
}

/// The same span in English: `2 d 3 h`, `1 h 5 min`, `25 min`, `under a minute`.
pub(crate) fn span_en(seconds: i64) -> String {
    let s = seconds.abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    if d > 0 {
        if h > 0 {
            format!("{d} d {h} h")
        } else {
            format!("{d} d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h} h {m} min")
        } else {
            format!("{h} h")
        }
    } else if m > 0 {
        format!("{m} min")
    } else {
        "under a minute".to_owned()
    }
}

/// The time from `now` to `due`.
pub(crate) fn time_left(due: DateTime<Utc>, now: DateTime<Utc>) -> TimeLeft {
    let seconds = (due - now).num_seconds();
    let overdue = seconds < 0;
    let (zh, en) = if overdue {
        (
            format!("已超时 {}", span_zh(seconds)),
            format!("{} overdue", span_en(seconds)),
        )
    } else {
        (
            format!("还剩 {}", span_zh(seconds)),
            format!("{} left", span_en(seconds)),
        )
    };
    TimeLeft {
        zh,
        en,
        urgent: seconds < URGENT_SECONDS,
        overdue,
        due: due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// A stored state's labels (Chinese, English); an unknown name is shown as it is.
pub(crate) fn state_label(raw: &str) -> (String, String) {
    match CaseState::parse(raw) {
        Some(s) => (s.label_zh().to_owned(), s.label_en().to_owned()),
        None => (raw.to_owned(), raw.to_owned()),
    }
}

/// The names the pages show in place of codes and ids, loaded once per page for the
/// township (a few hundred rows at most), and its time zone.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    categories: HashMap<String, String>,
    nodes: HashMap<Uuid, String>,
    people: HashMap<Uuid, String>,
    zone: Tz,
}

impl Names {
    /// The township's categories, grid nodes and people, and its time zone.
    pub async fn load(tx: &mut TenantTx) -> Result<Self, sqlx::Error> {
        let tenant = tx.tenant().as_uuid();
        let categories: Vec<(String, String)> =
            sqlx::query_as("SELECT code, name_zh FROM routing.categories WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut **tx)
                .await?;
        let nodes: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, name FROM routing.grid_nodes WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut **tx)
                .await?;
        let people: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, name FROM routing.staff_users WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut **tx)
                .await?;
        let zone: Option<(String,)> =
            sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
                .bind(tenant)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(Self {
            categories: categories.into_iter().collect(),
            nodes: nodes.into_iter().collect(),
            people: people.into_iter().collect(),
            zone: zone
                .and_then(|(z,)| z.parse().ok())
                .unwrap_or(chrono_tz::Asia::Shanghai),
        })
    }

    /// A category's Chinese name (the code when it is unknown).
    pub fn category(&self, code: &str) -> String {
        self.categories
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    /// A grid node's name.
    pub fn node(&self, id: Uuid) -> String {
        self.nodes
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "（未知网格）".to_owned())
    }

    /// A person's name; the system when nobody.
    pub fn person(&self, id: Option<Uuid>) -> String {
        match id {
            None => "系统".to_owned(),
            Some(id) => self
                .people
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "（已删除的人员）".to_owned()),
        }
    }

    /// A moment in the township's time: `12月3日 09:05` (with the year when not this
    /// year's).
    pub fn when(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.zone);
        let now = Utc::now().with_timezone(&self.zone);
        if local.format("%Y").to_string() == now.format("%Y").to_string() {
            local.format("%-m月%-d日 %H:%M").to_string()
        } else {
            local.format("%Y年%-m月%-d日 %H:%M").to_string()
        }
    }

    /// The township's time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }
}

/// One timeline entry in words.
#[derive(Clone, Debug)]
pub(crate) struct Said {
    /// What happened, in Chinese.
    pub action: String,
    /// Who did it.
    pub who: String,
    /// When, in the township's time.
    pub when: String,
    /// The details, one line each.
    pub lines: Vec<String>,
    /// Photo ids (shown as thumbnails of the case's attachments).
    pub photos: Vec<String>,
}

/// The Chinese label of a timeline `action` (workflow actions and the entries the
/// system and other pages write).
pub(crate) fn action_label(action: &str) -> String {
    use mashang_domain::case::ActionKind;
    if let Some(kind) = ActionKind::parse(action) {
        return kind.label_zh().to_owned();
    }
    match action {
        "created" => "收到诉求",
        "unassigned" => "待分拨",
        "reminder" => "到期提醒",
        "breach" => "超时",
        "escalated" => "自动上报",
        "county_request" => "申请县级督办",
        "county_note" => "县级批示",
        "county_reminder" => "县级督办期限将到",
        "county_overdue" => "县级督办已超期",
        "policy_reapplied" => "重新适用时限规则",
        "extension_requested" => "申请延期",
        "extension_approved" => "批准延期",
        "extension_rejected" => "驳回延期",
        other => other,
    }
    .to_owned()
}

fn text(details: &Value, key: &str) -> Option<String> {
    details
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

fn time(details: &Value, key: &str, names: &Names) -> Option<String> {
    details
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| names.when(t.with_timezone(&Utc)))
}

fn person_in(details: &Value, key: &str, names: &Names) -> Option<String> {
    details
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok())
        .map(|id| names.person(Some(id)))
}

/// The level an escalation goes to, in Chinese.
pub(crate) fn level_label(raw: &str) -> &'static str {
    match EscalationLevel::parse(raw) {
        Some(EscalationLevel::GridWorker) => "网格员",
        Some(EscalationLevel::GridLeader) => "网格长",
        Some(EscalationLevel::VillageHead) => "村（社区）负责人",
        Some(EscalationLevel::TownshipCentre) => "镇综治中心",
        Some(EscalationLevel::County) => "县综治中心",
        None => "上级",
    }
}

/// A timeline entry in words.
pub(crate) fn describe(
    action: &str,
    actor: Option<Uuid>,
    details: &Value,
    at: DateTime<Utc>,
    names: &Names,
) -> Said {
    // Workflow entries keep the action's details inside, with the states and version.
    let details = match details.get("details") {
        Some(inner) if inner.is_object() && details.get("version").is_some() => inner,
        _ => details,
    };
    let mut lines = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            lines.push(format!("{label}：{v}"));
        }
    };
    match action {
        "acknowledge" | "follow_up" => {
            push(
                "方式",
                text(details, "method")
                    .and_then(|m| ContactMethod::parse(&m))
                    .map(|m| m.label_zh().to_owned()),
            );
            push("联系时间", time(details, "contacted_at", names));
            push("情况", text(details, "summary"));
        }
        _ => {}
    }
    match action {
        "resolve" => push("处理措施", text(details, "measures")),
        "return" => push(
            "原因",
            text(details, "reason").map(|r| {
                ReturnReason::parse(&r)
                    .map(|r| r.label_zh().to_owned())
                    .unwrap_or(r)
            }),
        ),
        "request_invalid" => {
            let reason = details.get("reason");
            let code = reason.and_then(|r| r.get("code")).and_then(Value::as_str);
            push(
                "理由",
                code.map(|c| {
                    match c {
                        "spam" => "无效信息",
                        "duplicate" => "重复诉求",
                        "outside_jurisdiction" => "不属本辖区",
                        other => other,
                    }
                    .to_owned()
                }),
            );
        }
        "assign" | "dispatch" | "transfer" => {
            push("交给", person_in(details, "to", names));
            if let Some(node) = details
                .get("node")
                .and_then(Value::as_str)
                .and_then(|n| n.parse().ok())
            {
                push("所在", Some(names.node(node)));
            }
        }
        "escalated" | "reminder" | "breach" => {
            push(
                "时限",
                text(details, "target").map(|t| {
                    match t.as_str() {
                        "first_response" => "响应",
                        "resolution" => "办结",
                        "follow_up" => "回访",
                        other => other,
                    }
                    .to_owned()
                }),
            );
            push(
                "上报到",
                text(details, "level").map(|l| level_label(&l).to_owned()),
            );
            push("督办人", person_in(details, "supervisor", names));
        }
        "escalate" => {
            push(
                "上报到",
                text(details, "level").map(|l| level_label(&l).to_owned()),
            );
            push("交给", person_in(details, "to", names));
        }
        "follow_up" | "rate" => {
            push(
                "是否解决",
                details
                    .get("resolved")
                    .and_then(Value::as_bool)
                    .map(|r| if r { "已解决" } else { "未解决" }.to_owned()),
            );
            push(
                "满意度",
                text(details, "satisfaction")
                    .and_then(|s| Satisfaction::parse(&s))
                    .map(|s| s.label_zh().to_owned()),
            );
            push("评价", text(details, "comment"));
        }
        "county_note" | "county_reminder" | "county_overdue" => {
            push("批示", text(details, "county_note"));
            push("县级期限", time(details, "deadline", names));
        }
        "policy_reapplied" => {
            for (key, label) in [
                ("first_response_due", "响应时限"),
                ("resolution_due", "办结时限"),
                ("follow_up_due", "回访时限"),
            ] {
                let before = details.get("before").and_then(|b| time(b, key, names));
                let after = details.get("after").and_then(|a| time(a, key, names));
                if before.is_some() || after.is_some() {
                    push(
                        label,
                        Some(format!(
                            "{} → {}",
                            before.unwrap_or_else(|| "无".into()),
                            after.unwrap_or_else(|| "无".into())
                        )),
                    );
                }
            }
        }
        _ => {}
    }
    for key in ["reason", "note", "text"] {
        if action == "return" && key == "reason" {
            continue;
        }
        if let Some(t) = text(details, key) {
            let label = match key {
                "reason" => "原因",
                "text" => "内容",
                _ => "说明",
            };
            push(label, Some(t));
        }
    }
    let photos = details
        .get("photos")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Said {
        action: action_label(action),
        // The county's people belong to no township: named by their office.
        who: if action == "county_note" {
            mashang_web::staff::COUNTY_CENTRE.to_owned()
        } else {
            names.person(actor)
        },
        when: names.when(at),
        lines,
        photos,
    }
}

/// The case version a timeline entry made, for workflow entries.
pub(crate) fn entry_version(details: &Value) -> Option<i64> {
    details.get("version").and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn time_left_is_said_in_words_and_turns_red_under_ten_minutes() {
        let now = Utc::now();
        let t = time_left(now + Duration::minutes(25) + Duration::seconds(30), now);
        assert_eq!(t.zh, "还剩 25 分钟");
        assert!(!t.urgent && !t.overdue);
        let t = time_left(now + Duration::minutes(9), now);
        assert!(t.urgent && !t.overdue);
        let t = time_left(now - Duration::minutes(65), now);
        assert_eq!(t.zh, "已超时 1 小时 5 分");
        assert_eq!(t.en, "1 h 5 min overdue");
        assert!(t.urgent && t.overdue);
        assert_eq!(span_zh(2 * 86_400 + 3 * 3_600 + 60), "2 天 3 小时");
        assert_eq!(span_zh(20), "不到 1 分钟");
    }

    #[test]
    fn unknown_states_show_as_they_are() {
        assert_eq!(state_label("in_progress").0, "办理中");
        assert_eq!(state_label("flying").0, "flying");
    }
}
