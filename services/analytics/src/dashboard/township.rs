//! `/dashboard`: a township's figures for a chosen period against the previous one,
//! eight weeks of trends, tables per grid, village and worker, the QR posters by scans
//! and conversion, and the cases overdue now. Every number links to its cases.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use mashang_auth::permissions::{Action, Target, allows, visible_roots};
use mashang_auth::{MaybeSignedIn, Principal, PrincipalKind};
use mashang_domain::GridNodeId;
use mashang_http::ApiError;
use mashang_web::staff::{self, StaffHeader};
use serde::Deserialize;
use uuid::Uuid;

use super::cases::{CaseLine, case_lines, overdue_condition};
use super::labels::{self, LABELS};
use super::{
    Cell, Drawn, PeriodForm, TREND_WEEKS, chosen_period, draw, query, trend_rates, trend_reports,
};
use mashang_http::openapi::{Html, PageErrors};

use crate::AnalyticsState;
use crate::charts::{Chart, ChartKind};
use crate::figures::drill::{self, Listing, Part};
use crate::figures::{
    Breakdown, Figures, Filters, Period, TownshipFigures, township_figures, trend,
};
use crate::pages::ASSETS;
use crate::stats_api::township_tx;

/// The headline figures, shown as tiles.
const HEADLINE: [&str; 8] = [
    "reports",
    "timely_response_rate",
    "on_time_resolution_rate",
    "resolution_rate",
    "satisfaction_rate",
    "village_rate",
    "overdue_rate",
    "qr_conversion",
];

/// The columns of the grid, village and worker tables.
pub(crate) const BREAKDOWN: [&str; 6] = [
    "reports",
    "timely_response_rate",
    "on_time_resolution_rate",
    "resolution_rate",
    "satisfaction_rate",
    "overdue_rate",
];

/// Overdue cases listed on the page (the rest are one link away).
const OVERDUE_SHOWN: i64 = 20;
/// Posters drawn in the chart.
const POSTERS_DRAWN: usize = 10;

/// `?from=…&to=…[&node_id=…]`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Form {
    /// First local day (the last 30 days when not given).
    #[param(format = Date)]
    from: Option<String>,
    /// Last local day, inclusive.
    #[param(format = Date)]
    to: Option<String>,
    /// A grid node: figures there and below it.
    #[param(format = Uuid)]
    node_id: Option<String>,
}

/// A headline figure.
#[derive(Debug)]
struct Tile {
    zh: &'static str,
    en: &'static str,
    value: String,
    detail: String,
    change: String,
    href: Option<String>,
}

/// One line of the table of every figure.
#[derive(Debug)]
struct Line {
    zh: &'static str,
    en: &'static str,
    value: String,
    numerator: Cell,
    denominator: Cell,
    previous: String,
    change: String,
}

/// One row of a breakdown table.
#[derive(Debug)]
struct Row {
    name: String,
    cells: Vec<Cell>,
}

/// A QR poster's line.
#[derive(Debug)]
struct PosterLine {
    grid: String,
    scans: i64,
    reports: i64,
    conversion: String,
}

#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
struct Page {
    chrome: StaffHeader,
    scope: String,
    node_id: String,
    from: String,
    to: String,
    error: Option<String>,
    previous: String,
    tiles: Vec<Tile>,
    lines: Vec<Line>,
    columns: Vec<(&'static str, &'static str)>,
    grids: Vec<Row>,
    villages: Vec<Row>,
    workers: Vec<Row>,
    trend_reports: Drawn,
    trend_rates: Drawn,
    posters: Vec<PosterLine>,
    posters_chart: Option<Drawn>,
    overdue: Vec<CaseLine>,
    overdue_all: String,
    overdue_more: bool,
}

/// `GET /dashboard`.
#[utoipa::path(get, path = "/dashboard", tag = "pages", operation_id = "dashboard_page", params(Form),
    responses((status = 200, description = "乡镇看板 (The township dashboard page)", content_type = "text/html", body = Html), PageErrors))]
pub(crate) async fn page(
    State(state): State<AnalyticsState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
    form: Result<Query<Form>, QueryRejection>,
) -> Response {
    let principal = match super::signed_in(signed_in, &uri) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    if matches!(principal.kind, PrincipalKind::County { .. }) {
        return Redirect::to("/county/dashboard").into_response();
    }
    let Query(form) = form.unwrap_or_default();
    match render(&state, &principal, form).await {
        Ok(response) => response,
        Err(err) => super::refuse(err, &principal),
    }
}

