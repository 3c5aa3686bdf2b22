//! One person's page: details, active, roles (remove ticked, add one), and the
//! one-time code that lets them set a password.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, UserId};
use mashang_http::FieldError;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Staff, notice, render, see_other};
use super::people::{
    PersonRow, details, error_on, load, role_at, role_options, taken, visible_nodes,
};
use super::tree::{NodeOption, node_options};
use crate::RoutingState;
use crate::directory::staff::{set_email, set_roles, update_person};
use crate::directory::{DirectoryError, nodes};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The edit form as typed.
#[derive(Debug, Default)]
struct EditForm {
    name: String,
    phone: String,
    username: String,
    email: String,
    active: bool,
    /// Keys of the roles ticked for removal.
    remove: Vec<String>,
    role: String,
    node_id: String,
}

impl EditForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value,
                "phone" => form.phone = value,
                "username" => form.username = value,
                "email" => form.email = value,
                "active" => form.active = value == "true",
                "remove" => form.remove.push(value),
                "role" => form.role = value,
                "node_id" => form.node_id = value,
                _ => {}
            }
        }
        form
    }

    fn removes(&self, key: &str) -> bool {
        self.remove.iter().any(|r| r == key)
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/person.html")]
struct PersonPage {
    chrome: Chrome,
    person: PersonRow,
    /// Where digests and alerts by e-mail go.
    email: Option<String>,
    can_edit: bool,
    can_reset: bool,
    form: EditForm,
    errors: Vec<FieldError>,
    roles: Vec<(&'static str, &'static str)>,
    nodes: Vec<NodeOption>,
    notice: Option<&'static str>,
}

impl PersonPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }
}

fn user_id(raw: &str) -> Result<UserId, PageError> {
    raw.parse().map_err(|_| PageError::not_found())
}

/// One person of the township that the signed-in person may see.
async fn visible_person(
    tx: &mut TenantTx,
    staff: &Staff,
    id: UserId,
    full_phone: bool,
) -> Result<PersonRow, PageError> {
    let person = load(tx, Some(id), full_phone)
        .await?
        .pop()
        .ok_or_else(PageError::not_found)?;
    if let Some(visible) = visible_nodes(tx, staff).await?
        && !person.nodes.iter().any(|n| visible.contains(n))
    {
        return Err(PageError::forbidden(
            "这个人不在您的管辖范围内。(Outside your area.)",
        ));
    }
    Ok(person)
}

