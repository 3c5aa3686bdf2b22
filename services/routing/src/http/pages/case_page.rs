//! One case for the person handling it (`/console/cases/{id}`): what the citizen
//! reported (text, photos, voice note, place), the citizen's phone with one big call
//! button, the deadlines with the time left, then only the actions the case's state
//! and the person's roles allow, each a plain form that posts to `case_forms`, and the
//! timeline in words, newest first.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use mashang_auth::permissions::{Action as Permission, Target, allows};
use mashang_db::TenantTx;
use mashang_domain::case::{
    ActionKind, CaseFacts, CaseState, ContactMethod, ReturnReason, SATISFACTION_LEVELS, next,
};
use mashang_domain::events::{AttachmentKind, AttachmentRef};
use mashang_domain::{CaseId, GridNodeId, UserId};
use serde::Deserialize;
use uuid::Uuid;

use super::case_fmt::{Names, Said, TimeLeft, describe, entry_version, state_label, time_left};
use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use crate::cases::read::{CaseView, load};
use crate::directory::nodes;
use mashang_http::openapi::{Html, PageErrors};

/// The actions the page offers, in the order they are shown (the work first).
const SHOWN: [ActionKind; 15] = [
    ActionKind::Dispatch,
    ActionKind::Acknowledge,
    ActionKind::Start,
    ActionKind::Resume,
    ActionKind::Resolve,
    ActionKind::Pause,
    ActionKind::FollowUp,
    ActionKind::ApproveInvalid,
    ActionKind::RejectInvalid,
    ActionKind::Reopen,
    ActionKind::Close,
    ActionKind::Transfer,
    ActionKind::Escalate,
    ActionKind::Return,
    ActionKind::RequestInvalid,
];

/// The permission an action needs (as the JSON API asks it).
pub(super) fn permission(kind: ActionKind) -> Permission {
    match kind {
        ActionKind::Assign | ActionKind::Dispatch | ActionKind::Transfer => {
            Permission::ReassignCase
        }
        ActionKind::Escalate => Permission::EscalateCase,
        ActionKind::ApproveInvalid | ActionKind::RejectInvalid => Permission::ApproveInvalid,
        ActionKind::FollowUp | ActionKind::Reopen | ActionKind::Close => Permission::FollowUpCase,
        _ => Permission::WorkCase,
    }
}

/// The button's words for an action: (Chinese, English).
pub(super) fn button(kind: ActionKind) -> (&'static str, &'static str) {
    match kind {
        ActionKind::Dispatch => ("派单", "Dispatch"),
        ActionKind::Transfer => ("改派", "Transfer"),
        ActionKind::Acknowledge => ("已电话联系", "Citizen contacted"),
        ActionKind::Start => ("开始处理", "Start work"),
        ActionKind::Pause => ("等待群众补充", "Wait on the citizen"),
        ActionKind::Resume => ("继续办理", "Resume"),
        ActionKind::Resolve => ("已办结", "Resolved"),
        ActionKind::Return => ("退回", "Return"),
        ActionKind::Escalate => ("申请上级协调", "Ask a higher level"),
        ActionKind::RequestInvalid => ("申请无效", "Request invalid"),
        ActionKind::ApproveInvalid => ("批准无效", "Approve invalid"),
        ActionKind::RejectInvalid => ("驳回无效申请", "Reject the request"),
        ActionKind::FollowUp => ("回访", "Follow up"),
        ActionKind::Reopen => ("重新办理", "Reopen"),
        ActionKind::Close => ("关闭案件", "Close"),
        ActionKind::Note => ("添加备注", "Add a note"),
        other => (other.label_zh(), other.as_str()),
    }
}

/// The kind of standard phrase (常用语) a form's text field offers.
pub(super) fn phrase_kind(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Acknowledge => "first_call",
        ActionKind::Resolve => "answer",
        ActionKind::FollowUp => "follow_up",
        _ => "reply",
    }
}

