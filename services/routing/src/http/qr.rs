//! QR codes: list, issue, download (PNG, SVG), revoke and reissue, and poster sheets.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mashang_auth::permissions::{Action, Target, visible_roots};
use mashang_auth::{Auth, Principal};
use mashang_db::TenantTx;
use mashang_domain::{GridNodeId, QrCodeId};
use mashang_http::{ApiError, ApiJson, ApiQuery};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::grid::node_id;
use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::{nodes, qr};
use crate::qr_render::{self, Poster};
use mashang_http::openapi::{
    Binary, ConflictError, Html, JsonBodyErrors, NotFoundError, QueryErrors, StaffErrors,
    Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list, issue))
        .routes(routes!(issue_missing))
        .routes(routes!(download))
        .routes(routes!(revoke))
        .routes(routes!(posters))
}

/// A QR code with its landing URL.
#[derive(Debug, Serialize)]
struct QrCodeView {
    #[serde(flatten)]
    row: qr::QrCodeRow,
    url: String,
}

fn view(state: &RoutingState, row: qr::QrCodeRow) -> QrCodeView {
    QrCodeView {
        url: state.landing_url(&row.token),
        row,
    }
}

/// The node ids the principal may print for; `None` = all.
async fn printable(
    tx: &mut TenantTx,
    principal: &Principal,
) -> Result<Option<Vec<Uuid>>, ApiError> {
    match visible_roots(principal, Action::PrintPosters) {
        None => Ok(None),
        Some(roots) => {
            let mut all = Vec::new();
            for root in roots {
                all.extend(
                    nodes::subtree(tx, root)
                        .await?
                        .into_iter()
                        .map(|n| n.as_uuid()),
                );
            }
            Ok(Some(all))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[serde(default)]
    include_revoked: bool,
}

#[utoipa::path(get, path = "/api/v1/admin/qr-codes", tag = "admin", operation_id = "get_api_v1_admin_qr_codes",
    summary = "二维码 (The township QR codes)",
    params(ListQuery),
    responses(
        (status = 200, description = "二维码 (The codes)", body = Vec<Object>),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<QrCodeView>>, ApiError> {
    allow(&principal, Action::PrintPosters, Target::List)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let mut rows = qr::list(&mut tx, q.include_revoked).await?;
    if let Some(visible) = printable(&mut tx, &principal).await? {
        rows.retain(|r| visible.contains(&r.node_id));
    }
    tx.commit().await?;
    Ok(ApiJson(rows.into_iter().map(|r| view(&state, r)).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct IssueBody {
    node_id: String,
}

#[utoipa::path(post, path = "/api/v1/admin/qr-codes", tag = "admin", operation_id = "post_api_v1_admin_qr_codes",
    summary = "发放二维码 (Issues a QR code for a grid)",
    request_body(content = IssueBody, content_type = "application/json"),
    responses(
        (status = 201, description = "二维码 (The code)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn issue(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<IssueBody>,
) -> Result<(StatusCode, ApiJson<QrCodeView>), ApiError> {
    allow(&principal, Action::ManageQrCodes, Target::Township)?;
    let node = node_id(&body.node_id)
        .map_err(|_| ApiError::field("node_id", "节点不存在 (no such node)"))?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if nodes::node(&mut tx, node).await?.is_none() {
        return Err(ApiError::field("node_id", "节点不存在 (no such node)"));
    }
    let (id, _) = qr::issue(&mut tx, node).await?;
    let row = qr::get(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(view(&state, row))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SubtreeQuery {
    node_id: Option<String>,
}

/// `POST /api/v1/admin/qr-codes/issue-missing?node_id=…`: a code for every active grid
/// of the subtree (the whole township by default) that has no live one.
#[utoipa::path(post, path = "/api/v1/admin/qr-codes/issue-missing", tag = "admin", operation_id = "post_api_v1_admin_qr_codes_issue_missing",
    summary = "补发二维码 (Issues a code to every grid that has none)",
    params(SubtreeQuery),
    responses(
        (status = 200, description = "发放数量 (How many were issued)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn issue_missing(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<SubtreeQuery>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Action::ManageQrCodes, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let grids = grids_under(&mut tx, q.node_id.as_deref()).await?;
    let live: Vec<Uuid> = qr::list(&mut tx, false)
        .await?
        .into_iter()
        .map(|r| r.node_id)
        .collect();
    let mut issued = 0;
    for grid in grids.iter().filter(|g| !live.contains(&g.id)) {
        qr::issue(&mut tx, GridNodeId::from_uuid(grid.id)).await?;
        issued += 1;
    }
    tx.commit().await?;
    Ok(ApiJson(serde_json::json!({"issued": issued})))
}

/// The active grids (and sub-grids) under a node, in tree order.
async fn grids_under(tx: &mut TenantTx, node: Option<&str>) -> Result<Vec<nodes::Node>, ApiError> {
    let all = nodes::tree(tx).await?;
    let within: Option<Vec<Uuid>> = match node {
        Some(raw) => {
            let root = node_id(raw)
                .map_err(|_| ApiError::field("node_id", "节点不存在 (no such node)"))?;
            let sub = nodes::subtree(tx, root).await?;
            if sub.is_empty() {
                return Err(ApiError::field("node_id", "节点不存在 (no such node)"));
            }
            Some(sub.into_iter().map(|n| n.as_uuid()).collect())
        }
        None => None,
    };
    Ok(all
        .into_iter()
        .filter(|n| n.active && (n.kind == "grid" || n.kind == "subgrid"))
        .filter(|n| within.as_ref().is_none_or(|w| w.contains(&n.id)))
        .collect())
}

fn bytes(content_type: &'static str, body: Vec<u8>, file_name: Option<String>) -> Response {
    let mut response =
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(name) = file_name
        && let Ok(value) = format!("attachment; filename=\"{name}\"").parse()
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /api/v1/admin/qr-codes/{id}.png` or `.svg`.
#[utoipa::path(get, path = "/api/v1/admin/qr-codes/{file}", tag = "admin", operation_id = "get_api_v1_admin_qr_codes_file",
    summary = "二维码图片 (A code as PNG or SVG: `{id}.png`, `{id}.svg`)",
    params(("file" = String, Path, max_length = 100, description = "`{id}.png` or `{id}.svg`")),
    responses(
        (status = 200, description = "图片 (The image)", content((Binary = "image/png"), (String = "image/svg+xml"))),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn download(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (id, ext) = file.rsplit_once('.').ok_or(ApiError::NotFound)?;
    let id: QrCodeId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let row = qr::get(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, GridNodeId::from_uuid(row.node_id)).await?;
    allow(
        &principal,
        Action::PrintPosters,
        Target::Node {
            ancestry: &ancestry,
        },
    )?;
    tx.commit().await?;
    let url = state.landing_url(&row.token);
    let name = format!("{}-{}", row.node_code, &row.id.to_string()[..8]);
    match ext {
        "png" => Ok(bytes(
            "image/png",
            qr_render::png(&url).map_err(ApiError::internal)?,
            Some(format!("{name}.png")),
        )),
        "svg" => Ok(bytes(
            "image/svg+xml",
            qr_render::svg(&url)
                .map_err(ApiError::internal)?
                .into_bytes(),
            Some(format!("{name}.svg")),
        )),
        _ => Err(ApiError::NotFound),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct RevokeBody {
    #[serde(default)]
    reissue: bool,
}

/// `POST /api/v1/admin/qr-codes/{id}/revoke` (`{"reissue": true}` for a replacement).
#[utoipa::path(post, path = "/api/v1/admin/qr-codes/{id}/revoke", tag = "admin", operation_id = "post_api_v1_admin_qr_codes_id_revoke",
    summary = "停用二维码 (Revokes a code, optionally replacing it)",
    params(("id" = uuid::Uuid, Path, description = "The code")),
    request_body(content = RevokeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "已停用 (Revoked)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn revoke(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    allow(&principal, Action::ManageQrCodes, Target::Township)?;
    let id: QrCodeId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let replacement = qr::revoke(&mut tx, id, body.reissue).await?;
    let replacement = match replacement {
        Some((new_id, _)) => qr::get(&mut tx, new_id).await?.map(|r| view(&state, r)),
        None => None,
    };
    tx.commit().await?;
    Ok(ApiJson(
        serde_json::json!({"revoked": id, "replacement": replacement}),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PosterQuery {
    node_id: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/admin/posters?node_id=…&format=html|pdf`: one A4 poster per grid of the
/// subtree that has a live code.
#[utoipa::path(get, path = "/api/v1/admin/posters", tag = "admin", operation_id = "get_api_v1_admin_posters",
    summary = "张贴海报 (Printable posters of the codes, as PDF)",
    params(PosterQuery),
    responses(
        (status = 200, description = "海报：PDF，或 format=html 时的网页 (The posters: a PDF, or a page with format=html)", content(
            (Binary = "application/pdf"),
            (Html = "text/html"),
        )),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn posters(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<PosterQuery>,
) -> Result<Response, ApiError> {
    let mut tx = tenant_tx(&state, &principal).await?;
    let root = match &q.node_id {
        Some(raw) => {
            node_id(raw).map_err(|_| ApiError::field("node_id", "节点不存在 (no such node)"))?
        }
        None => nodes::tree(&mut tx)
            .await?
            .first()
            .map(|n| GridNodeId::from_uuid(n.id))
            .ok_or(ApiError::NotFound)?,
    };
    let ancestry = nodes::ancestry(&mut tx, root).await?;
    if ancestry.is_empty() {
        return Err(ApiError::field("node_id", "节点不存在 (no such node)"));
    }
    allow(
        &principal,
        Action::PrintPosters,
        Target::Node {
            ancestry: &ancestry,
        },
    )?;
    let root_raw = root.to_string();
    let grids = grids_under(&mut tx, Some(&root_raw)).await?;
    let codes = qr::list(&mut tx, false).await?;
    let all = nodes::tree(&mut tx).await?;
    let (township, contact): (String, Option<String>) =
        sqlx::query_as("SELECT name, contact_phone FROM routing.tenants WHERE id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    let name_of = |id: Uuid| all.iter().find(|n| n.id == id);
    let mut sheet = Vec::new();
    for grid in &grids {
        let Some(code) = codes.iter().find(|c| c.node_id == grid.id) else {
            continue;
        };
        // The names between the township and the grid (village, community).
        let mut path = Vec::new();
        let mut parent = grid.parent_id;
        // Bounded like every walk of the tree, whatever the rows say.
        while let Some(p) = parent.and_then(name_of) {
            if p.parent_id.is_none() || path.len() >= crate::directory::nodes::MAX_DEPTH as usize {
                break;
            }
            path.push(p.name.clone());
            parent = p.parent_id;
        }
        path.reverse();
        sheet.push(Poster {
            township: township.clone(),
            path,
            grid: grid.name.clone(),
            url: state.landing_url(&code.token),
            contact: contact.clone(),
        });
    }
    match q.format.as_deref().unwrap_or("html") {
        "html" => {
            let html = qr_render::posters_html(&sheet).map_err(ApiError::internal)?;
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response())
        }
        "pdf" => Ok(bytes(
            "application/pdf",
            qr_render::posters_pdf(&sheet).map_err(ApiError::internal)?,
            Some("posters.pdf".to_owned()),
        )),
        _ => Err(ApiError::field("format", "html or pdf")),
    }
}
