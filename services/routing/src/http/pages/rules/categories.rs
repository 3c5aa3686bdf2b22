//! `/admin/categories`: the categories citizens choose from: add one, rename it (zh
//! and en), its icon, order, default priority and triage, deactivate and reactivate.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target};
use mashang_http::{ApiError, FieldError};
use serde::Deserialize;

use super::{Tab, error_on, field_errors, notice};
use crate::RoutingState;
use crate::http::categories::{self, Category, CategoryBody, Write};
use crate::http::pages::layout::{Chrome, PageError, Staff, render, see_other};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The icons the citizen's page draws (intake's `ICONS`), with what they show.
const ICONS: [(&str, &str); 8] = [
    ("handshake", "握手 (handshake)"),
    ("broom", "扫帚 (broom)"),
    ("road", "道路 (road)"),
    ("bolt", "闪电 (bolt)"),
    ("shield", "盾牌 (shield)"),
    ("cross", "十字 (cross)"),
    ("question", "问号 (question)"),
    ("dots", "其他 (dots)"),
];

const TRIAGE: [(&str, &str); 3] = [
    ("inherit", "按本镇设置 (as the township)"),
    ("auto", "自动派单 (auto)"),
    ("triage", "人工受理 (triage)"),
];

const PRIORITY: [(&str, &str); 2] = [("normal", "普通 (normal)"), ("urgent", "紧急 (urgent)")];

/// Words for a stored value of one of the lists above.
fn words(list: &[(&'static str, &'static str)], value: &str) -> &'static str {
    list.iter()
        .find(|(v, _)| *v == value)
        .map(|(_, w)| *w)
        .unwrap_or("")
}

/// A category as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CategoryForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    icon: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    default_priority: String,
    #[serde(default)]
    triage: String,
}

impl CategoryForm {
    fn of(c: &Category) -> Self {
        Self {
            code: c.code.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            icon: c.icon.clone(),
            position: c.position.to_string(),
            default_priority: c.default_priority.clone(),
            triage: c.triage.clone(),
        }
    }

    /// The body the API takes. A position that is not a number is sent as one out of
    /// range, so the API refuses it with the rest, in its own words.
    fn body(&self) -> CategoryBody {
        let position = match self.position.trim() {
            "" => None,
            p => Some(p.parse::<i32>().unwrap_or(i32::MIN)),
        };
        let chosen = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        CategoryBody {
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            icon: chosen(&self.icon),
            position,
            active: None,
            triage: chosen(&self.triage),
            default_priority: chosen(&self.default_priority),
        }
    }
}

/// One line of the list.
#[derive(Debug)]
struct Line {
    category: Category,
    priority: &'static str,
    triage: &'static str,
}

/// The choice lists of the forms.
#[derive(Debug)]
struct Choices {
    icons: Vec<(String, String)>,
    triage: [(&'static str, &'static str); 3],
    priority: [(&'static str, &'static str); 2],
}

