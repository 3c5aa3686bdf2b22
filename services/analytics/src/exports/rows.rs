//! The exported columns and the read behind them: one row per case fact of a
//! township, with the directory's names (grid, village, category, handler) and the
//! citizen's words from the `report.submitted` event analytics keeps. No contact
//! details: they never reach analytics (decision 0015).

use chrono::{NaiveDate, NaiveDateTime};
use mashang_domain::case::CaseState;
use sqlx::PgConnection;
use uuid::Uuid;

use super::query::{ExportFilter, SUBMITTED};
use super::table::Cell;

/// One exported case, as read.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CaseRow {
    /// The local day of submission (the page cursor's first half).
    pub submitted_day: NaiveDate,
    /// The report (the page cursor's second half).
    pub report_id: Uuid,
    /// 受理编号.
    pub tracking_number: String,
    /// Local time of submission.
    pub submitted_at: NaiveDateTime,
    /// `qr`, `assisted`, ….
    pub channel: String,
    /// The category's Chinese name (its code if unknown).
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// The village's name.
    pub village: Option<String>,
    /// The grid's name.
    pub grid: Option<String>,
    /// The case state, or `submitted`.
    pub status: String,
    /// The handler's name.
    pub handler: Option<String>,
    /// The level the handler holds the case at.
    pub handler_level: Option<String>,
    /// Local times of the deadlines and milestones.
    pub first_response_due: Option<NaiveDateTime>,
    /// First contact with the citizen.
    pub first_responded_at: Option<NaiveDateTime>,
    /// Resolution deadline.
    pub resolve_due: Option<NaiveDateTime>,
    /// Latest resolution.
    pub resolved_at: Option<NaiveDateTime>,
    /// Closed or judged invalid.
    pub closed_at: Option<NaiveDateTime>,
    /// The level it was resolved at.
    pub resolved_level: Option<String>,
    /// Counts of returns, transfers, reopenings and escalations.
    pub returns: i32,
    /// Transfers.
    pub transfers: i32,
    /// Reopenings.
    pub reopenings: i32,
    /// Escalations.
    pub escalations: i32,
    /// `none`, `requested`, `approved`, `rejected`.
    pub invalid_status: String,
    /// The answer "was it resolved?".
    pub answer_resolved: Option<bool>,
    /// `satisfied`, `basically_satisfied`, `unsatisfied`.
    pub answer_satisfaction: Option<String>,
    /// `citizen` or `follow_up`.
    pub answer_source: Option<String>,
    /// What the citizen wrote.
    pub description: Option<String>,
}

/// The columns, Chinese first; `township` and `description` only where they apply.
pub fn titles(township: bool, description: bool) -> Vec<&'static str> {
    let mut t = Vec::with_capacity(27);
    if township {
        t.push("乡镇 Township");
    }
    t.extend([
        "受理编号 Tracking number",
        "提交时间 Submitted",
        "渠道 Channel",
        "类别 Category",
        "优先级 Priority",
        "村/社区 Village",
        "网格 Grid",
        "状态 Status",
        "处理人 Handler",
        "处理层级 Handler level",
        "响应时限 First response due",
        "首次响应 First response",
        "办结时限 Resolution due",
        "办结时间 Resolved",
        "结案时间 Closed",
        "办结层级 Resolved at",
        "退单次数 Returns",
        "改派次数 Transfers",
        "重办次数 Reopenings",
        "升级次数 Escalations",
        "无效认定 Invalid",
        "是否解决 Resolved (answer)",
        "满意度 Satisfaction",
        "评价来源 Answered by",
    ]);
    if description {
        t.push("诉求内容 Description");
    }
    t
}

impl CaseRow {
    /// The row's cells in the order of [`titles`].
    pub fn cells<'a>(&'a self, township: Option<&'a str>, description: bool) -> Vec<Cell<'a>> {
        let mut c = Vec::with_capacity(27);
        if let Some(name) = township {
            c.push(Cell::Text(name));
        }
        c.extend([
            Cell::Text(&self.tracking_number),
            Cell::Time(self.submitted_at),
            Cell::Text(channel_label(&self.channel)),
            Cell::Text(&self.category),
            Cell::Text(priority_label(&self.priority)),
            Cell::text(self.village.as_deref()),
            Cell::text(self.grid.as_deref()),
            Cell::Text(status_label(&self.status)),
            Cell::text(self.handler.as_deref()),
            Cell::text(self.handler_level.as_deref().map(level_label)),
            Cell::time(self.first_response_due),
            Cell::time(self.first_responded_at),
            Cell::time(self.resolve_due),
            Cell::time(self.resolved_at),
            Cell::time(self.closed_at),
            Cell::text(self.resolved_level.as_deref().map(level_label)),
            Cell::Int(self.returns.into()),
            Cell::Int(self.transfers.into()),
            Cell::Int(self.reopenings.into()),
            Cell::Int(self.escalations.into()),
            Cell::text(invalid_label(&self.invalid_status)),
            Cell::text(
                self.answer_resolved
                    .map(|r| if r { "已解决" } else { "未解决" }),
            ),
            Cell::text(self.answer_satisfaction.as_deref().map(satisfaction_label)),
            Cell::text(self.answer_source.as_deref().map(source_label)),
        ]);
        if description {
            c.push(Cell::text(self.description.as_deref()));
        }
        c
    }
}

