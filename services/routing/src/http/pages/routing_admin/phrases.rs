//! `/admin/reply-templates`: the township's standard phrases (常用语) by kind, each
//! editable in place, moved up or down, or deleted; a phrase added at the end of its
//! kind; and the defaults of a kind brought back.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_http::FieldError;
use serde::Deserialize;
use uuid::Uuid;

use super::super::layout::{Chrome, PageError, Staff, render, see_other};
use super::notice;
use crate::RoutingState;
use crate::http::reply_templates::{
    KINDS, MAX_CHARS, MAX_PER_KIND, add as add_phrase, edit as edit_phrase, place, remove,
    restore_defaults, template, templates,
};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// What each kind is called and where the console offers it.
fn kind_words(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "first_call" => (
            "联系群众（首次电话回复）",
            "First call-back",
            "网格员点“联系群众”记录通话情况时 (recording the first call)",
        ),
        "reply" => (
            "回复与说明",
            "Replies",
            "等待群众、退回、转办、申请上级协调、备注等填写说明时 (reasons and notes)",
        ),
        "answer" => (
            "办结答复",
            "Answers",
            "点“已办结”填写处理措施和答复时 (the measures taken, on resolving)",
        ),
        _ => (
            "回访",
            "Follow-ups",
            "综治中心回访群众、记录结果时 (the follow-up call)",
        ),
    }
}

/// One phrase as listed, with what was typed into it when its edit was refused.
#[derive(Debug)]
struct PhraseLine {
    id: Uuid,
    position: i32,
    text: String,
    error: Option<String>,
    first: bool,
    last: bool,
}

/// One kind's section.
#[derive(Debug)]
struct KindSection {
    kind: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    used: &'static str,
    phrases: Vec<PhraseLine>,
    /// The add form's text and its error, when it was refused.
    add_text: String,
    add_error: Option<String>,
    /// Defaults this township no longer has.
    missing_defaults: i64,
}

impl KindSection {
    fn full(&self) -> bool {
        i64::try_from(self.phrases.len()).unwrap_or(i64::MAX) >= MAX_PER_KIND
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/reply_templates.html")]
struct PhrasesPage {
    chrome: Chrome,
    kinds: Vec<KindSection>,
    notice: Option<&'static str>,
    max_per_kind: i64,
    max_chars: usize,
    refused: bool,
    /// Why a form was refused when no section shows it (a kind that does not exist).
    stray: Option<String>,
}

/// A form that came back: where, what was typed and why not.
enum Refused {
    Add {
        kind: String,
        text: String,
        why: String,
    },
    Edit {
        id: Uuid,
        text: String,
        why: String,
    },
}

async fn missing_defaults(tx: &mut TenantTx, kind: &str) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.default_reply_templates() d \
         WHERE d.kind = $2 AND NOT EXISTS (SELECT 1 FROM routing.reply_templates r \
             WHERE r.tenant_id = $1 AND r.kind = d.kind AND r.text = d.phrase)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(kind)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

async fn build(
    state: &RoutingState,
    staff: Staff,
    refused: Option<Refused>,
    notice: Option<&'static str>,
) -> Result<PhrasesPage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let all = templates(&mut tx, None).await?;
    let mut kinds = Vec::with_capacity(KINDS.len());
    for kind in KINDS {
        let (name_zh, name_en, used) = kind_words(kind);
        let mine: Vec<_> = all.iter().filter(|t| t.kind == kind).collect();
        let count = mine.len();
        let phrases = mine
            .into_iter()
            .enumerate()
            .map(|(n, t)| {
                let (text, error) = match &refused {
                    Some(Refused::Edit { id, text, why }) if *id == t.id => {
                        (text.clone(), Some(why.clone()))
                    }
                    _ => (t.text.clone(), None),
                };
                PhraseLine {
                    id: t.id,
                    position: t.position,
                    text,
                    error,
                    first: n == 0,
                    last: n + 1 == count,
                }
            })
            .collect();
        let (add_text, add_error) = match &refused {
            Some(Refused::Add { kind: k, text, why }) if k == kind => {
                (text.clone(), Some(why.clone()))
            }
            _ => (String::new(), None),
        };
        kinds.push(KindSection {
            kind,
            name_zh,
            name_en,
            used,
            phrases,
            add_text,
            add_error,
            missing_defaults: missing_defaults(&mut tx, kind).await?,
        });
    }
    tx.commit().await?;
    let stray = match &refused {
        Some(Refused::Add { kind, why, .. }) if !KINDS.contains(&kind.as_str()) => {
            Some(why.clone())
        }
        _ => None,
    };
    Ok(PhrasesPage {
        chrome: staff.chrome,
        kinds,
        notice,
        max_per_kind: MAX_PER_KIND,
        max_chars: MAX_CHARS,
        refused: refused.is_some(),
        stray,
    })
}

fn words(errors: Vec<FieldError>) -> String {
    errors
        .into_iter()
        .map(|e| e.message)
        .collect::<Vec<_>>()
        .join("；")
}

/// The page of a kind's section after a change.
fn back(ok: &str, kind: &str) -> Response {
    see_other(&format!("/admin/reply-templates?ok={ok}#kind-{kind}"))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PhrasesQuery {
    ok: Option<String>,
}

/// `GET /admin/reply-templates`.
#[utoipa::path(get, path = "/admin/reply-templates", tag = "pages", operation_id = "get_admin_reply_templates",
    summary = "常用语 (The standard phrases page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<PhrasesQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let page = build(&state, staff, None, notice(q.ok.as_deref())).await?;
    Ok(render(StatusCode::OK, &page))
}

/// A new phrase as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    text: String,
}

