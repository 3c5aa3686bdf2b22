//! The grid tree: the nested list, adding a node, and one node's page (rename, move,
//! activate or deactivate).

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target, visibility};
use mashang_db::TenantTx;
use mashang_domain::GridNodeId;
use mashang_domain::grid::NodeKind;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Chrome, PageError, Refusal, Staff, notice, render, see_other};
use crate::RoutingState;
use crate::directory::nodes::{self, NewNode, Node};
use crate::directory::{DirectoryError, qr};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The kinds a new node may have (the township is only ever the root).
const CHILD_KINDS: [NodeKind; 5] = [
    NodeKind::Village,
    NodeKind::Community,
    NodeKind::Grid,
    NodeKind::Subgrid,
    NodeKind::Office,
];

pub(super) fn kind_zh(raw: &str) -> &'static str {
    NodeKind::parse(raw).map_or("未知", NodeKind::name_zh)
}

/// One node in the nested list. `opens`/`closes` say how the list nests before it.
#[derive(Debug)]
struct TreeRow {
    id: Uuid,
    code: String,
    name: String,
    kind: &'static str,
    active: bool,
    live_codes: usize,
    /// A deeper level starts with this node (`<ul>`).
    opens: bool,
    /// This many levels end before this node (`</ul></li>` each).
    closes: usize,
}

/// A node in a select, indented by depth.
#[derive(Debug)]
pub(super) struct NodeOption {
    pub id: String,
    pub label: String,
}

/// The nodes in tree order (each followed by its subtree), with their depth; only the
/// `visible` ones when given, each visible node whose parent is hidden starting a tree.
pub(super) fn tree_order<'a>(
    all: &'a [Node],
    visible: Option<&HashSet<Uuid>>,
) -> Vec<(usize, &'a Node)> {
    let shown = |n: &Node| visible.is_none_or(|v| v.contains(&n.id));
    let mut children: HashMap<Uuid, Vec<&Node>> = HashMap::new();
    for n in all.iter().filter(|n| shown(n)) {
        if let Some(p) = n.parent_id {
            children.entry(p).or_default().push(n);
        }
    }
    let ids: HashSet<Uuid> = all.iter().filter(|n| shown(n)).map(|n| n.id).collect();
    let mut out = Vec::new();
    for top in all
        .iter()
        .filter(|n| shown(n) && n.parent_id.is_none_or(|p| !ids.contains(&p)))
    {
        let mut stack = vec![(0usize, top)];
        while let Some((depth, node)) = stack.pop() {
            out.push((depth, node));
            if let Some(kids) = children.get(&node.id) {
                stack.extend(kids.iter().rev().map(|k| (depth + 1, *k)));
            }
        }
    }
    out
}

/// Select options for every node of the tree, indented by depth, leaving out `except`.
pub(super) fn node_options(all: &[Node], except: &HashSet<Uuid>) -> Vec<NodeOption> {
    options(
        tree_order(all, None)
            .into_iter()
            .filter(|(_, n)| !except.contains(&n.id)),
    )
}

/// Select options for nodes in tree order, indented by depth.
pub(super) fn options<'a>(order: impl IntoIterator<Item = (usize, &'a Node)>) -> Vec<NodeOption> {
    order
        .into_iter()
        .map(|(depth, n)| NodeOption {
            id: n.id.to_string(),
            label: format!(
                "{}{} {}（{}）",
                "\u{3000}".repeat(depth),
                kind_zh(&n.kind),
                n.name,
                n.code
            ),
        })
        .collect()
}

/// Live QR codes per node.
pub(super) async fn live_codes(tx: &mut TenantTx) -> Result<HashMap<Uuid, usize>, PageError> {
    let mut counts = HashMap::new();
    for code in qr::list(tx, false).await? {
        *counts.entry(code.node_id).or_insert(0) += 1;
    }
    Ok(counts)
}

