//! `/admin/assignment-rules`: the township's assignment rules in the order they are
//! tried, what each matches and where it sends a case (with who holds that role
//! there now), a form to add one, a button to delete one, and a preview of who would
//! get a new case of a category at a grid now.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use mashang_domain::role::Role;
use mashang_http::FieldError;
use serde::Deserialize;
use uuid::Uuid;

use super::super::case_fmt::Names;
use super::super::layout::{Chrome, PageError, Staff, render, see_other};
use super::super::people::error_on;
use super::super::tree::{NodeOption, node_options};
use super::{DutyNow, duty_now, notice};
use crate::RoutingState;
use crate::directory::nodes;
use crate::http::assignment::{
    MAX_POSITION, MAX_RULES, Rule, RuleInput, TARGET_ROLES, check_rule, insert_rule, remove_rule,
    rules,
};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The add form as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RuleForm {
    #[serde(default)]
    position: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    within_node: String,
    #[serde(default)]
    target_node: String,
    #[serde(default)]
    target_role: String,
}

/// Someone who holds a rule's target role at its target node.
#[derive(Debug)]
struct Holder {
    name: String,
    duty: DutyNow,
}

/// A rule as listed.
#[derive(Debug)]
struct RuleLine {
    id: Uuid,
    position: i32,
    category: String,
    within: String,
    target: String,
    role: &'static str,
    /// `None` when the rule sends cases to their own grid (holders differ by grid).
    holders: Option<Vec<Holder>>,
}

/// Who would get a new case now, for the preview.
#[derive(Debug)]
struct Preview {
    /// Where the rules send it: `新庄村 的 网格长`.
    intended: String,
    /// Who would get it, and where, when someone can.
    who: Option<String>,
    /// Whether nobody could take it where the rules send it (it goes up the ladder).
    vacancy: bool,
    /// The township holds new cases for its centre to dispatch.
    triage: bool,
}

#[derive(Debug, Template)]
#[template(path = "admin/assignment_rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<RuleLine>,
    form: RuleForm,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
    categories: Vec<(String, String)>,
    nodes: Vec<NodeOption>,
    roles: Vec<(&'static str, &'static str)>,
    max_rules: i64,
    max_position: i32,
    preview: Option<Preview>,
    try_grid: String,
    try_category: String,
    try_error: Option<&'static str>,
}

impl RulesPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }

    fn full(&self) -> bool {
        self.rules.len() >= usize::try_from(self.max_rules).unwrap_or(usize::MAX)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RulesQuery {
    ok: Option<String>,
    /// The preview's grid and category.
    grid: Option<String>,
    category: Option<String>,
}

/// The township's active categories (code, name), in their order.
async fn categories(tx: &mut TenantTx) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT code, name_zh FROM routing.categories WHERE tenant_id = $1 AND active ORDER BY position, code",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await
}

/// Who holds `role` at `node` (active people), with their duty now.
async fn holders(
    tx: &mut TenantTx,
    node: Uuid,
    role: Role,
    duty: &std::collections::HashMap<Uuid, DutyNow>,
) -> Result<Vec<Holder>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT u.id, u.name FROM routing.staff_roles r \
         JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND r.node_id = $2 AND r.role = $3 AND u.active ORDER BY u.name",
    )
    .bind(tx.tenant().as_uuid())
    .bind(node)
    .bind(role.as_str())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Holder {
            name,
            duty: duty.get(&id).cloned().unwrap_or_default(),
        })
        .collect())
}

async fn lines(
    tx: &mut TenantTx,
    all: Vec<Rule>,
    names: &Names,
) -> Result<Vec<RuleLine>, sqlx::Error> {
    let duty = duty_now(tx, None).await?;
    let mut out = Vec::with_capacity(all.len());
    for rule in all {
        let role = Role::parse(&rule.target_role).unwrap_or(Role::GridWorker);
        let holders = match rule.target_node {
            Some(node) => Some(holders(tx, node, role, &duty).await?),
            None => None,
        };
        out.push(RuleLine {
            id: rule.id,
            position: rule.position,
            category: rule.category.as_deref().map_or_else(
                || "任何类别 (any category)".to_owned(),
                |c| names.category(c),
            ),
            within: rule.within_node.map_or_else(
                || "全镇 (anywhere)".to_owned(),
                |n| format!("{} 及其下级 (and below)", names.node(n)),
            ),
            target: rule.target_node.map_or_else(
                || "案件所在的网格 (the case's own grid)".to_owned(),
                |n| names.node(n),
            ),
            role: role.name_zh(),
            holders,
        });
    }
    Ok(out)
}

