//! One node's page: where it is, its children and codes, and the forms to rename,
//! move (with its subtree), and activate or deactivate it.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Refusal, Staff, notice, render, see_other};
use super::tree::{NodeOption, check_name, kind_zh, live_codes, node_options, parse_node, said};
use crate::RoutingState;
use crate::directory::nodes;
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// A node with what its page shows.
#[derive(Debug)]
struct NodeView {
    id: Uuid,
    code: String,
    name: String,
    kind: &'static str,
    active: bool,
    is_root: bool,
    live_codes: usize,
    /// Its ancestors' names, township first.
    path: Vec<(Uuid, String)>,
    /// Its children.
    children: Vec<(Uuid, String, String)>,
}

#[derive(Debug, Template)]
#[template(path = "admin/node.html")]
struct NodePage {
    chrome: Chrome,
    node: NodeView,
    can_edit: bool,
    parents: Vec<NodeOption>,
    /// The rename form as typed.
    name: String,
    /// The move form as chosen.
    parent_id: String,
    rename_error: Option<String>,
    move_error: Option<String>,
    notice: Option<&'static str>,
}

/// The node page, with the forms as typed and what was wrong.
#[derive(Debug, Default)]
struct Typed {
    name: Option<String>,
    parent_id: Option<String>,
    rename_error: Option<String>,
    move_error: Option<String>,
}

fn node_id(raw: &str) -> Result<GridNodeId, PageError> {
    raw.parse().map_err(|_| PageError::not_found())
}