async fn render(
    state: &AnalyticsState,
    principal: &Principal,
    form: Form,
) -> Result<Response, ApiError> {
    let mut error = None;
    let mut node = match form.node_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            match Uuid::parse_str(raw) {
                Ok(id) => Some(id),
                Err(_) => {
                    error = Some("网格编号无效，下面是全镇的统计。(Not a grid id; the whole township is shown.)".to_owned());
                    None
                }
            }
        }
    };
    // A village head sees their own part of the tree.
    if node.is_none() && !allows(principal, Action::ViewStats, Target::Township) {
        node = visible_roots(principal, Action::ViewStats)
            .and_then(|roots| roots.first().map(|r| r.as_uuid()));
    }
    let mut tx = township_tx(state, principal, node).await?;
    let tenant = tx.tenant().as_uuid();
    let (township, zone): (String, String) =
        sqlx::query_as("SELECT name, time_zone FROM routing.tenants WHERE id = $1")
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await?;
    let today = super::today_in(Some(&zone));
    let (period, period_error) = chosen_period(
        &PeriodForm {
            from: form.from.clone(),
            to: form.to.clone(),
        },
        today,
    );
    let error = error.or(period_error);
    let filters = Filters {
        node_id: node.map(GridNodeId::from_uuid),
        category: None,
    };
    let now = township_figures(&mut tx, period, &filters).await?;
    let before = township_figures(&mut tx, period.previous(), &filters)
        .await?
        .figures;
    let nodes = match node {
        Some(id) => Some(crate::figures::subtree(&mut tx, id).await?),
        None => None,
    };
    let trend = trend::weekly(
        &mut tx,
        trend::Scope::Township {
            tenant,
            category: None,
            nodes: nodes.as_deref(),
        },
        period.to(),
        TREND_WEEKS,
    )
    .await?;
    let scope = match node {
        None => township.clone(),
        Some(id) => {
            let name: Option<String> =
                sqlx::query_scalar("SELECT name FROM routing.grid_nodes WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            format!("{township} · {}", name.unwrap_or_default())
        }
    };
    let overdue_period =
        Period::new(today - Duration::days(365), today).expect("a year is a valid period");
    let (overdue_rows, more) = drill::list(
        &mut tx,
        &Listing {
            period: overdue_period,
            condition: overdue_condition(),
            within_minutes: None,
            tenant: Some(tenant),
            nodes,
            category: None,
            handler: None,
            after: None,
            limit: OVERDUE_SHOWN,
        },
    )
    .await?;
    let overdue = case_lines(&mut tx, &overdue_rows).await?;
    tx.commit().await?;

    let node_id = node.map(|n| n.to_string()).unwrap_or_default();
    let links = Links {
        from: period.from().to_string(),
        to: period.to().to_string(),
        node_id: node_id.clone(),
    };
    let page = Page {
        chrome: StaffHeader::new(principal, Some(township), &ASSETS),
        scope,
        node_id: node_id.clone(),
        from: form.from.unwrap_or_else(|| period.from().to_string()),
        to: form.to.unwrap_or_else(|| period.to().to_string()),
        error,
        previous: format!("{} 至 {}", period.previous().from(), period.previous().to()),
        tiles: tiles(&now.figures, &before, &links),
        lines: lines(&now.figures, &before, &links),
        columns: BREAKDOWN
            .iter()
            .map(|k| {
                let l = labels::of(k);
                (l.zh, l.en)
            })
            .collect(),
        grids: rows(&now.by_grid, &links, Scope::Node),
        villages: rows(&now.by_village, &links, Scope::Node),
        workers: rows(&now.by_worker, &links, Scope::Handler),
        trend_reports: draw(&trend_reports("", &trend)),
        trend_rates: draw(&trend_rates("", &trend)),
        posters_chart: (!now.qr.is_empty()).then(|| draw(&posters_chart(&now))),
        posters: now
            .qr
            .iter()
            .map(|p| PosterLine {
                grid: p.grid_name.clone().unwrap_or_default(),
                scans: p.scans,
                reports: p.reports,
                conversion: labels::value(labels::Kind::Rate, p.conversion.value),
            })
            .collect(),
        overdue,
        overdue_all: format!(
            "/dashboard/cases?{}",
            query(&[
                ("from", &overdue_period.from().to_string()),
                ("to", &overdue_period.to().to_string()),
                ("figure", "overdue_now"),
                ("part", "numerator"),
                ("node_id", &node_id),
            ])
        ),
        overdue_more: more.is_some(),
    };
    Ok(staff::page(StatusCode::OK, &page, &ASSETS))
}

