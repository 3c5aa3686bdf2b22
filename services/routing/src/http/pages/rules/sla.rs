//! `/admin/sla-policies`: the deadlines of new cases per category and priority (the
//! `*` row for every category without its own), what a case received now would be
//! due by, and one policy's form.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use chrono_tz::Tz;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::calendar::WorkingCalendar;
use mashang_domain::sla::{
    ReminderError, ReminderPoints, SlaPolicy, SlaTarget, TargetKind, TargetLength, schedule,
};
use mashang_http::FieldError;
use serde::Deserialize;

use super::{Tab, day_length, error_on, field_errors, local_when, notice};
use crate::RoutingState;
use crate::http::categories::{self, Category};
use crate::http::pages::layout::{Chrome, PageError, Staff, render, see_other};
use crate::http::settings::save_policy;
use crate::workflow::{calendar, policy};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The priorities, with their Chinese names.
const PRIORITIES: [(&str, &str); 2] = [("normal", "普通"), ("urgent", "紧急")];

/// The units a target's length is typed in; hours are stored as minutes.
const UNITS: [(&str, &str); 5] = [
    ("wall_minutes", "分钟（自然时间） minutes, wall clock"),
    ("wall_hours", "小时（自然时间） hours, wall clock"),
    ("working_minutes", "工作分钟 working minutes"),
    ("working_hours", "工作小时 working hours"),
    ("working_days", "工作日 working days"),
];

/// A target's length as typed: an amount and a unit of [`UNITS`].
fn typed_length(length: TargetLength) -> (String, &'static str) {
    match length {
        TargetLength::WallMinutes(m) if m % 60 == 0 => ((m / 60).to_string(), "wall_hours"),
        TargetLength::WallMinutes(m) => (m.to_string(), "wall_minutes"),
        TargetLength::WorkingMinutes(m) if m % 60 == 0 => ((m / 60).to_string(), "working_hours"),
        TargetLength::WorkingMinutes(m) => (m.to_string(), "working_minutes"),
        TargetLength::WorkingDays(d) => (d.to_string(), "working_days"),
    }
}

/// A target's length in words: `30分钟 (自然时间)`, `3个工作日`.
fn length_words(length: TargetLength) -> String {
    let (amount, unit) = typed_length(length);
    match unit {
        "wall_minutes" => format!("{amount}分钟（自然时间）"),
        "wall_hours" => format!("{amount}小时（自然时间）"),
        "working_minutes" => format!("{amount}工作分钟"),
        "working_hours" => format!("{amount}工作小时"),
        _ => format!("{amount}个工作日"),
    }
}

/// Where a row's policy comes from.
fn source_words(own: bool, from_all: bool) -> &'static str {
    match (own, from_all) {
        (true, _) => "本行设定 (set here)",
        (false, true) => "沿用“全部类别” (from the all-categories row)",
        (false, false) => "系统默认 (built-in default)",
    }
}

/// When a case received now would be due, on the township's calendar.
fn due_now(target: &SlaTarget, calendar: &WorkingCalendar, zone: Tz) -> String {
    match schedule(target, calendar, Utc::now(), &[])
        .ok()
        .and_then(|points| points.last().copied())
    {
        Some(p) if p.provisional => format!("{}（暂定）", local_when(p.due, zone)),
        Some(p) => local_when(p.due, zone),
        None => "—".to_owned(),
    }
}