/// Who would get a case of `category` at `grid` now; `Err` with what to say when the
/// preview's input is not the township's.
async fn preview(
    tx: &mut TenantTx,
    names: &Names,
    grid: &str,
    category: &str,
    known: &[(String, String)],
) -> Result<Result<Preview, &'static str>, PageError> {
    let node = match grid.parse::<GridNodeId>() {
        Ok(id) => nodes::node(tx, id).await?,
        Err(_) => None,
    };
    let (Some(node), true) = (node, known.iter().any(|(c, _)| c == category)) else {
        return Ok(Err(
            "请选择本镇的网格和类别。(Choose a grid and a category of this township.)",
        ));
    };
    let chosen =
        crate::cases::assign::pick(tx, GridNodeId::from_uuid(node.id), category, Utc::now())
            .await
            .map_err(PageError::Internal)?;
    let (intended_node, intended_role) =
        crate::cases::assign::target(tx, GridNodeId::from_uuid(node.id), category)
            .await
            .map_err(PageError::Internal)?;
    let triage: Option<(String,)> =
        sqlx::query_as("SELECT triage_mode FROM routing.tenant_settings WHERE tenant_id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(Ok(Preview {
        intended: format!(
            "{} 的 {}",
            names.node(intended_node.as_uuid()),
            intended_role.name_zh()
        ),
        who: chosen.map(|c| {
            format!(
                "{}（{} 的 {}）",
                names.person(Some(c.user.as_uuid())),
                names.node(c.node.as_uuid()),
                c.role.name_zh()
            )
        }),
        vacancy: chosen.is_some_and(|c| c.vacancy),
        triage: triage.is_some_and(|(m,)| m == "triage"),
    }))
}

async fn build(
    state: &RoutingState,
    staff: Staff,
    form: Option<RuleForm>,
    errors: Vec<FieldError>,
    q: RulesQuery,
) -> Result<RulesPage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let names = Names::load(&mut tx).await?;
    let all = rules(&mut tx).await?;
    let next = all
        .iter()
        .map(|r| r.position)
        .max()
        .map_or(10, |p| p.saturating_add(10).min(MAX_POSITION));
    let rules = lines(&mut tx, all, &names).await?;
    let categories = categories(&mut tx).await?;
    let nodes = node_options(&nodes::tree(&mut tx).await?, &HashSet::new());
    let (try_grid, try_category) = (q.grid.unwrap_or_default(), q.category.unwrap_or_default());
    let (preview, try_error) = if try_grid.is_empty() && try_category.is_empty() {
        (None, None)
    } else {
        match preview(&mut tx, &names, &try_grid, &try_category, &categories).await? {
            Ok(p) => (Some(p), None),
            Err(why) => (None, Some(why)),
        }
    };
    tx.commit().await?;
    Ok(RulesPage {
        chrome: staff.chrome,
        rules,
        form: form.unwrap_or_else(|| RuleForm {
            position: next.to_string(),
            target_role: Role::GridWorker.as_str().to_owned(),
            ..RuleForm::default()
        }),
        errors,
        notice: notice(q.ok.as_deref()),
        categories,
        nodes,
        roles: TARGET_ROLES
            .into_iter()
            .map(|r| (r.as_str(), r.name_zh()))
            .collect(),
        max_rules: MAX_RULES,
        max_position: MAX_POSITION,
        preview,
        try_grid,
        try_category,
        try_error,
    })
}

/// `GET /admin/assignment-rules[?grid=…&category=…]`.
#[utoipa::path(get, path = "/admin/assignment-rules", tag = "pages", operation_id = "get_admin_assignment_rules",
    summary = "派单规则 (The assignment rules page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<RulesQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let page = build(&state, staff, None, Vec::new(), q).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/assignment-rules`: adds a rule.
#[utoipa::path(post, path = "/admin/assignment-rules", tag = "pages", operation_id = "post_admin_assignment_rules",
    summary = "添加规则 (Adds a rule)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn add(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let mut errors = Vec::new();
    let position = match form.position.trim() {
        "" => None,
        raw => match raw.parse::<i32>() {
            Ok(p) => Some(p),
            Err(_) => {
                errors.push(FieldError::new(
                    "position",
                    format!(
                        "顺序为 0 到 {MAX_POSITION} 的整数 (a whole number from 0 to {MAX_POSITION})"
                    ),
                ));
                None
            }
        },
    };
    let blank = |raw: &str| Some(raw.trim().to_owned()).filter(|r| !r.is_empty());
    let input = RuleInput {
        position,
        category: blank(&form.category),
        within_node: blank(&form.within_node),
        target_node: blank(&form.target_node),
        target_role: form.target_role.clone(),
    };
    let mut tx = state.db.tenant(staff.tenant).await?;
    match check_rule(&mut tx, &input).await? {
        Ok(rule) if errors.is_empty() => {
            insert_rule(&mut tx, &rule).await?;
            tx.commit().await?;
            return Ok(see_other("/admin/assignment-rules?ok=added"));
        }
        Ok(_) => {}
        Err(more) => errors.extend(more),
    }
    drop(tx);
    let page = build(&state, staff, Some(form), errors, RulesQuery::default()).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `POST /admin/assignment-rules/{id}/delete`: retires a rule.
#[utoipa::path(post, path = "/admin/assignment-rules/{id}/delete", tag = "pages", operation_id = "post_admin_assignment_rules_id_delete",
    summary = "删除规则 (Removes a rule)",
    params(("id" = uuid::Uuid, Path, description = "The rule")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn delete(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let id: Uuid = id.parse().map_err(|_| PageError::not_found())?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    if !remove_rule(&mut tx, id).await? {
        return Err(PageError::not_found());
    }
    tx.commit().await?;
    Ok(see_other("/admin/assignment-rules?ok=deleted"))
}
