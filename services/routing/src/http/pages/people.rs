//! People: the list (limited to what the roles may see), adding a person, one
//! person's page (details, roles, active), and one-time codes to set a password.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target, visible_roots};
use mashang_db::TenantTx;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, PhoneNumber, UserId, Username};
use mashang_http::FieldError;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Staff, render, see_other};
use super::tree::{NodeOption, node_options};
use crate::RoutingState;
use crate::directory::staff::{PersonInput, create_person, grant_role};
use crate::directory::{DirectoryError, nodes};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// A role held at a node, as listed.
#[derive(Clone, Debug)]
pub(super) struct RoleLabel {
    /// `grid_worker:<node id>`, the value of its remove checkbox.
    pub key: String,
    pub role: &'static str,
    pub node: String,
}

/// A person as listed.
#[derive(Debug)]
pub(super) struct PersonRow {
    pub id: Uuid,
    pub name: String,
    /// Full for those who may edit people, masked for the others.
    pub phone: String,
    pub username: Option<String>,
    pub roles: Vec<RoleLabel>,
    /// The roles' nodes, for the visibility check.
    pub nodes: Vec<Uuid>,
    pub has_password: bool,
    pub active: bool,
    /// Whether they take new cases now (on leave, off duty, who covers).
    pub duty: super::routing_admin::DutyNow,
}

type Row = (Uuid, String, String, Option<String>, bool, bool);

/// The township's people (or one of them) with their roles and the roles' node names.
pub(super) async fn load(
    tx: &mut TenantTx,
    only: Option<UserId>,
    full_phone: bool,
) -> Result<Vec<PersonRow>, PageError> {
    let people: Vec<Row> = sqlx::query_as(
        "SELECT id, name, phone, username, active, password_hash IS NOT NULL FROM routing.staff_users \
         WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2) ORDER BY name, phone",
    )
    .bind(tx.tenant().as_uuid())
    .bind(only.map(|u| u.as_uuid()))
    .fetch_all(&mut **tx)
    .await?;
    let roles: Vec<(Uuid, String, Uuid, String)> = sqlx::query_as(
        "SELECT r.user_id, r.role, r.node_id, n.name FROM routing.staff_roles r \
         JOIN routing.grid_nodes n ON n.tenant_id = r.tenant_id AND n.id = r.node_id \
         WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.user_id = $2) ORDER BY r.role, n.code",
    )
    .bind(tx.tenant().as_uuid())
    .bind(only.map(|u| u.as_uuid()))
    .fetch_all(&mut **tx)
    .await?;
    let duty = super::routing_admin::duty_now(tx, only).await?;
    Ok(people
        .into_iter()
        .map(|(id, name, phone, username, active, has_password)| {
            let mine: Vec<_> = roles.iter().filter(|(u, ..)| *u == id).collect();
            PersonRow {
                roles: mine
                    .iter()
                    .map(|(_, role, node, node_name)| RoleLabel {
                        key: format!("{role}:{node}"),
                        role: Role::parse(role).map_or("未知角色", Role::name_zh),
                        node: node_name.clone(),
                    })
                    .collect(),
                nodes: mine.iter().map(|(_, _, node, _)| *node).collect(),
                id,
                name,
                phone: match PhoneNumber::parse(&phone) {
                    Ok(p) if !full_phone => p.masked(),
                    _ => phone,
                },
                username,
                has_password,
                active,
                duty: duty.get(&id).cloned().unwrap_or_default(),
            }
        })
        .collect())
}

/// The nodes whose people the person may see; `None` = all.
pub(super) async fn visible_nodes(
    tx: &mut TenantTx,
    staff: &Staff,
) -> Result<Option<HashSet<Uuid>>, PageError> {
    let Some(roots) = visible_roots(&staff.principal, Action::ViewPeople) else {
        return Ok(None);
    };
    let mut set = HashSet::new();
    for root in roots {
        set.extend(
            nodes::subtree(tx, root)
                .await?
                .into_iter()
                .map(|n| n.as_uuid()),
        );
    }
    Ok(Some(set))
}

/// The township roles, for the role selects.
pub(super) fn role_options() -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .into_iter()
        .filter(|r| !r.is_county())
        .map(|r| (r.as_str(), r.name_zh()))
        .collect()
}

/// The first error on `field`.
pub(super) fn error_on<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// What was typed in the add form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    node_id: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/people.html")]
struct PeoplePage {
    chrome: Chrome,
    people: Vec<PersonRow>,
    can_edit: bool,
    add: AddForm,
    errors: Vec<FieldError>,
    roles: Vec<(&'static str, &'static str)>,
    nodes: Vec<NodeOption>,
    notice: Option<&'static str>,
}

impl PeoplePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }

    /// The active people who take no new cases now (on leave or off duty).
    fn away(&self) -> Vec<&PersonRow> {
        self.people
            .iter()
            .filter(|p| p.active && p.duty.away.is_some())
            .collect()
    }
}