/// One line of the table.
#[derive(Debug)]
struct PolicyRow {
    category: String,
    label: String,
    label_en: String,
    inactive: bool,
    priority: &'static str,
    priority_zh: &'static str,
    first_response: String,
    resolution: String,
    follow_up: String,
    source: &'static str,
    own: bool,
    first_response_due: String,
    resolution_due: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/rules_sla.html")]
struct ListPage {
    chrome: Chrome,
    tab: Tab,
    rows: Vec<PolicyRow>,
    day_hours: String,
    day_hours_en: String,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

/// `GET /admin/sla-policies`.
#[utoipa::path(get, path = "/admin/sla-policies", tag = "pages", operation_id = "get_admin_sla_policies",
    summary = "时限规则 (The SLA policies page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn list(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let categories = categories::all(&mut tx).await?;
    let stored = policy::stored(&mut tx).await.map_err(PageError::Internal)?;
    let cal = calendar::load(&mut tx).await.map_err(PageError::Internal)?;
    tx.commit().await?;
    let zone = cal.zone();
    let find = |category: &str, priority: &str| {
        stored
            .iter()
            .find(|s| s.category == category && s.priority == priority)
            .map(|s| &s.policy)
    };
    let every = std::iter::once((
        "*".to_owned(),
        "全部类别".to_owned(),
        "All categories".to_owned(),
        false,
    ))
    .chain(categories.iter().map(|c: &Category| {
        (
            c.code.clone(),
            c.name_zh.clone(),
            c.name_en.clone(),
            !c.active,
        )
    }));
    let mut rows = Vec::new();
    for (code, label, label_en, inactive) in every {
        for (priority, priority_zh) in PRIORITIES {
            let own = find(&code, priority);
            let any = find("*", priority);
            let policy = own
                .or(any)
                .cloned()
                .unwrap_or_else(|| policy::default_for(priority));
            rows.push(PolicyRow {
                category: code.clone(),
                label: label.clone(),
                label_en: label_en.clone(),
                inactive,
                priority,
                priority_zh,
                first_response: length_words(policy.first_response.length),
                resolution: length_words(policy.resolution.length),
                follow_up: length_words(policy.follow_up.length),
                source: source_words(own.is_some(), any.is_some() && code != "*"),
                own: own.is_some(),
                first_response_due: due_now(&policy.first_response, &cal, zone),
                resolution_due: due_now(&policy.resolution, &cal, zone),
            });
        }
    }
    let (day_hours, day_hours_en) = day_length(cal.standard_day_minutes());
    Ok(render(
        StatusCode::OK,
        &ListPage {
            chrome: staff.chrome,
            tab: Tab::Sla,
            rows,
            day_hours,
            day_hours_en,
            notice: notice(q.ok.as_deref()),
        },
    ))
}

/// One target's fields as typed.
#[derive(Debug, Default)]
struct TargetForm {
    amount: String,
    unit: String,
    reminders: String,
}

impl TargetForm {
    fn of(target: &SlaTarget) -> Self {
        let (amount, unit) = typed_length(target.length);
        Self {
            amount,
            unit: unit.to_owned(),
            reminders: target
                .reminders
                .percents()
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// The three targets' fields, in the order of [`TargetKind::ALL`].
#[derive(Debug, Default)]
struct PolicyForm {
    targets: [TargetForm; 3],
}

impl PolicyForm {
    fn of(policy: &SlaPolicy) -> Self {
        Self {
            targets: TargetKind::ALL.map(|k| TargetForm::of(policy.target(k))),
        }
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            let Some((kind, field)) = key.split_once('.') else {
                continue;
            };
            let Some(i) = TargetKind::ALL.iter().position(|k| k.as_str() == kind) else {
                continue;
            };
            let slot = &mut form.targets[i];
            match field {
                "amount" => slot.amount = value,
                "unit" => slot.unit = value,
                "reminders" => slot.reminders = value,
                _ => {}
            }
        }
        form
    }

    /// The policy typed, or what is wrong with each field.
    fn parse(&self) -> Result<SlaPolicy, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut targets = Vec::new();
        for (kind, typed) in TargetKind::ALL.into_iter().zip(&self.targets) {
            let length = parse_length(&typed.amount, &typed.unit).map_err(|m| {
                errors.push(FieldError::new(format!("{}.length", kind.as_str()), m));
            });
            let reminders = parse_reminders(&typed.reminders).map_err(|m| {
                errors.push(FieldError::new(format!("{}.reminders", kind.as_str()), m));
            });
            if let (Ok(length), Ok(reminders)) = (length, reminders) {
                targets.push(SlaTarget { length, reminders });
            }
        }
        match <[SlaTarget; 3]>::try_from(targets) {
            Ok([first_response, resolution, follow_up]) if errors.is_empty() => Ok(SlaPolicy {
                first_response,
                resolution,
                follow_up,
            }),
            _ => Err(errors),
        }
    }
}

/// A length typed as an amount and a unit; the domain then checks its bounds.
fn parse_length(amount: &str, unit: &str) -> Result<TargetLength, &'static str> {
    let n: u32 = amount
        .trim()
        .parse()
        .map_err(|_| "请填写整数 (a whole number)")?;
    let too_long = "最长366天或250个工作日 (at most 366 days or 250 working days)";
    Ok(match unit {
        "wall_minutes" => TargetLength::WallMinutes(n),
        "wall_hours" => TargetLength::WallMinutes(n.checked_mul(60).ok_or(too_long)?),
        "working_minutes" => TargetLength::WorkingMinutes(n),
        "working_hours" => TargetLength::WorkingMinutes(n.checked_mul(60).ok_or(too_long)?),
        "working_days" => TargetLength::WorkingDays(n),
        _ => return Err("请选择单位 (choose a unit)"),
    })
}

/// Reminder points typed as percentages (`50,80`; Chinese commas too; empty: none).
fn parse_reminders(raw: &str) -> Result<ReminderPoints, &'static str> {
    if raw.chars().count() > 40 {
        return Err("最多5个提醒点 (at most 5 points)");
    }
    let points = raw
        .split([',', '，', '、', ' ', '%', '％'])
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "写成百分数，用逗号隔开，例如 50,80 (percentages, e.g. 50,80)")?;
    ReminderPoints::new(points).map_err(|e| match e {
        ReminderError::OutOfRange => "每个提醒点在1%到99%之间 (each from 1 to 99)",
        ReminderError::Unordered => "从小到大排列，不要重复 (in increasing order)",
        ReminderError::TooMany => "最多5个提醒点 (at most 5 points)",
    })
}