fn channel_label(raw: &str) -> &str {
    match raw {
        "qr" => "扫码",
        "assisted" => "代为上报",
        "api" => "接口",
        other => other,
    }
}

fn priority_label(raw: &str) -> &str {
    match raw {
        "urgent" => "紧急",
        "normal" => "一般",
        other => other,
    }
}

fn status_label(raw: &str) -> &str {
    // The stored names are the state's; an unknown one is shown as stored.
    if raw == SUBMITTED {
        return "已提交";
    }
    match CaseState::parse(raw) {
        Some(state) => state.label_zh(),
        None => raw,
    }
}

fn level_label(raw: &str) -> &str {
    match raw {
        "grid" => "网格",
        "village" => "村",
        "township" => "镇",
        "county" => "县",
        other => other,
    }
}

fn invalid_label(raw: &str) -> Option<&str> {
    match raw {
        "none" => None,
        "requested" => Some("申请中"),
        "approved" => Some("无效"),
        "rejected" => Some("驳回（有效）"),
        other => Some(other),
    }
}

fn satisfaction_label(raw: &str) -> &str {
    match raw {
        "satisfied" => "满意",
        "basically_satisfied" => "基本满意",
        "unsatisfied" => "不满意",
        other => other,
    }
}

fn source_label(raw: &str) -> &str {
    match raw {
        "citizen" => "群众评价",
        "follow_up" => "回访",
        other => other,
    }
}

/// One page of the read, in a township's transaction: local times in the
/// township's zone, in the order of the facts' index of a township's days, after
/// the cursor `($12, $13)` (a row comparison the index of a township's days answers),
/// at most `$14` rows.
const SELECT: &str = "\
SELECT f.submitted_day, f.report_id,
       f.tracking_number,
       f.submitted_at AT TIME ZONE $2 AS submitted_at,
       f.channel,
       coalesce(c.name_zh, f.category) AS category,
       f.priority,
       v.name AS village,
       g.name AS grid,
       f.status,
       u.name AS handler,
       f.handler_level,
       f.first_response_due AT TIME ZONE $2 AS first_response_due,
       f.first_responded_at AT TIME ZONE $2 AS first_responded_at,
       f.resolve_due AT TIME ZONE $2 AS resolve_due,
       f.resolved_at AT TIME ZONE $2 AS resolved_at,
       f.closed_at AT TIME ZONE $2 AS closed_at,
       f.resolved_level,
       f.returns, f.transfers, f.reopenings, f.escalations,
       f.invalid_status,
       f.answer_resolved, f.answer_satisfaction, f.answer_source,
       CASE WHEN $11 THEN (
           SELECT e.envelope #>> '{payload,description}'
           FROM analytics.events e
           WHERE e.tenant_id = f.tenant_id AND e.report_id = f.report_id
             AND e.event_type = 'report.submitted'
           ORDER BY e.occurred_at LIMIT 1
       ) END AS description
FROM analytics.case_facts f
LEFT JOIN routing.categories c ON c.tenant_id = f.tenant_id AND c.code = f.category
LEFT JOIN routing.grid_nodes v ON v.tenant_id = f.tenant_id AND v.id = f.village_node_id
LEFT JOIN routing.grid_nodes g ON g.tenant_id = f.tenant_id AND g.id = f.grid_node_id
LEFT JOIN routing.staff_users u ON u.tenant_id = f.tenant_id AND u.id = f.handler_id
WHERE f.tenant_id = $1
  AND f.submitted_day BETWEEN $3 AND $4
  AND ($5::uuid[] IS NULL OR f.grid_node_id = ANY($5) OR f.village_node_id = ANY($5))
  AND ($6::uuid[] IS NULL OR f.grid_node_id = ANY($6) OR f.village_node_id = ANY($6))
  AND ($7::text IS NULL OR f.category = $7)
  AND ($8::text IS NULL OR f.status = $8)
  AND ($9::text IS NULL OR f.channel = $9)
  AND ($10::uuid IS NULL OR f.handler_id = $10)
  AND (f.submitted_day, f.report_id) > ($12, $13)
