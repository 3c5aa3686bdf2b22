//! The grid tree of the signed-in person's township.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target, visibility};
use mashang_domain::GridNodeId;
use mashang_domain::grid::NodeKind;
use mashang_http::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::nodes::{self, NewNode, Node};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(tree))
        .routes(routes!(create))
        .routes(routes!(update))
        .routes(routes!(move_node))
}

/// A path id that is not a UUID names nothing: 404, like another township's node.
pub(crate) fn node_id(raw: &str) -> Result<GridNodeId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

#[derive(Debug, Serialize)]
struct Tree {
    nodes: Vec<Node>,
}

/// `GET /api/v1/admin/grid`: the tree, or the parts of it the person may see.
#[utoipa::path(get, path = "/api/v1/admin/grid", tag = "admin", operation_id = "get_api_v1_admin_grid",
    summary = "网格树 (The township grid tree)",
    responses(
        (status = 200, description = "网格树 (The tree)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn tree(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Tree>, ApiError> {
    allow(&principal, Action::ViewGrid, Target::List)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let mut all = nodes::tree(&mut tx).await?;
    if let Some(allowed) = visibility(&principal, Action::ViewGrid) {
        // Own roles see their node itself, subtree roles everything below theirs.
        let mut visible: std::collections::HashSet<uuid::Uuid> =
            allowed.nodes.iter().map(|n| n.as_uuid()).collect();
        for root in allowed.subtrees {
            visible.extend(
                nodes::subtree(&mut tx, root)
                    .await?
                    .into_iter()
                    .map(|n| n.as_uuid()),
            );
        }
        all.retain(|n| visible.contains(&n.id));
    }
    tx.commit().await?;
    Ok(ApiJson(Tree { nodes: all }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CreateNode {
    parent_id: String,
    kind: String,
    code: String,
    name: String,
}

fn kind(raw: &str, field: &str) -> Result<NodeKind, ApiError> {
    NodeKind::parse(raw).ok_or_else(|| {
        ApiError::field(
            field,
            "类型应为 village/community/grid/subgrid/office (unknown kind)",
        )
    })
}

#[utoipa::path(post, path = "/api/v1/admin/grid/nodes", tag = "admin", operation_id = "post_api_v1_admin_grid_nodes",
    summary = "添加网格节点 (Adds a node under a parent)",
    request_body(content = CreateNode, content_type = "application/json"),
    responses(
        (status = 201, description = "节点 (The node)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateNode>,
) -> Result<(StatusCode, ApiJson<Node>), ApiError> {
    allow(&principal, Action::EditGrid, Target::Township)?;
    let kind = kind(&body.kind, "kind")?;
    if kind == NodeKind::Township {
        return Err(ApiError::field(
            "kind",
            "一个乡镇只有一个根节点 (a township has one root)",
        ));
    }
    let mut tx = tenant_tx(&state, &principal).await?;
    let parent = node_id(&body.parent_id)
        .map_err(|_| ApiError::field("parent_id", "上级节点不存在 (no such parent)"))?;
    if nodes::node(&mut tx, parent).await?.is_none() {
        return Err(ApiError::field(
            "parent_id",
            "上级节点不存在 (no such parent)",
        ));
    }
    let id = nodes::insert_node(
        &mut tx,
        &NewNode {
            parent: Some(parent),
            kind,
            code: body.code,
            name: body.name,
        },
    )
    .await
    .map_err(|e| match e {
        crate::directory::DirectoryError::Duplicate(_) => {
            ApiError::field("code", "编码已存在 (code already used)")
        }
        other => other.into(),
    })?;
    let node = nodes::node(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(node)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct UpdateNode {
    name: Option<String>,
    kind: Option<String>,
    position: Option<i32>,
    active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/admin/grid/nodes/{id}", tag = "admin", operation_id = "patch_api_v1_admin_grid_nodes_id",
    summary = "修改网格节点 (Renames a node or switches it on or off)",
    params(("id" = uuid::Uuid, Path, description = "The node")),
    request_body(content = UpdateNode, content_type = "application/json"),
    responses(
        (status = 200, description = "节点 (The node)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn update(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateNode>,
) -> Result<ApiJson<Node>, ApiError> {
    allow(&principal, Action::EditGrid, Target::Township)?;
    let id = node_id(&id)?;
    let kind = body.kind.as_deref().map(|k| kind(k, "kind")).transpose()?;
    let mut tx = tenant_tx(&state, &principal).await?;
    nodes::update_node(&mut tx, id, body.name.as_deref(), kind, body.position).await?;
    if let Some(active) = body.active {
        nodes::set_active(&mut tx, id, active).await?;
    }
    let node = nodes::node(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(ApiJson(node))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct MoveNode {
    parent_id: String,
}

#[utoipa::path(post, path = "/api/v1/admin/grid/nodes/{id}/move", tag = "admin", operation_id = "post_api_v1_admin_grid_nodes_id_move",
    summary = "移动网格节点 (Moves a node under another parent)",
    params(("id" = uuid::Uuid, Path, description = "The node")),
    request_body(content = MoveNode, content_type = "application/json"),
    responses(
        (status = 200, description = "节点 (The node)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn move_node(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveNode>,
) -> Result<ApiJson<Node>, ApiError> {
    allow(&principal, Action::EditGrid, Target::Township)?;
    let id = node_id(&id)?;
    let parent = node_id(&body.parent_id)
        .map_err(|_| ApiError::field("parent_id", "上级节点不存在 (no such parent)"))?;
    let mut tx = tenant_tx(&state, &principal).await?;
    nodes::move_node(&mut tx, id, parent)
        .await
        .map_err(|e| match e {
            crate::directory::DirectoryError::Invalid(m) => ApiError::field("parent_id", m),
            crate::directory::DirectoryError::NotFound(w) if w == "new parent" => {
                ApiError::field("parent_id", "上级节点不存在 (no such parent)")
            }
            other => other.into(),
        })?;
    let node = nodes::node(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(ApiJson(node))
}