/// The name of a form's main text field (the one its phrases fill), if it has one.
pub(super) fn text_field(kind: ActionKind) -> Option<&'static str> {
    Some(match kind {
        ActionKind::Acknowledge => "summary",
        ActionKind::Resolve => "measures",
        ActionKind::Pause | ActionKind::Transfer | ActionKind::Escalate | ActionKind::Reopen => {
            "reason"
        }
        ActionKind::Note => "text",
        ActionKind::Return
        | ActionKind::RequestInvalid
        | ActionKind::ApproveInvalid
        | ActionKind::RejectInvalid
        | ActionKind::FollowUp => "note",
        _ => return None,
    })
}

/// One standard phrase.
#[derive(Clone, Debug)]
pub(super) struct Phrase {
    pub id: Uuid,
    pub kind: String,
    pub text: String,
}

/// What the person typed into a form that comes back (a bad input or a phrase tapped),
/// and what to say next to it.
#[derive(Clone, Debug, Default)]
pub(super) struct Typed {
    /// The action's slug.
    pub slug: String,
    /// The fields as typed.
    pub values: HashMap<String, String>,
    /// What was wrong, next to the form.
    pub errors: Vec<String>,
    /// Photos already uploaded with it (kept for the next try).
    pub photos: Vec<Uuid>,
}

/// One form on the page.
#[derive(Clone, Debug)]
pub(super) struct ActionForm {
    /// The action's name (`acknowledge`).
    pub name: String,
    /// The URL segment (`request-invalid`).
    pub slug: String,
    pub zh: &'static str,
    pub en: &'static str,
    /// Open (a `<details open>`): it comes back with an error or a phrase.
    pub open: bool,
    pub errors: Vec<String>,
    values: HashMap<String, String>,
    /// The phrases its text field offers.
    pub phrases: Vec<Phrase>,
    /// The text field they fill.
    pub text_field: &'static str,
    /// Photos already uploaded (resolve).
    pub photos: Vec<Uuid>,
    /// A button colour: the main step of the state.
    pub primary: bool,
}

impl ActionForm {
    /// The typed value of a field, or empty.
    pub fn v(&self, key: &str) -> &str {
        self.values.get(key).map(String::as_str).unwrap_or("")
    }

    /// Whether a select's option is chosen (`default` when nothing was typed).
    pub fn is(&self, key: &str, value: &str, default: impl std::borrow::Borrow<bool>) -> bool {
        match self.values.get(key) {
            Some(v) => v == value,
            None => *default.borrow(),
        }
    }
}

/// A person a case can be given to.
#[derive(Clone, Debug)]
pub(super) struct HandlerOption {
    pub id: Uuid,
    pub label: String,
}

/// A deadline with the time left.
#[derive(Clone, Debug)]
pub(super) struct Deadline {
    pub zh: &'static str,
    pub en: &'static str,
    pub at: String,
    pub left: TimeLeft,
}

/// A file of the case, by its URL.
#[derive(Clone, Debug)]
pub(super) struct File {
    pub url: String,
}

/// The page saying a form came too late.
#[derive(Clone, Debug)]
pub(super) struct Stale {
    /// What the person tried.
    pub tried: &'static str,
    /// Why it no longer fits, when the workflow said.
    pub reason: Option<String>,
    /// What happened since, newest first.
    pub since: Vec<Said>,
}

