//! `/county/dashboard`: the league table of townships with each component of the
//! score, eight weeks of the county's trends, the cases overdue now across townships,
//! and one township's every figure on one click (`?township=<code>`). Each read is
//! recorded, as every county read is.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::Duration;
use mashang_auth::{MaybeSignedIn, Principal, PrincipalKind};
use mashang_db::SystemScope;
use mashang_http::ApiError;
use mashang_web::staff::{self, StaffHeader};
use serde::Deserialize;
use uuid::Uuid;

use super::cases::{CaseLine, county_lines, overdue_condition};
use super::labels::{self, LABELS};
use super::{
    Cell, Drawn, PeriodForm, TREND_WEEKS, chosen_period, draw, query, trend_rates, trend_reports,
};
use mashang_http::openapi::{Html, PageErrors};

use crate::AnalyticsState;
use crate::charts::{Chart, ChartKind};
use crate::figures::drill::{self, Listing, Part};
use crate::figures::{Durations, LEAGUE_WEIGHTS, Period, TownshipRow, county_rows, league, trend};
use crate::pages::ASSETS;
use crate::stats_api::county_tx;

/// Townships drawn in the score chart.
const CHART_TOWNSHIPS: usize = 15;
/// Overdue cases listed on the page.
const OVERDUE_SHOWN: i64 = 20;
/// The longest township code accepted.
const MAX_CODE: usize = 16;

/// `?from=…&to=…[&township=<code>]`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Form {
    /// First local day (the last 30 days when not given).
    #[param(format = Date)]
    from: Option<String>,
    /// Last local day, inclusive.
    #[param(format = Date)]
    to: Option<String>,
    /// One township's code.
    #[param(max_length = 16)]
    township: Option<String>,
}

/// A line of the league table.
#[derive(Debug)]
struct LeagueLine {
    rank: usize,
    code: String,
    name: String,
    score: String,
    reports: Cell,
    components: Vec<Cell>,
}

/// A line of one township's figures.
#[derive(Debug)]
struct Line {
    zh: &'static str,
    en: &'static str,
    value: String,
    numerator: Cell,
    denominator: Cell,
}

/// The township opened on the page.
#[derive(Debug)]
struct Opened {
    name: String,
    code: String,
    lines: Vec<Line>,
}

#[derive(Debug, Template)]
#[template(path = "county_dashboard.html")]
struct Page {
    chrome: StaffHeader,
    from: String,
    to: String,
    error: Option<String>,
    weights: Vec<(&'static str, f64)>,
    league: Vec<LeagueLine>,
    score_chart: Option<Drawn>,
    trend_reports: Drawn,
    trend_rates: Drawn,
    overdue: Vec<CaseLine>,
    overdue_all: String,
    overdue_more: bool,
    opened: Option<Opened>,
    supervision: bool,
}

/// `GET /county/dashboard`.
#[utoipa::path(get, path = "/county/dashboard", tag = "pages", operation_id = "county_dashboard_page", params(Form),
    responses((status = 200, description = "全县看板 (The county dashboard page)", content_type = "text/html", body = Html), PageErrors))]
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
    if !matches!(principal.kind, PrincipalKind::County { .. }) {
        return staff::refuse(
            StatusCode::FORBIDDEN,
            "这里是县综治中心的页面。(These are the county centre's pages.)",
            principal.csrf.as_deref(),
            &ASSETS,
        );
    }
    let Query(form) = form.unwrap_or_default();
    match render(&state, &principal, &uri, form).await {
        Ok(response) => response,
        Err(err) => super::refuse(err, &principal),
    }
}

/// Every township's name by id (the directory's tenants are global).
pub(crate) async fn township_names(
    state: &AnalyticsState,
) -> Result<HashMap<Uuid, String>, ApiError> {
    let mut tx = state.db.system(SystemScope::CountyRead).await?;
    let names = sqlx::query_as::<_, (Uuid, String)>("SELECT id, name FROM routing.tenants")
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    tx.commit().await?;
    Ok(names)
}