ORDER BY f.submitted_day, f.report_id
LIMIT $14";

/// What limits a township's read beyond the filter: nodes, each with everything
/// below it (`None` = no limit).
#[derive(Clone, Debug, Default)]
pub struct NodeLimits {
    /// The `node_id` filter, expanded to its subtree.
    pub filter: Option<Vec<Uuid>>,
    /// What the principal's roles reach, expanded to the subtrees.
    pub visible: Option<Vec<Uuid>>,
}

/// Where the next page starts: after this (local day, report).
pub type Cursor = Option<(NaiveDate, Uuid)>;

/// One page of a township's rows after `after` (in its transaction `conn`, zone
/// `time_zone`), at most `limit`.
#[allow(clippy::too_many_arguments)]
pub async fn page(
    conn: &mut PgConnection,
    tenant: Uuid,
    time_zone: &str,
    filter: &ExportFilter,
    limits: &NodeLimits,
    description: bool,
    after: Cursor,
    limit: i64,
) -> Result<Vec<CaseRow>, sqlx::Error> {
    // The first page starts after a key below every row of the period, so that the
    // cursor is always an index condition: an `IS NULL OR` around it would leave the
    // planner a filter, and every page would walk the period from its first day.
    let (from_day, from_report) = after.unwrap_or((
        filter.from.pred_opt().unwrap_or(NaiveDate::MIN),
        Uuid::nil(),
    ));
    sqlx::query_as::<_, CaseRow>(SELECT)
        .bind(tenant)
        .bind(time_zone)
        .bind(filter.from)
        .bind(filter.to)
        .bind(limits.filter.as_deref())
        .bind(limits.visible.as_deref())
        .bind(filter.category.as_deref())
        .bind(filter.status)
        .bind(filter.channel)
        .bind(filter.handler.map(|h| h.as_uuid()))
        .bind(description)
        .bind(from_day)
        .bind(from_report)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// `roots` and every node below them in a township (in its transaction).
pub async fn subtrees(
    conn: &mut PgConnection,
    tenant: Uuid,
    roots: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "WITH RECURSIVE below(id) AS ( \
             SELECT id FROM routing.grid_nodes WHERE tenant_id = $1 AND id = ANY($2) \
             UNION \
             SELECT n.id FROM routing.grid_nodes n JOIN below b ON n.parent_id = b.id \
             WHERE n.tenant_id = $1 \
         ) SELECT id FROM below",
    )
    .bind(tenant)
    .bind(roots)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn row() -> CaseRow {
        let at = NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a time");
        CaseRow {
            submitted_day: at.date(),
            report_id: Uuid::nil(),
            tracking_number: "CT-20261201-0001".into(),
            submitted_at: at,
            channel: "qr".into(),
            category: "道路".into(),
            priority: "urgent".into(),
            village: Some("新庄村".into()),
            grid: None,
            status: "in_progress".into(),
            handler: Some("王网格".into()),
            handler_level: Some("village".into()),
            first_response_due: Some(at),
            first_responded_at: None,
            resolve_due: None,
            resolved_at: None,
            closed_at: None,
            resolved_level: None,
            returns: 1,
            transfers: 0,
            reopenings: 0,
            escalations: 2,
            invalid_status: "rejected".into(),
            answer_resolved: Some(false),
            answer_satisfaction: Some("basically_satisfied".into()),
            answer_source: Some("citizen".into()),
            description: Some("=1+1".into()),
        }
    }

    #[test]
    fn every_row_has_a_cell_under_every_title() {
        let r = row();
        for township in [None, Some("草滩镇")] {
            for description in [false, true] {
                assert_eq!(
                    titles(township.is_some(), description).len(),
                    r.cells(township, description).len()
                );
            }
        }
        let titles = titles(true, true);
        assert_eq!(titles[0], "乡镇 Township");
        assert_eq!(titles.last(), Some(&"诉求内容 Description"));
    }

    #[test]
    fn stored_codes_are_shown_as_chinese_labels() {
        let r = row();
        let cells = r.cells(None, true);
        let text = |i: usize| match &cells[i] {
            Cell::Text(t) => *t,
            other => panic!("text, not {other:?}"),
        };
        assert_eq!(
            [
                text(2),
                text(4),
                text(7),
                text(9),
                text(20),
                text(21),
                text(22),
                text(23)
            ],
            [
                "扫码",
                "紧急",
                "办理中",
                "村",
                "驳回（有效）",
                "未解决",
                "基本满意",
                "群众评价"
            ]
        );
        assert_eq!(cells[6], Cell::Empty, "no grid");
        assert_eq!(cells[16], Cell::Int(1));
        assert_eq!(status_label("submitted"), "已提交");
        assert_eq!(invalid_label("none"), None);
    }
}