/// What was typed in the add form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/tree.html")]
struct TreePage {
    chrome: Chrome,
    rows: Vec<TreeRow>,
    /// Levels still open after the last node.
    tail: usize,
    can_edit: bool,
    parents: Vec<NodeOption>,
    kinds: Vec<(&'static str, &'static str)>,
    add: AddForm,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TreeQuery {
    ok: Option<String>,
    parent: Option<String>,
}

async fn tree_page(
    state: &RoutingState,
    staff: Staff,
    add: AddForm,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<TreePage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let all = nodes::tree(&mut tx).await?;
    let visible = match visibility(&staff.principal, Action::ViewGrid) {
        None => None,
        Some(allowed) => {
            // Own roles see their node itself, subtree roles everything below theirs.
            let mut set: HashSet<uuid::Uuid> = allowed.nodes.iter().map(|n| n.as_uuid()).collect();
            for root in allowed.subtrees {
                set.extend(
                    nodes::subtree(&mut tx, root)
                        .await?
                        .into_iter()
                        .map(|n| n.as_uuid()),
                );
            }
            Some(set)
        }
    };
    let codes = live_codes(&mut tx).await?;
    tx.commit().await?;
    let order = tree_order(&all, visible.as_ref());
    let mut rows = Vec::with_capacity(order.len());
    let mut previous: Option<usize> = None;
    for (depth, n) in &order {
        let (opens, closes) = match previous {
            Some(p) if *depth > p => (true, 0),
            Some(p) => (false, p - depth),
            None => (false, 0),
        };
        previous = Some(*depth);
        rows.push(TreeRow {
            id: n.id,
            code: n.code.clone(),
            name: n.name.clone(),
            kind: kind_zh(&n.kind),
            active: n.active,
            live_codes: codes.get(&n.id).copied().unwrap_or(0),
            opens,
            closes,
        });
    }
    let can_edit = staff.may(Action::EditGrid, Target::Township);
    Ok(TreePage {
        chrome: staff.chrome,
        rows,
        tail: previous.unwrap_or(0),
        can_edit,
        parents: if can_edit {
            node_options(&all, &HashSet::new())
        } else {
            Vec::new()
        },
        kinds: CHILD_KINDS
            .iter()
            .map(|k| (k.as_str(), k.name_zh()))
            .collect(),
        add,
        error,
        notice,
    })
}

/// `GET /admin/grid[?parent=…]`: the tree, and the add form (its parent preselected).
#[utoipa::path(get, path = "/admin/grid", tag = "pages", operation_id = "get_admin_grid",
    summary = "网格树 (The grid tree page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<TreeQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ViewGrid, Target::List)?;
    let add = AddForm {
        parent_id: q.parent.unwrap_or_default(),
        ..AddForm::default()
    };
    let page = tree_page(&state, staff, add, None, notice(q.ok.as_deref())).await?;
    Ok(render(StatusCode::OK, &page))
}

fn check_code(code: &str) -> Result<(), Refusal> {
    if code.is_empty() || code.chars().count() > 64 || code.chars().any(char::is_whitespace) {
        return Err(Refusal::Say(
            "编码为1到64个字符，不能有空格。(A code is 1 to 64 characters without spaces.)"
                .to_owned(),
        ));
    }
    Ok(())
}

pub(super) fn check_name(name: &str) -> Result<(), Refusal> {
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Refusal::Say(
            "名称为1到100个字。(A name is 1 to 100 characters.)".to_owned(),
        ));
    }
    Ok(())
}

/// What the directory's refusal means to the person at the form.
pub(super) fn said(err: DirectoryError, code: &str) -> Refusal {
    match err {
        DirectoryError::Duplicate(_) => Refusal::Say(format!(
            "编码“{code}”已被本镇其他节点使用，请换一个。(This code is already used.)"
        )),
        DirectoryError::Invalid(why) => Refusal::Say(format!("无法保存：{why}")),
        DirectoryError::NotFound(_) => {
            Refusal::Say("节点不存在，可能刚被别人改过，请刷新页面。(No such node.)".to_owned())
        }
        other => Refusal::Fail(other.into()),
    }
}

pub(super) fn parse_node(raw: &str) -> Option<GridNodeId> {
    raw.trim().parse().ok()
}

async fn add_node(tx: &mut TenantTx, form: &AddForm) -> Result<GridNodeId, Refusal> {
    let parent = match parse_node(&form.parent_id) {
        Some(p) if nodes::node(tx, p).await.map_err(PageError::from)?.is_some() => p,
        _ => {
            return Err(Refusal::Say(
                "请选择上级节点。(Choose the parent.)".to_owned(),
            ));
        }
    };
    let kind = NodeKind::parse(form.kind.trim())
        .filter(|k| *k != NodeKind::Township)
        .ok_or_else(|| Refusal::Say("请选择类型。(Choose the kind.)".to_owned()))?;
    let code = form.code.trim();
    check_code(code)?;
    check_name(form.name.trim())?;
    nodes::insert_node(
        tx,
        &NewNode {
            parent: Some(parent),
            kind,
            code: code.to_owned(),
            name: form.name.trim().to_owned(),
        },
    )
    .await
    .map_err(|e| said(e, code))
}

/// `POST /admin/grid/nodes`: adds a node; on a refusal the tree again, with the form
/// as typed and what was wrong next to it.
#[utoipa::path(post, path = "/admin/grid/nodes", tag = "pages", operation_id = "post_admin_grid_nodes",
    summary = "添加网格节点 (Adds a node)",
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
    staff.require(Action::EditGrid, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    match add_node(&mut tx, &form).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(see_other(&format!("/admin/grid?ok=added#n-{id}")))
        }
        Err(Refusal::Fail(err)) => Err(err),
        Err(Refusal::Say(error)) => {
            drop(tx);
            let page = tree_page(&state, staff, form, Some(error), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