#[derive(Template)]
#[template(path = "console/case.html")]
pub(super) struct CasePage {
    pub chrome: Chrome,
    pub case: CaseView,
    pub state_zh: String,
    pub state_en: String,
    pub category: String,
    pub grid: String,
    pub assignee: String,
    pub submitted: String,
    pub deadlines: Vec<Deadline>,
    pub photos: Vec<File>,
    pub voice: Vec<File>,
    pub map: Option<(String, String)>,
    pub tel: Option<String>,
    pub forms: Vec<ActionForm>,
    pub note_form: Option<ActionForm>,
    pub handlers: Vec<HandlerOption>,
    pub timeline: Vec<Said>,
    pub notice: Option<&'static str>,
    pub stale: Option<Stale>,
    pub county: bool,
    pub county_error: Option<String>,
    pub reapply: bool,
    /// 申请延期, for a person the page offers the case's work while its resolution
    /// clock runs.
    pub extension: Option<super::centre_approvals::ExtensionFormView>,
    /// A request for more time waits for the centre.
    pub extension_pending: bool,
    pub css: String,
    pub js: String,
    /// Opened by the county through its search: read-only, under a banner saying why.
    pub read_only: Option<super::county_case::ReadOnly>,
}

impl CasePage {
    fn photo_url(&self, id: &str) -> String {
        match &self.read_only {
            Some(county) => format!("{}/{id}", county.files),
            None => format!("/api/v1/cases/{}/attachments/{id}", self.case.id),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ShowQuery {
    ok: Option<String>,
}

/// The confirmation after an action (from the redirect's `?ok=`; a fixed set).
pub(super) fn done_notice(ok: Option<&str>) -> Option<&'static str> {
    let kind = ActionKind::parse(ok?);
    Some(match kind {
        Some(ActionKind::Acknowledge) => "已记录联系群众。(Contact recorded.)",
        Some(ActionKind::Start) => "已开始处理。(Work started.)",
        Some(ActionKind::Pause) => {
            "已转为等待群众，计时暂停。(Waiting on the citizen; the clock is paused.)"
        }
        Some(ActionKind::Resume) => "已继续办理，计时恢复。(Resumed; the clock runs again.)",
        Some(ActionKind::Resolve) => "已办结，等待回访。(Resolved; a follow-up comes next.)",
        Some(ActionKind::Return) => "已退回综治中心。(Returned to the centre.)",
        Some(ActionKind::Escalate) => "已申请上级协调。(Sent to a higher level.)",
        Some(ActionKind::RequestInvalid) => "已申请无效，等待审核。(Invalidation requested.)",
        Some(ActionKind::Note) => "备注已添加。(Note added.)",
        Some(ActionKind::Dispatch) => "已派单。(Dispatched.)",
        Some(ActionKind::Transfer) => "已改派。(Transferred.)",
        Some(ActionKind::ApproveInvalid) => "已批准无效。(Invalidation approved.)",
        Some(ActionKind::RejectInvalid) => "已驳回无效申请。(Request rejected.)",
        Some(ActionKind::FollowUp) => "回访已记录。(Follow-up recorded.)",
        Some(ActionKind::Reopen) => "已重新办理。(Reopened.)",
        Some(ActionKind::Close) => "案件已关闭。(Closed.)",
        _ => match ok? {
            "county_request" => "已申请县级督办。(Sent to the county.)",
            "policy_reapplied" => "已按现行规则重算时限。(Deadlines recomputed.)",
            "extension" => "已提交延期申请，等待审批。(Extension requested.)",
            _ => return None,
        },
    })
}

/// `GET /console/cases/{id}`.
#[utoipa::path(get, path = "/console/cases/{id}", tag = "pages", operation_id = "get_console_cases_id",
    summary = "事件页面 (A case with its actions)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let id: CaseId = id.parse().map_err(|_| PageError::not_found())?;
    let notice = done_notice(q.ok.as_deref());
    let page = build(&state, &staff, id, None, None, notice).await?;
    Ok(render(StatusCode::OK, &page))
}

/// What a page needs to decide about a case: the case, its facts and where it is.
pub(super) struct Found {
    pub case: CaseView,
    pub facts: CaseFacts,
    pub ancestry: Vec<GridNodeId>,
}

impl Found {
    pub fn target(&self) -> Target<'_> {
        Target::Case {
            ancestry: &self.ancestry,
            assignee: self.case.assignee_id.map(UserId::from_uuid),
        }
    }