async fn render(
    state: &AnalyticsState,
    principal: &Principal,
    uri: &Uri,
    form: Form,
) -> Result<Response, ApiError> {
    let today = super::today_in(None);
    let (period, error) = chosen_period(
        &PeriodForm {
            from: form.from.clone(),
            to: form.to.clone(),
        },
        today,
    );
    let mut tx = county_tx(state, principal, uri).await?;
    let township = form
        .township
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= MAX_CODE);
    // Durations (medians, p90) show only for the township opened on the page.
    let durations = township.map_or(Durations::None, Durations::Of);
    let rows = county_rows(&mut tx, period, durations).await?;
    let trend = trend::weekly(&mut tx, trend::Scope::County, period.to(), TREND_WEEKS).await?;
    let overdue_period =
        Period::new(today - Duration::days(365), today).expect("a year is a valid period");
    let (overdue_rows, more) = drill::list(
        &mut tx,
        &Listing {
            period: overdue_period,
            condition: overdue_condition(),
            within_minutes: None,
            tenant: None,
            nodes: None,
            category: None,
            handler: None,
            after: None,
            limit: OVERDUE_SHOWN,
        },
    )
    .await?;
    tx.commit().await?;

    let names: HashMap<Uuid, String> = rows.iter().map(|r| (r.tenant_id, r.name.clone())).collect();
    let overdue = county_lines(&overdue_rows, &names);

    let links = Links {
        from: period.from().to_string(),
        to: period.to().to_string(),
    };
    let ranked = league(&rows);
    let league_lines: Vec<LeagueLine> = ranked
        .iter()
        .map(|r| LeagueLine {
            rank: r.rank,
            code: r.code.clone(),
            name: r.name.clone(),
            score: r
                .score
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "—".to_owned()),
            reports: Cell {
                text: r.reports.to_string(),
                href: links.cases("reports", Part::Numerator, &r.code),
            },
            components: r
                .components
                .iter()
                .map(|c| Cell {
                    text: labels::value(labels::Kind::Rate, c.figure.value),
                    href: links.cases(c.key, Part::Numerator, &r.code),
                })
                .collect(),
        })
        .collect();
    let score_chart = (!ranked.is_empty()).then(|| {
        let shown = &ranked[..ranked.len().min(CHART_TOWNSHIPS)];
        draw(
            &Chart::new(
                ChartKind::Bar,
                "综合得分（前15名）",
                "乡镇",
                shown.iter().map(|r| r.name.clone()).collect(),
                "分",
            )
            .with_series("综合得分", shown.iter().map(|r| r.score).collect()),
        )
    });
    let opened = township
        .and_then(|code| rows.iter().find(|r| r.code == code))
        .map(|r| opened(r, &links));
    let error = error.or_else(|| {
        (township.is_some() && opened.is_none())
            .then(|| "没有这个乡镇。(No such township.)".to_owned())
    });
    let page = Page {
        chrome: StaffHeader::new(principal, None, &ASSETS),
        from: form.from.unwrap_or_else(|| period.from().to_string()),
        to: form.to.unwrap_or_else(|| period.to().to_string()),
        error,
        weights: LEAGUE_WEIGHTS
            .iter()
            .map(|(k, w)| (labels::of(k).zh, *w))
            .collect(),
        league: league_lines,
        score_chart,
        trend_reports: draw(&trend_reports("全县", &trend)),
        trend_rates: draw(&trend_rates("全县", &trend)),
        overdue,
        overdue_all: format!(
            "/county/dashboard/cases?{}",
            query(&[
                ("from", &overdue_period.from().to_string()),
                ("to", &overdue_period.to().to_string()),
                ("figure", drill::OVERDUE_NOW),
                ("part", "numerator"),
            ])
        ),
        overdue_more: more.is_some(),
        opened,
        supervision: mashang_web::staff::CountyNav::of(principal).supervision,
    };
    Ok(staff::page(StatusCode::OK, &page, &ASSETS))
}

/// What every drill-down link carries.
struct Links {
    from: String,
    to: String,
}

impl Links {
    /// The county's list of the cases behind `part` of `key` in township `code`;
    /// none where the county has no list (durations' numerators, QR scans).
    fn cases(&self, key: &str, part: Part, code: &str) -> Option<String> {
        if matches!(
            drill::condition(key, part)?,
            drill::Condition::Within { .. }
        ) {
            return None;
        }
        let part = match part {
            Part::Numerator => "numerator",
            Part::Denominator => "denominator",
        };
        Some(format!(
            "/county/dashboard/cases?{}",
            query(&[
                ("from", &self.from),
                ("to", &self.to),
                ("figure", key),
                ("part", part),
                ("tenant", code),
            ])
        ))
    }
}

fn opened(row: &TownshipRow, links: &Links) -> Opened {
    Opened {
        name: row.name.clone(),
        code: row.code.clone(),
        lines: LABELS
            .iter()
            .map(|l| {
                let f = row.figures.get(l.key);
                let count = |n: Option<i64>, part| Cell {
                    text: n.map(|n| n.to_string()).unwrap_or_else(|| "—".to_owned()),
                    href: links.cases(l.key, part, &row.code),
                };
                Line {
                    zh: l.zh,
                    en: l.en,
                    value: labels::figure(l.key, f),
                    numerator: count(f.map(|f| f.numerator), Part::Numerator),
                    denominator: count(f.map(|f| f.denominator), Part::Denominator),
                }
            })
            .collect(),
    }
}