async fn person_page(
    state: &RoutingState,
    staff: Staff,
    id: UserId,
    form: Option<EditForm>,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
) -> Result<PersonPage, PageError> {
    staff.require(Action::ViewPeople, Target::List)?;
    let can_edit = staff.may(Action::EditPeople, Target::Township);
    let mut tx = state.db.tenant(staff.tenant).await?;
    let person = visible_person(&mut tx, &staff, id, can_edit).await?;
    let (email,): (Option<String>,) =
        sqlx::query_as("SELECT email FROM routing.staff_users WHERE tenant_id = $1 AND id = $2")
            .bind(staff.tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
    let nodes = if can_edit {
        node_options(&nodes::tree(&mut tx).await?, &HashSet::new())
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let form = form.unwrap_or_else(|| EditForm {
        name: person.name.clone(),
        phone: person.phone.clone(),
        username: person.username.clone().unwrap_or_default(),
        email: email.clone().unwrap_or_default(),
        active: person.active,
        ..EditForm::default()
    });
    Ok(PersonPage {
        chrome: staff.chrome.clone(),
        can_edit,
        can_reset: staff.may(Action::ResetPassword, Target::Township),
        person,
        email,
        form,
        errors,
        roles: role_options(),
        nodes,
        notice,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PersonQuery {
    ok: Option<String>,
}

/// `GET /admin/people/{id}`.
#[utoipa::path(get, path = "/admin/people/{id}", tag = "pages", operation_id = "get_admin_people_id",
    summary = "人员页面 (A person page)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<PersonQuery>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let page = person_page(&state, staff, id, None, Vec::new(), notice(q.ok.as_deref())).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/people/{id}`: details, active, roles (the ticked ones removed, the
/// add row added). Deactivating a person ends their sessions.
#[utoipa::path(post, path = "/admin/people/{id}", tag = "pages", operation_id = "post_admin_people_id",
    summary = "修改人员 (Changes a person)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn update(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    staff.require(Action::EditPeople, Target::Township)?;
    let id = user_id(&id)?;
    let form = EditForm::from_pairs(pairs);
    let mut tx = state.db.tenant(staff.tenant).await?;
    let current: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT role, node_id FROM routing.staff_roles WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(staff.tenant.as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    let exists: Option<(bool,)> =
        sqlx::query_as("SELECT active FROM routing.staff_users WHERE tenant_id = $1 AND id = $2")
            .bind(staff.tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Err(PageError::not_found());
    }
    let mut errors = Vec::new();
    let input = details(
        &form.name,
        &form.phone,
        &form.username,
        form.active,
        &mut errors,
    );
    let email = crate::http::people::parse_email(Some(&form.email), &mut errors);
    if !form.active && staff.principal.user() == Some(id) {
        errors.push(FieldError::new(
            "active",
            "不能停用自己的账号。(You cannot deactivate yourself.)",
        ));
    }
    let added = role_at(&mut tx, &form.role, &form.node_id, false, &mut errors).await?;
    let mut roles: Vec<(Role, GridNodeId)> = current
        .iter()
        .filter(|(role, node)| !form.removes(&format!("{role}:{node}")))
        .filter_map(|(role, node)| Role::parse(role).map(|r| (r, GridNodeId::from_uuid(*node))))
        .collect();
    if let Some(added) = added
        && !roles.contains(&added)
    {
        roles.push(added);
    }
    // An administrator who removed their own role could lock the township out.
    if staff.principal.user() == Some(id)
        && staff.principal.has_role(Role::TownshipAdmin)
        && !roles.iter().any(|(r, _)| *r == Role::TownshipAdmin)
    {
        errors.push(FieldError::new(
            "roles",
            "不能去掉自己的镇管理员角色，请让另一位镇管理员来改。(You cannot remove your own administrator role.)",
        ));
    }
    if let (Some(input), true) = (&input, errors.is_empty()) {
        match update_person(&mut tx, id, input).await {
            Ok(()) => {
                set_roles(&mut tx, id, &roles).await?;
                set_email(&mut tx, id, email.as_ref()).await?;
                tx.commit().await?;
                if !input.active {
                    mashang_auth::end_all_sessions(&state.db, id).await?;
                }
                return Ok(see_other(&format!("/admin/people/{id}?ok=saved")));
            }
            Err(DirectoryError::NotFound(_)) => return Err(PageError::not_found()),
            Err(err) => errors.push(taken(err, input)?),
        }
    }
    drop(tx);
    let page = person_page(&state, staff, id, Some(form), errors, None).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Template)]
#[template(path = "admin/reset_code.html")]
struct ResetCodePage {
    chrome: Chrome,
    person: PersonRow,
    code: String,
}

/// `POST /admin/people/{id}/reset-code`: a new one-time code (replacing any earlier
/// one), shown once, with what to tell the person.
#[utoipa::path(post, path = "/admin/people/{id}/reset-code", tag = "pages", operation_id = "post_admin_people_id_reset_code",
    summary = "重置码 (Makes a reset code, shown once)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn reset_code(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ResetPassword, Target::Township)?;
    let id = user_id(&id)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let person = load(&mut tx, Some(id), true)
        .await?
        .pop()
        .ok_or_else(PageError::not_found)?;
    let code = mashang_auth::issue_reset_code(&mut tx, &state.keys, id, staff.principal.user())
        .await?
        .ok_or_else(PageError::not_found)?;
    tx.commit().await?;
    Ok(render(
        StatusCode::OK,
        &ResetCodePage {
            chrome: staff.chrome,
            person,
            code,
        },
    ))
}