    pub fn state(&self) -> CaseState {
        self.facts.state
    }
}

/// Loads a case of the person's township that their roles let them see (404, 403).
pub(super) async fn find(tx: &mut TenantTx, staff: &Staff, id: CaseId) -> Result<Found, PageError> {
    let case = load(tx, id).await?.ok_or_else(PageError::not_found)?;
    let ancestry = nodes::ancestry(tx, GridNodeId::from_uuid(case.grid_node_id)).await?;
    let (facts,): (Option<serde_json::Value>,) =
        sqlx::query_as("SELECT facts FROM routing.cases WHERE tenant_id = $1 AND id = $2")
            .bind(tx.tenant().as_uuid())
            .bind(id.as_uuid())
            .fetch_one(&mut **tx)
            .await?;
    let facts = match facts {
        Some(f) => serde_json::from_value(f).map_err(|e| PageError::Internal(e.into()))?,
        None => CaseFacts::new(id),
    };
    let found = Found {
        case,
        facts,
        ancestry,
    };
    if !allows(&staff.principal, Permission::ViewCase, found.target()) {
        return Err(PageError::forbidden(
            "这个案件不在您的管辖范围内。(This case is outside your area.)",
        ));
    }
    Ok(found)
}

/// Whether the person may take `kind` on the case now: the state allows it, the roles
/// allow it, and the workflow's own rules about people (no follow-up of one's own
/// case, no approving one's own request, the centre decides invalidations).
pub(super) fn offered(staff: &Staff, found: &Found, kind: ActionKind) -> bool {
    if next(found.state(), kind).is_none()
        || !allows(&staff.principal, permission(kind), found.target())
    {
        return false;
    }
    let me = staff.principal.user();
    let centre = staff
        .principal
        .has_role(mashang_domain::role::Role::TownshipCentre);
    match kind {
        ActionKind::FollowUp => me.is_some_and(|u| !found.facts.is_handler(u)),
        ActionKind::ApproveInvalid => centre && me != found.facts.invalid_requested_by,
        ActionKind::RejectInvalid => centre && me != found.facts.invalid_requested_by,
        _ => true,
    }
}

async fn phrases(tx: &mut TenantTx) -> Result<Vec<Phrase>, sqlx::Error> {
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, kind, text FROM routing.reply_templates WHERE tenant_id = $1 \
         ORDER BY kind, position, created_at",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, text)| Phrase { id, kind, text })
        .collect())
}

/// One standard phrase of the township by id.
pub(super) async fn phrase(tx: &mut TenantTx, id: &str) -> Result<Option<Phrase>, sqlx::Error> {
    let Ok(id) = id.parse::<Uuid>() else {
        return Ok(None);
    };
    let row: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, kind, text FROM routing.reply_templates WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id, kind, text)| Phrase { id, kind, text }))
}