/// One target's part of the form, for the template.
#[derive(Debug)]
struct TargetBlock {
    kind: &'static str,
    zh: &'static str,
    en: &'static str,
    hint: &'static str,
    typed: TargetForm,
    due: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/rules_sla_policy.html")]
struct PolicyPage {
    chrome: Chrome,
    category: String,
    label: String,
    priority: &'static str,
    priority_zh: &'static str,
    source: &'static str,
    blocks: Vec<TargetBlock>,
    units: [(&'static str, &'static str); 5],
    errors: Vec<FieldError>,
}

impl PolicyPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }
}

/// The category (`*` or a code of the township) and priority of a path; 404 otherwise.
async fn find(
    tx: &mut mashang_db::TenantTx,
    category: &str,
    priority: &str,
) -> Result<(String, &'static str, &'static str), PageError> {
    let (priority, priority_zh) = PRIORITIES
        .into_iter()
        .find(|(p, _)| *p == priority)
        .ok_or_else(PageError::not_found)?;
    if category == "*" {
        return Ok((
            "全部类别 (all categories)".to_owned(),
            priority,
            priority_zh,
        ));
    }
    let found = categories::all(tx)
        .await?
        .into_iter()
        .find(|c| c.code == category)
        .ok_or_else(PageError::not_found)?;
    Ok((
        format!("{} ({})", found.name_zh, found.name_en),
        priority,
        priority_zh,
    ))
}

/// The policy page with `typed` (or the policy in force) and `errors`.
async fn policy_page(
    state: &RoutingState,
    staff: &Staff,
    category: &str,
    priority: &str,
    typed: Option<PolicyForm>,
    errors: Vec<FieldError>,
) -> Result<PolicyPage, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let (label, priority, priority_zh) = find(&mut tx, category, priority).await?;
    let stored = policy::stored(&mut tx).await.map_err(PageError::Internal)?;
    let in_force = policy::pick(&mut tx, category, priority)
        .await
        .map_err(PageError::Internal)?;
    let cal = calendar::load(&mut tx).await.map_err(PageError::Internal)?;
    tx.commit().await?;
    let own = stored
        .iter()
        .any(|s| s.category == category && s.priority == priority);
    let any = stored
        .iter()
        .any(|s| s.category == "*" && s.priority == priority);
    let form = typed.unwrap_or_else(|| PolicyForm::of(&in_force));
    let hints = [
        "从群众提交时算起，电话联系群众 (the call back, from submission)",
        "从群众提交时算起，办结并记录处理措施 (measures recorded, from submission)",
        "从办结时算起，回访群众、了解满意度 (checking with the citizen, from resolution)",
    ];
    let blocks = TargetKind::ALL
        .into_iter()
        .zip(form.targets)
        .zip(hints)
        .map(|((kind, typed), hint)| TargetBlock {
            kind: kind.as_str(),
            zh: kind.label_zh(),
            en: match kind {
                TargetKind::FirstResponse => "First response",
                TargetKind::Resolution => "Resolution",
                TargetKind::FollowUp => "Follow-up",
            },
            hint,
            due: due_now(in_force.target(kind), &cal, cal.zone()),
            typed,
        })
        .collect();
    Ok(PolicyPage {
        chrome: staff.chrome.clone(),
        category: category.to_owned(),
        label,
        priority,
        priority_zh,
        source: source_words(own, any && category != "*"),
        blocks,
        units: UNITS,
        errors,
    })
}

/// `GET /admin/sla-policies/{category}/{priority}`.
#[utoipa::path(get, path = "/admin/sla-policies/{category}/{priority}", tag = "pages", operation_id = "get_admin_sla_policies_category_priority",
    summary = "时限规则 (One SLA policy page)",
    params(("category" = String, Path, max_length = 100, description = "A category code or `*`"), ("priority" = String, Path, max_length = 100, description = "`normal` or `urgent`")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    staff: Staff,
    Path((category, priority)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let page = policy_page(&state, &staff, &category, &priority, None, Vec::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/sla-policies/{category}/{priority}`: through the API's own function.
#[utoipa::path(post, path = "/admin/sla-policies/{category}/{priority}", tag = "pages", operation_id = "post_admin_sla_policies_category_priority",
    summary = "保存时限规则 (Saves an SLA policy)",
    params(("category" = String, Path, max_length = 100, description = "A category code or `*`"), ("priority" = String, Path, max_length = 100, description = "`normal` or `urgent`")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn save(
    State(state): State<RoutingState>,
    staff: Staff,
    Path((category, priority)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    {
        // An unknown category or priority is not found, before anything is read.
        let mut tx = state.db.tenant(staff.tenant).await?;
        find(&mut tx, &category, &priority).await?;
        tx.commit().await?;
    }
    let form = PolicyForm::from_pairs(pairs);
    let errors = match form.parse() {
        Ok(policy) => {
            match save_policy(&state, &staff.principal, &category, &priority, policy).await {
                Ok(_) => return Ok(see_other("/admin/sla-policies?ok=saved")),
                Err(err) => field_errors(err)?,
            }
        }
        Err(errors) => errors,
    };
    let page = policy_page(&state, &staff, &category, &priority, Some(form), errors).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