/// `POST /admin/reply-templates`: adds a phrase at the end of its kind.
#[utoipa::path(post, path = "/admin/reply-templates", tag = "pages", operation_id = "post_admin_reply_templates",
    summary = "添加常用语 (Adds a phrase)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn add(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    match add_phrase(&mut tx, &form.kind, &form.text, None).await? {
        Ok(_) => {
            tx.commit().await?;
            Ok(back("added", &form.kind))
        }
        Err(errors) => {
            drop(tx);
            let refused = Refused::Add {
                kind: form.kind,
                text: form.text,
                why: words(errors),
            };
            let page = build(&state, staff, Some(refused), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// A phrase's new words.
#[derive(Debug, Default, Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    text: String,
}

fn phrase_id(raw: &str) -> Result<Uuid, PageError> {
    raw.parse().map_err(|_| PageError::not_found())
}

/// `POST /admin/reply-templates/{id}`: new words for a phrase.
#[utoipa::path(post, path = "/admin/reply-templates/{id}", tag = "pages", operation_id = "post_admin_reply_templates_id",
    summary = "修改常用语 (Changes a phrase)",
    params(("id" = uuid::Uuid, Path, description = "The phrase")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn edit(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let id = phrase_id(&id)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let current = template(&mut tx, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    match edit_phrase(&mut tx, id, &form.text).await? {
        Ok(true) => {
            tx.commit().await?;
            Ok(back("saved", &current.kind))
        }
        Ok(false) => Err(PageError::not_found()),
        Err(errors) => {
            drop(tx);
            let refused = Refused::Edit {
                id,
                text: form.text,
                why: words(errors),
            };
            let page = build(&state, staff, Some(refused), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// `POST /admin/reply-templates/{id}/{up|down|delete}`.
#[utoipa::path(post, path = "/admin/reply-templates/{id}/{action}", tag = "pages", operation_id = "post_admin_reply_templates_id_action",
    summary = "常用语操作 (Moves up or down, or removes a phrase)",
    params(("id" = uuid::Uuid, Path, description = "The phrase"), ("action" = String, Path, max_length = 100, description = "`up`, `down` or `delete`")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn act(
    State(state): State<RoutingState>,
    staff: Staff,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let id = phrase_id(&id)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let current = template(&mut tx, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let ok = match action.as_str() {
        "up" => {
            place(&mut tx, id, current.position - 1).await?;
            "moved"
        }
        "down" => {
            place(&mut tx, id, current.position + 1).await?;
            "moved"
        }
        "delete" => {
            remove(&mut tx, id).await?;
            "deleted"
        }
        _ => return Err(PageError::not_found()),
    };
    tx.commit().await?;
    Ok(back(ok, &current.kind))
}

/// Which kind's defaults to bring back.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DefaultsForm {
    #[serde(default)]
    kind: String,
}

/// `POST /admin/reply-templates/defaults`: brings back the defaults of a kind.
#[utoipa::path(post, path = "/admin/reply-templates/defaults", tag = "pages", operation_id = "post_admin_reply_templates_defaults",
    summary = "恢复默认 (Restores the default phrases)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn defaults(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<DefaultsForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    match restore_defaults(&mut tx, &form.kind).await? {
        Ok(_) => {
            tx.commit().await?;
            Ok(back("restored", &form.kind))
        }
        Err(errors) => {
            drop(tx);
            let refused = Refused::Add {
                kind: form.kind,
                text: String::new(),
                why: words(errors),
            };
            let page = build(&state, staff, Some(refused), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