/// The township's people who can handle cases, with their roles and nodes.
async fn handler_options(
    tx: &mut TenantTx,
    names: &Names,
) -> Result<Vec<HandlerOption>, sqlx::Error> {
    let rows: Vec<(Uuid, String, String, Uuid)> = sqlx::query_as(
        "SELECT u.id, u.name, r.role, r.node_id FROM routing.staff_roles r \
         JOIN routing.staff_users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND u.active \
           AND r.role IN ('grid_worker', 'grid_leader', 'village_head', 'township_centre') \
         ORDER BY u.name, u.id, r.role",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<HandlerOption> = Vec::new();
    for (id, name, role, node) in rows {
        let held = format!(
            "{}（{}）",
            mashang_domain::role::Role::parse(&role)
                .map(|r| r.name_zh())
                .unwrap_or("?"),
            names.node(node)
        );
        match out.last_mut() {
            Some(last) if last.id == id => {
                last.label.push('、');
                last.label.push_str(&held);
            }
            _ => out.push(HandlerOption {
                id,
                label: format!("{name} · {held}"),
            }),
        }
    }
    Ok(out)
}

/// The whole page, with a form that came back (`typed`) or the word that a form came
/// too late (`stale`).
pub(super) async fn build(
    state: &RoutingState,
    staff: &Staff,
    id: CaseId,
    typed: Option<Typed>,
    stale: Option<(Stale, Option<i64>)>,
    notice: Option<&'static str>,
) -> Result<CasePage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let mut found = find(&mut tx, staff, id).await?;
    let names = Names::load(&mut tx).await?;
    // The full number only for the person who must call back; every view audited.
    crate::cases::read::with_contact(
        &mut tx,
        &state.pii_key,
        &mut found.case,
        staff.principal.user(),
    )
    .await
    .map_err(PageError::Internal)?;
    let all_phrases = phrases(&mut tx).await?;
    let mut kinds: Vec<ActionKind> = SHOWN
        .into_iter()
        .filter(|k| offered(staff, &found, *k))
        .collect();
    let handlers = if kinds
        .iter()
        .any(|k| matches!(k, ActionKind::Dispatch | ActionKind::Transfer))
    {
        handler_options(&mut tx, &names).await?
    } else {
        Vec::new()
    };
    // One request at a time: while one waits, the page says so instead of offering
    // the form again.
    let extension_pending: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM routing.extension_requests \
         WHERE case_id = $1 AND status = 'pending')",
    )
    .bind(found.case.id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| PageError::Internal(e.into()))?;
    let county = found.case.county_requested_at.is_none()
        && !found.state().is_final()
        && allows(&staff.principal, Permission::RequestCounty, found.target());
    let reapply = !found.state().is_final()
        && allows(
            &staff.principal,
            Permission::ConfigureRouting,
            Target::Township,
        );
    tx.commit().await?;

    let case = found.case.clone();
    let now = Utc::now();
    let mut typed = typed;
    let mut county_error = None;
    if let Some(t) = typed.as_ref().filter(|t| t.slug == "county-request") {
        county_error = Some(t.errors.join("；"));
    }
    let mut form_of = |kind: ActionKind, primary: bool| {
        let (zh, en) = button(kind);
        let mine = typed.as_ref().is_some_and(|t| t.slug == kind.slug());
        let t = if mine { typed.take() } else { None }.unwrap_or_default();
        let field = text_field(kind).unwrap_or("");
        ActionForm {
            name: kind.as_str().to_owned(),
            slug: kind.slug(),
            zh,
            en,
            open: mine,
            errors: t.errors,
            values: t.values,
            phrases: if field.is_empty() {
                Vec::new()
            } else {
                all_phrases
                    .iter()
                    .filter(|p| p.kind == phrase_kind(kind))
                    .cloned()
                    .collect()
            },
            text_field: field,
            photos: t.photos,
            primary,
        }
    };
    let note_form =
        offered(staff, &found, ActionKind::Note).then(|| form_of(ActionKind::Note, false));
    kinds.retain(|k| *k != ActionKind::Note);
    let forms: Vec<ActionForm> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| form_of(*k, i == 0))
        .collect();

    let (state_zh, state_en) = state_label(&case.state);
    let mut deadlines = Vec::new();
    // Only the clocks still running: a met target has nothing left to count.
    let st = found.state();
    let resolved = matches!(
        st,
        CaseState::Resolved | CaseState::FollowedUp | CaseState::Closed | CaseState::Invalid
    );
    let followed = matches!(
        st,
        CaseState::FollowedUp | CaseState::Closed | CaseState::Invalid
    );
    for (due, zh, en) in [
        (
            case.first_response_due
                .filter(|_| case.responded_at.is_none() && !resolved),
            "响应时限",
            "Respond by",
        ),
        (
            case.resolution_due.filter(|_| !resolved),
            "办结时限",
            "Resolve by",
        ),
        (
            case.follow_up_due.filter(|_| !followed),
            "回访时限",
            "Follow up by",
        ),
        (
            case.county_deadline.filter(|_| !followed),
            "县级督办时限",
            "County deadline",
        ),
    ] {
        if let Some(due) = due {
            deadlines.push(Deadline {
                zh,
                en,
                at: names.when(due),
                left: time_left(due, now),
            });
        }
    }
    let refs: Vec<AttachmentRef> =
        serde_json::from_value(case.attachments.clone()).unwrap_or_default();
    let url = |a: &AttachmentRef| File {
        url: format!("/api/v1/cases/{}/attachments/{}", case.id, a.id),
    };
    let photos = refs
        .iter()
        .filter(|a| a.kind == AttachmentKind::Photo)
        .map(url)
        .collect();
    let voice = refs
        .iter()
        .filter(|a| a.kind == AttachmentKind::Voice)
        .map(url)
        .collect();
    let map = match (case.lat, case.lng) {
        (Some(lat), Some(lng)) => Some((
            format!("geo:{lat:.6},{lng:.6}?q={lat:.6},{lng:.6}"),
            format!(
                "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lng:.6}#map=18/{lat:.6}/{lng:.6}"
            ),
        )),
        _ => None,
    };
    let tel = case
        .contact_phone
        .as_ref()
        .filter(|_| case.contact_phone_unmasked)
        .map(|p| format!("tel:{p}"));
    let timeline: Vec<Said> = case
        .timeline
        .iter()
        .rev()
        .map(|e| describe(&e.action, e.actor_id, &e.details, e.occurred_at, &names))
        .collect();
    let stale = stale.map(|(mut s, version)| {
        // Everything after the last entry the form's version had seen.
        let known = version.and_then(|v| {
            case.timeline
                .iter()
                .rposition(|e| entry_version(&e.details).is_some_and(|at| at <= v))
        });
        let since = match known {
            Some(i) => case.timeline.len() - 1 - i,
            None => 3.min(case.timeline.len()),
        };
        s.since = timeline.iter().take(since).cloned().collect();
        s
    });
    let extension = super::centre_approvals::extension_on(&case, &forms, names.zone())
        .filter(|_| !extension_pending);
    Ok(CasePage {
        chrome: staff.chrome.clone(),
        state_zh,
        state_en,
        category: names.category(&case.category),
        grid: names.node(case.grid_node_id),
        assignee: case
            .assignee_id
            .map(|a| names.person(Some(a)))
            .unwrap_or_else(|| "（未派单）".to_owned()),
        submitted: names.when(case.submitted_at),
        case,
        deadlines,
        photos,
        voice,
        map,
        tel,
        forms,
        note_form,
        handlers,
        timeline,
        notice,
        stale,
        county,
        county_error,
        reapply,
        extension,
        extension_pending,
        css: super::console_css_url(),
        js: super::console_js_url(),
        read_only: None,
    })
}

/// The options the forms show.
impl CasePage {
    fn methods(&self) -> Vec<(&'static str, &'static str)> {
        [ContactMethod::Phone, ContactMethod::Visit]
            .map(|m| (m.as_str(), m.label_zh()))
            .to_vec()
    }

    fn return_reasons(&self) -> Vec<(&'static str, &'static str)> {
        ReturnReason::ALL
            .iter()
            .map(|r| (r.as_str(), r.label_zh()))
            .collect()
    }

    fn satisfactions(&self) -> Vec<(&'static str, &'static str)> {
        SATISFACTION_LEVELS
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect()
    }

    fn levels(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("grid_leader", "网格长"),
            ("village_head", "村（社区）负责人"),
            ("township_centre", "镇综治中心"),
        ]
    }

    fn invalid_reasons(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("spam", "无效信息（恶意、无内容）"),
            ("duplicate", "重复诉求"),
            ("outside_jurisdiction", "不属本辖区"),
        ]
    }
}