impl Choices {
    /// The lists, with `icon` added when the category has one not drawn here.
    fn with(icon: &str) -> Self {
        let mut icons: Vec<(String, String)> = ICONS
            .iter()
            .map(|(v, w)| ((*v).to_owned(), (*w).to_owned()))
            .collect();
        if !icon.is_empty() && !ICONS.iter().any(|(v, _)| *v == icon) {
            icons.push((icon.to_owned(), icon.to_owned()));
        }
        Self {
            icons,
            triage: TRIAGE,
            priority: PRIORITY,
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/rules_categories.html")]
struct ListPage {
    chrome: Chrome,
    tab: Tab,
    lines: Vec<Line>,
    add: CategoryForm,
    choices: Choices,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
}

impl ListPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

async fn list_page(
    state: &RoutingState,
    staff: &Staff,
    add: Option<CategoryForm>,
    errors: Vec<FieldError>,
    ok: Option<&str>,
) -> Result<ListPage, PageError> {
    staff.require(Action::EditCategories, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let all = categories::all(&mut tx).await?;
    tx.commit().await?;
    let add = add.unwrap_or_else(|| CategoryForm {
        icon: "dots".to_owned(),
        position: (all.iter().map(|c| c.position).max().unwrap_or(0) + 1)
            .min(9999)
            .to_string(),
        default_priority: "normal".to_owned(),
        triage: "inherit".to_owned(),
        ..CategoryForm::default()
    });
    Ok(ListPage {
        chrome: staff.chrome.clone(),
        tab: Tab::Categories,
        lines: all
            .into_iter()
            .map(|c| Line {
                priority: words(&PRIORITY, &c.default_priority),
                triage: words(&TRIAGE, &c.triage),
                category: c,
            })
            .collect(),
        choices: Choices::with(&add.icon),
        add,
        errors,
        notice: notice(ok),
    })
}

/// `GET /admin/categories`.
#[utoipa::path(get, path = "/admin/categories", tag = "pages", operation_id = "get_admin_categories",
    summary = "类别 (The categories page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn list(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    let page = list_page(&state, &staff, None, Vec::new(), q.ok.as_deref()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Saves `form` as category `code` through the API's function: the field errors of
/// a refusal.
async fn write(
    state: &RoutingState,
    staff: &Staff,
    code: &str,
    form: &CategoryForm,
    how: Write,
) -> Result<Result<Category, Vec<FieldError>>, PageError> {
    match categories::save(state, &staff.principal, code, form.body(), how).await {
        Ok(saved) => Ok(Ok(saved)),
        Err(err) => field_errors(err).map(Err),
    }
}

/// `POST /admin/categories`: a new category (a code already taken is refused).
#[utoipa::path(post, path = "/admin/categories", tag = "pages", operation_id = "post_admin_categories",
    summary = "添加类别 (Adds a category)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn create(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<CategoryForm>,
) -> Result<Response, PageError> {
    staff.require(Action::EditCategories, Target::Township)?;
    let code = form.code.trim().to_owned();
    match write(&state, &staff, &code, &form, Write::Create).await? {
        Ok(saved) => Ok(see_other(&format!(
            "/admin/categories?ok=added#c-{}",
            saved.code
        ))),
        Err(errors) => {
            let page = list_page(&state, &staff, Some(form), errors, None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/rules_category.html")]
struct EditPage {
    chrome: Chrome,
    category: Category,
    form: CategoryForm,
    choices: Choices,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
}

impl EditPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }
}

async fn edit_page(
    state: &RoutingState,
    staff: &Staff,
    code: &str,
    form: Option<CategoryForm>,
    errors: Vec<FieldError>,
    ok: Option<&str>,
) -> Result<EditPage, PageError> {
    staff.require(Action::EditCategories, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let category = categories::all(&mut tx)
        .await?
        .into_iter()
        .find(|c| c.code == code)
        .ok_or_else(PageError::not_found)?;
    tx.commit().await?;
    let form = form.unwrap_or_else(|| CategoryForm::of(&category));
    Ok(EditPage {
        chrome: staff.chrome.clone(),
        choices: Choices::with(&form.icon),
        category,
        form,
        errors,
        notice: notice(ok),
    })
}

/// `GET /admin/categories/{code}`.
#[utoipa::path(get, path = "/admin/categories/{code}", tag = "pages", operation_id = "get_admin_categories_code",
    summary = "类别页面 (A category page)",
    params(("code" = String, Path, max_length = 100, description = "The category code")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    let page = edit_page(&state, &staff, &code, None, Vec::new(), q.ok.as_deref()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/categories/{code}`: names, icon, order, priority and triage.
#[utoipa::path(post, path = "/admin/categories/{code}", tag = "pages", operation_id = "post_admin_categories_code",
    summary = "修改类别 (Changes a category)",
    params(("code" = String, Path, max_length = 100, description = "The category code")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn update(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<CategoryForm>,
) -> Result<Response, PageError> {
    staff.require(Action::EditCategories, Target::Township)?;
    match write(&state, &staff, &code, &form, Write::Update).await? {
        Ok(saved) => Ok(see_other(&format!(
            "/admin/categories/{}?ok=saved",
            saved.code
        ))),
        Err(errors) => {
            let page = edit_page(&state, &staff, &code, Some(form), errors, None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    active: String,
}

/// `POST /admin/categories/{code}/active`: deactivate (`false`) or reactivate.
#[utoipa::path(post, path = "/admin/categories/{code}/active", tag = "pages", operation_id = "post_admin_categories_code_active",
    summary = "启用或停用 (Switches a category on or off)",
    params(("code" = String, Path, max_length = 100, description = "The category code")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn set_active(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, PageError> {
    staff.require(Action::EditCategories, Target::Township)?;
    let active = match form.active.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(ApiError::BadRequest("active: true or false".into()).into()),
    };
    let mut tx = state.db.tenant(staff.tenant).await?;
    let current = categories::all(&mut tx)
        .await?
        .into_iter()
        .find(|c| c.code == code)
        .ok_or_else(PageError::not_found)?;
    tx.commit().await?;
    let body = CategoryBody {
        name_zh: current.name_zh,
        name_en: current.name_en,
        active: Some(active),
        ..CategoryBody::default()
    };
    categories::save(&state, &staff.principal, &code, body, Write::Update).await?;
    let ok = if active { "activated" } else { "deactivated" };
    Ok(see_other(&format!("/admin/categories/{code}?ok={ok}")))
}