async fn people_page(
    state: &RoutingState,
    staff: Staff,
    add: AddForm,
    errors: Vec<FieldError>,
) -> Result<PeoplePage, PageError> {
    let can_edit = staff.may(Action::EditPeople, Target::Township);
    let mut tx = state.db.tenant(staff.tenant).await?;
    let mut people = load(&mut tx, None, can_edit).await?;
    if let Some(visible) = visible_nodes(&mut tx, &staff).await? {
        people.retain(|p| p.nodes.iter().any(|n| visible.contains(n)));
    }
    let nodes = if can_edit {
        node_options(&nodes::tree(&mut tx).await?, &HashSet::new())
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(PeoplePage {
        chrome: staff.chrome,
        people,
        can_edit,
        add,
        errors,
        roles: role_options(),
        nodes,
        notice: None,
    })
}

/// `GET /admin/people`.
#[utoipa::path(get, path = "/admin/people", tag = "pages", operation_id = "get_admin_people",
    summary = "人员 (The people page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn list(
    State(state): State<RoutingState>,
    staff: Staff,
) -> Result<Response, PageError> {
    staff.require(Action::ViewPeople, Target::List)?;
    let page = people_page(&state, staff, AddForm::default(), Vec::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Name, phone and username, each checked; errors collected.
pub(super) fn details(
    name: &str,
    phone: &str,
    username: &str,
    active: bool,
    errors: &mut Vec<FieldError>,
) -> Option<PersonInput> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        errors.push(FieldError::new(
            "name",
            "姓名为1到50个字。(1 to 50 characters.)",
        ));
    }
    let phone = PhoneNumber::parse(phone)
        .map_err(|_| {
            errors.push(FieldError::new(
                "phone",
                "请填写11位手机号。(An 11-digit mobile number.)",
            ))
        })
        .ok();
    let username = match username.trim() {
        "" => None,
        raw => Username::parse(raw)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "username",
                    "登录名为3到32个小写字母、数字或 _ . -，以字母开头；可以不填。(3–32 lowercase letters, digits, _ . -, starting with a letter; optional.)",
                ))
            })
            .ok(),
    };
    Some(PersonInput {
        name: name.to_owned(),
        phone: phone?,
        username,
        active,
    })
    .filter(|_| errors.is_empty())
}

/// A role and its node from two selects; `Ok(None)` when both are empty and
/// `required` is false.
pub(super) async fn role_at(
    tx: &mut TenantTx,
    role: &str,
    node: &str,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Result<Option<(Role, GridNodeId)>, PageError> {
    let (role, node) = (role.trim(), node.trim());
    if role.is_empty() && node.is_empty() && !required {
        return Ok(None);
    }
    let parsed_role = Role::parse(role).filter(|r| !r.is_county());
    if parsed_role.is_none() {
        errors.push(FieldError::new("role", "请选择角色。(Choose a role.)"));
    }
    let parsed_node = match node.parse::<GridNodeId>() {
        Ok(n) if nodes::node(tx, n).await?.is_some() => Some(n),
        _ => {
            errors.push(FieldError::new(
                "node_id",
                "请选择角色所在的节点。(Choose where the role is held.)",
            ));
            None
        }
    };
    Ok(parsed_role.zip(parsed_node))
}

/// The directory's refusal of a sign-in name, on the field it concerns.
pub(super) fn taken(err: DirectoryError, input: &PersonInput) -> Result<FieldError, PageError> {
    match err {
        DirectoryError::Duplicate(what) => {
            let on_username = input
                .username
                .as_ref()
                .is_some_and(|u| what.contains(u.as_str()));
            Ok(if on_username {
                FieldError::new(
                    "username",
                    "这个登录名已被别人使用（可能是其他乡镇或县里的人员），请换一个。(Already used by someone else.)",
                )
            } else {
                FieldError::new(
                    "phone",
                    "这个手机号已被别人使用（可能是其他乡镇或县里的人员）。(Already a sign-in name of someone else.)",
                )
            })
        }
        DirectoryError::Invalid(why) => Ok(FieldError::new("name", why)),
        other => Err(other.into()),
    }
}

/// `POST /admin/people`: adds a person with one role, then opens their page.
#[utoipa::path(post, path = "/admin/people", tag = "pages", operation_id = "post_admin_people",
    summary = "添加人员 (Adds a person)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn create(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    staff.require(Action::EditPeople, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let mut errors = Vec::new();
    let input = details(&form.name, &form.phone, &form.username, true, &mut errors);
    let role = role_at(&mut tx, &form.role, &form.node_id, true, &mut errors).await?;
    if let (Some(input), Some((role, node)), true) = (&input, role, errors.is_empty()) {
        match create_person(&mut tx, input).await {
            Ok(id) => {
                grant_role(&mut tx, id, role, node).await?;
                tx.commit().await?;
                return Ok(see_other(&format!("/admin/people/{id}?ok=created")));
            }
            Err(err) => errors.push(taken(err, input)?),
        }
    }
    drop(tx);
    let page = people_page(&state, staff, form, errors).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