/// What every drill-down link of the page carries.
struct Links {
    from: String,
    to: String,
    node_id: String,
}

impl Links {
    /// The cases behind `part` of figure `key`, within the page's selection and
    /// `extra` (a node or a handler); none for figures not made of cases.
    fn cases(&self, key: &str, part: Part, extra: Option<(&str, &str)>) -> Option<String> {
        drill::condition(key, part)?;
        let part = match part {
            Part::Numerator => "numerator",
            Part::Denominator => "denominator",
        };
        let mut pairs = vec![
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("figure", key),
            ("part", part),
        ];
        match extra {
            Some(("node_id", id)) => pairs.push(("node_id", id)),
            Some(pair) => {
                pairs.push(("node_id", self.node_id.as_str()));
                pairs.push(pair);
            }
            None => pairs.push(("node_id", self.node_id.as_str())),
        }
        Some(format!("/dashboard/cases?{}", query(&pairs)))
    }
}

fn tiles(now: &Figures, before: &Figures, links: &Links) -> Vec<Tile> {
    HEADLINE
        .iter()
        .map(|key| {
            let l = labels::of(key);
            let f = now.get(*key);
            let detail = match (l.kind, f) {
                (labels::Kind::Rate, Some(f)) => format!("{} / {}", f.numerator, f.denominator),
                _ => String::new(),
            };
            Tile {
                zh: l.zh,
                en: l.en,
                value: labels::figure(key, f),
                detail,
                change: labels::change(key, f, before.get(*key)),
                href: links.cases(key, Part::Numerator, None),
            }
        })
        .collect()
}

fn lines(now: &Figures, before: &Figures, links: &Links) -> Vec<Line> {
    LABELS
        .iter()
        .map(|l| {
            let f = now.get(l.key);
            let count = |n: Option<i64>, part| Cell {
                text: n.map(|n| n.to_string()).unwrap_or_else(|| "—".to_owned()),
                href: links.cases(l.key, part, None),
            };
            Line {
                zh: l.zh,
                en: l.en,
                value: labels::figure(l.key, f),
                numerator: count(f.map(|f| f.numerator), Part::Numerator),
                denominator: count(f.map(|f| f.denominator), Part::Denominator),
                previous: labels::figure(l.key, before.get(l.key)),
                change: labels::change(l.key, f, before.get(l.key)),
            }
        })
        .collect()
}

/// Whether a breakdown's rows are grid nodes or handlers.
#[derive(Clone, Copy)]
enum Scope {
    Node,
    Handler,
}

fn rows(breakdown: &[Breakdown], links: &Links, scope: Scope) -> Vec<Row> {
    breakdown
        .iter()
        .map(|b| {
            let id = b.id.map(|id| id.to_string());
            let extra = id.as_deref().map(|id| match scope {
                Scope::Node => ("node_id", id),
                Scope::Handler => ("handler", id),
            });
            Row {
                name: match (&b.name, b.id) {
                    (Some(name), _) => name.clone(),
                    (None, Some(_)) => "（已删除）".to_owned(),
                    (None, None) => match scope {
                        Scope::Node => "（未归属）".to_owned(),
                        Scope::Handler => "（未派单）".to_owned(),
                    },
                },
                cells: BREAKDOWN
                    .iter()
                    .map(|key| Cell {
                        text: labels::figure(key, b.figures.get(*key)),
                        href: extra.and_then(|e| links.cases(key, Part::Numerator, Some(e))),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn posters_chart(now: &TownshipFigures) -> Chart {
    let shown = &now.qr[..now.qr.len().min(POSTERS_DRAWN)];
    Chart::new(
        ChartKind::Bar,
        "二维码扫码与报件（扫码最多的10张）",
        "网格",
        shown
            .iter()
            .map(|p| p.grid_name.clone().unwrap_or_default())
            .collect(),
        "次",
    )
    .with_series("扫码", shown.iter().map(|p| Some(p.scans as f64)).collect())
    .with_series(
        "报件",
        shown.iter().map(|p| Some(p.reports as f64)).collect(),
    )
}
