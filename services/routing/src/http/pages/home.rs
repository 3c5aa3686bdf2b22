//! The home page: who is signed in, their roles, and what those roles allow.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use mashang_http::openapi::{Html, PageErrors};

/// A role the person holds, where.
#[derive(Debug)]
struct RoleLine {
    role: &'static str,
    node: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    chrome: Chrome,
    roles: Vec<RoleLine>,
}

/// `GET /admin`.
#[utoipa::path(get, path = "/admin", tag = "pages", operation_id = "get_admin",
    summary = "管理首页 (The administration home page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn home(
    State(state): State<RoutingState>,
    staff: Staff,
) -> Result<Response, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let names: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, name FROM routing.grid_nodes WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(staff.tenant.as_uuid())
    .bind(
        staff
            .principal
            .roles
            .iter()
            .filter_map(|g| g.node.map(|n| n.as_uuid()))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let roles = staff
        .principal
        .roles
        .iter()
        .map(|g| RoleLine {
            role: g.role.name_zh(),
            node: g
                .node
                .and_then(|n| names.iter().find(|(id, _)| *id == n.as_uuid()))
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &HomePage {
            chrome: staff.chrome,
            roles,
        },
    ))
}