async fn node_page(
    state: &RoutingState,
    staff: Staff,
    id: GridNodeId,
    typed: Typed,
    notice: Option<&'static str>,
) -> Result<NodePage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let Some(node) = nodes::node(&mut tx, id).await? else {
        return Err(PageError::not_found());
    };
    let ancestry = nodes::ancestry(&mut tx, id).await?;
    staff.require(
        Action::ViewGrid,
        Target::Node {
            ancestry: &ancestry,
        },
    )?;
    let all = nodes::tree(&mut tx).await?;
    let subtree: HashSet<Uuid> = nodes::subtree(&mut tx, id)
        .await?
        .into_iter()
        .map(|n| n.as_uuid())
        .collect();
    let codes = live_codes(&mut tx).await?;
    tx.commit().await?;
    let name_of = |u: Uuid| all.iter().find(|n| n.id == u);
    let path = ancestry
        .iter()
        .skip(1)
        .rev()
        .filter_map(|a| name_of(a.as_uuid()))
        .map(|n| (n.id, n.name.clone()))
        .collect();
    let children = all
        .iter()
        .filter(|n| n.parent_id == Some(node.id))
        .map(|n| (n.id, n.name.clone(), n.code.clone()))
        .collect();
    let can_edit = staff.may(Action::EditGrid, Target::Township);
    Ok(NodePage {
        chrome: staff.chrome,
        can_edit,
        parents: if can_edit {
            node_options(&all, &subtree)
        } else {
            Vec::new()
        },
        name: typed.name.unwrap_or_else(|| node.name.clone()),
        parent_id: typed
            .parent_id
            .or_else(|| node.parent_id.map(|p| p.to_string()))
            .unwrap_or_default(),
        rename_error: typed.rename_error,
        move_error: typed.move_error,
        notice,
        node: NodeView {
            id: node.id,
            kind: kind_zh(&node.kind),
            is_root: node.parent_id.is_none(),
            live_codes: codes.get(&node.id).copied().unwrap_or(0),
            code: node.code,
            name: node.name,
            active: node.active,
            path,
            children,
        },
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NodeQuery {
    ok: Option<String>,
}

/// `GET /admin/grid/nodes/{id}`.
#[utoipa::path(get, path = "/admin/grid/nodes/{id}", tag = "pages", operation_id = "get_admin_grid_nodes_id",
    summary = "网格节点 (A node page)",
    params(("id" = uuid::Uuid, Path, description = "The node")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<NodeQuery>,
) -> Result<Response, PageError> {
    let id = node_id(&id)?;
    let page = node_page(&state, staff, id, Typed::default(), notice(q.ok.as_deref())).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Runs a change to one node: commit and go back to its page with `ok`, or show the
/// page again with the refusal placed by `place`.
async fn change(
    state: &RoutingState,
    staff: Staff,
    id: GridNodeId,
    run: impl AsyncFnOnce(&mut TenantTx) -> Result<&'static str, Refusal>,
    place: impl FnOnce(String) -> Typed,
) -> Result<Response, PageError> {
    staff.require(Action::EditGrid, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    if nodes::node(&mut tx, id).await?.is_none() {
        return Err(PageError::not_found());
    }
    match run(&mut tx).await {
        Ok(ok) => {
            tx.commit().await?;
            Ok(see_other(&format!("/admin/grid/nodes/{id}?ok={ok}")))
        }
        Err(Refusal::Fail(err)) => Err(err),
        Err(Refusal::Say(error)) => {
            drop(tx);
            let page = node_page(state, staff, id, place(error), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RenameForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/grid/nodes/{id}/rename`.
#[utoipa::path(post, path = "/admin/grid/nodes/{id}/rename", tag = "pages", operation_id = "post_admin_grid_nodes_id_rename",
    summary = "重命名 (Renames a node)",
    params(("id" = uuid::Uuid, Path, description = "The node")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn rename(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> Result<Response, PageError> {
    let id = node_id(&id)?;
    let name = form.name.trim().to_owned();
    let typed = name.clone();
    change(
        &state,
        staff,
        id,
        async move |tx| {
            check_name(&name)?;
            nodes::update_node(tx, id, Some(&name), None, None)
                .await
                .map_err(|e| said(e, ""))?;
            Ok("renamed")
        },
        |error| Typed {
            name: Some(typed),
            rename_error: Some(error),
            ..Typed::default()
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    parent_id: String,
}

/// `POST /admin/grid/nodes/{id}/move`: moves the node with its subtree.
#[utoipa::path(post, path = "/admin/grid/nodes/{id}/move", tag = "pages", operation_id = "post_admin_grid_nodes_id_move",
    summary = "移动 (Moves a node)",
    params(("id" = uuid::Uuid, Path, description = "The node")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn move_node(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let id = node_id(&id)?;
    let typed = form.parent_id.clone();
    change(
        &state,
        staff,
        id,
        async move |tx| {
            let say = |m: &str| Err(Refusal::Say(m.to_owned()));
            let Some(parent) = parse_node(&form.parent_id) else {
                return say("请选择新的上级节点。(Choose the new parent.)");
            };
            let current = nodes::node(tx, id).await.map_err(PageError::from)?;
            if current.is_some_and(|n| n.parent_id.is_none()) {
                return say("乡镇根节点不能移动。(The township node cannot be moved.)");
            }
            let line = nodes::ancestry(tx, parent).await.map_err(PageError::from)?;
            if line.is_empty() {
                return say("新的上级节点不存在。(No such parent.)");
            }
            if line.contains(&id) {
                return say(
                    "不能移到它自己或它的下级节点之下。(A node cannot move under itself or its own subtree.)",
                );
            }
            nodes::move_node(tx, id, parent)
                .await
                .map_err(|e| said(e, ""))?;
            Ok("moved")
        },
        |error| Typed {
            parent_id: Some(typed),
            move_error: Some(error),
            ..Typed::default()
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    active: String,
}

/// `POST /admin/grid/nodes/{id}/active`: `active=true` or `false`, with the subtree.
#[utoipa::path(post, path = "/admin/grid/nodes/{id}/active", tag = "pages", operation_id = "post_admin_grid_nodes_id_active",
    summary = "启用或停用 (Switches a node on or off)",
    params(("id" = uuid::Uuid, Path, description = "The node")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn set_active(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, PageError> {
    let id = node_id(&id)?;
    let active = form.active == "true";
    change(
        &state,
        staff,
        id,
        async move |tx| {
            nodes::set_active(tx, id, active)
                .await
                .map_err(|e| said(e, ""))?;
            Ok(if active { "activated" } else { "deactivated" })
        },
        |error| Typed {
            rename_error: Some(error),
            ..Typed::default()
        },
    )
    .await
}
