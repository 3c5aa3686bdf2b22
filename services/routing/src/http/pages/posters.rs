//! QR codes and posters: links to the print sheet (HTML and PDF) for a subtree, the
//! live codes with their downloads and scan counts, and issuing codes for grids that
//! have none.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target, visible_roots};
use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use mashang_domain::grid::NodeKind;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Staff, render, see_other};
use super::tree::{NodeOption, options, tree_order};
use crate::RoutingState;
use crate::directory::nodes::{self, Node};
use crate::directory::qr;
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// A live QR code as listed.
#[derive(Debug)]
struct CodeRow {
    id: Uuid,
    node_code: String,
    node_name: String,
    created: String,
    scans: i64,
}

/// A place whose posters can be printed as one sheet.
#[derive(Debug)]
struct PrintLink {
    node_id: Uuid,
    label: String,
    kind: &'static str,
}

#[derive(Debug, Template)]
#[template(path = "admin/posters.html")]
struct PostersPage {
    chrome: Chrome,
    nodes: Vec<NodeOption>,
    links: Vec<PrintLink>,
    codes: Vec<CodeRow>,
    can_issue: bool,
    /// Active grids (of what may be printed) without a live code.
    missing: Vec<(String, String)>,
    issued: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PostersQuery {
    issued: Option<u32>,
}

/// The ids of the nodes whose codes the person may print; `None` = all.
async fn printable(tx: &mut TenantTx, staff: &Staff) -> Result<Option<HashSet<Uuid>>, PageError> {
    let Some(roots) = visible_roots(&staff.principal, Action::PrintPosters) else {
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

fn is_grid(n: &Node) -> bool {
    n.kind == NodeKind::Grid.as_str() || n.kind == NodeKind::Subgrid.as_str()
}

/// `GET /admin/posters`.
#[utoipa::path(get, path = "/admin/posters", tag = "pages", operation_id = "get_admin_posters",
    summary = "二维码海报 (The QR posters page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<PostersQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::PrintPosters, Target::List)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let all = nodes::tree(&mut tx).await?;
    let visible = printable(&mut tx, &staff).await?;
    let mut live = qr::list(&mut tx, false).await?;
    tx.commit().await?;
    let shown = |id: &Uuid| visible.as_ref().is_none_or(|v| v.contains(id));
    live.retain(|c| shown(&c.node_id));
    let order = tree_order(&all, visible.as_ref());
    let links = order
        .iter()
        .filter(|(_, n)| !is_grid(n))
        .map(|(depth, n)| PrintLink {
            node_id: n.id,
            label: format!("{}{}", "\u{3000}".repeat(*depth), n.name),
            kind: NodeKind::parse(&n.kind).map_or("", NodeKind::name_zh),
        })
        .collect();
    let with_code: HashSet<Uuid> = live.iter().map(|c| c.node_id).collect();
    let missing = order
        .iter()
        .filter(|(_, n)| n.active && is_grid(n) && !with_code.contains(&n.id))
        .map(|(_, n)| (n.name.clone(), n.code.clone()))
        .collect();
    let codes = live
        .into_iter()
        .map(|c| CodeRow {
            id: c.id,
            node_code: c.node_code,
            node_name: c.node_name,
            created: c.created_at.format("%Y-%m-%d").to_string(),
            scans: c.scans,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &PostersPage {
            nodes: options(order),
            links,
            codes,
            can_issue: staff.may(Action::ManageQrCodes, Target::Township),
            missing,
            issued: q.issued,
            chrome: staff.chrome,
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct IssueForm {
    #[serde(default)]
    node_id: String,
}

/// `POST /admin/posters/issue-missing`: a code for every active grid (of the chosen
/// subtree, the whole township by default) that has no live one.
#[utoipa::path(post, path = "/admin/posters/issue-missing", tag = "pages", operation_id = "post_admin_posters_issue_missing",
    summary = "补发二维码 (Issues codes to grids without one)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn issue_missing(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<IssueForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ManageQrCodes, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let within: Option<HashSet<Uuid>> = match form.node_id.trim() {
        "" => None,
        raw => {
            let root: GridNodeId = raw.parse().map_err(|_| PageError::not_found())?;
            let sub = nodes::subtree(&mut tx, root).await?;
            if sub.is_empty() {
                return Err(PageError::not_found());
            }
            Some(sub.into_iter().map(|n| n.as_uuid()).collect())
        }
    };
    let with_code: HashSet<Uuid> = qr::list(&mut tx, false)
        .await?
        .into_iter()
        .map(|c| c.node_id)
        .collect();
    let mut issued = 0u32;
    for grid in nodes::tree(&mut tx).await?.iter().filter(|n| {
        n.active
            && is_grid(n)
            && !with_code.contains(&n.id)
            && within.as_ref().is_none_or(|w| w.contains(&n.id))
    }) {
        qr::issue(&mut tx, GridNodeId::from_uuid(grid.id)).await?;
        issued += 1;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/admin/posters?issued={issued}")))
}
