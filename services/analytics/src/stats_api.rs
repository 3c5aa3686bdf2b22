//! The figures over HTTP: a township's (`/api/v1/stats/township`, and the cases behind
//! each figure, `/api/v1/stats/cases`) and the county's side by side
//! (`/api/v1/county/stats`, `/api/v1/county/league`, `/api/v1/county/stats/cases`).
//! Every input is bounded before any work; every county read is recorded.

use axum::extract::State;
use axum::http::Uri;
use chrono::NaiveDate;
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, Principal, PrincipalKind};
use mashang_db::{GlobalTx, SystemScope, TenantTx};
use mashang_domain::GridNodeId;
use mashang_http::openapi::{
    BadRequestError, NotFoundError, QueryErrors, RateLimited, StaffErrors, Unavailable,
};
use mashang_http::{ApiError, ApiJson, ApiQuery};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::AnalyticsState;
use crate::figures::drill::{self, CaseRow, Condition, Cursor, Listing, Part};
use crate::figures::{
    Filters, LEAGUE_WEIGHTS, LeagueRow, MAX_DAYS, Period, PeriodError, TownshipFigures,
    TownshipRow, county_figures, township_figures,
};

/// The longest category code accepted in a filter.
const MAX_CATEGORY: usize = 64;
/// The most cases a drill-down page holds.
const MAX_LIMIT: i64 = 200;

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD[&node_id=…&category=…]`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// First local day (required).
    #[param(format = Date, example = "2026-11-01")]
    from: Option<String>,
    /// Last local day, inclusive (required; at most 366 days after `from`).
    #[param(format = Date, example = "2026-11-30")]
    to: Option<String>,
    /// A grid node: figures there and below it.
    #[param(format = Uuid)]
    node_id: Option<String>,
    /// A category code.
    #[param(max_length = 64)]
    category: Option<String>,
}

/// The drill-down's query: the figure's and the listing's parameters.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CasesQuery {
    /// First local day (required).
    #[param(format = Date)]
    pub(crate) from: Option<String>,
    /// Last local day, inclusive (required).
    #[param(format = Date)]
    pub(crate) to: Option<String>,
    /// The figure whose cases are listed (`received`, `overdue`, …; required).
    #[param(max_length = 64)]
    pub(crate) figure: Option<String>,
    /// The part of the figure (a breakdown's key).
    #[param(max_length = 64)]
    pub(crate) part: Option<String>,
    /// A grid node: cases there and below it.
    #[param(format = Uuid)]
    pub(crate) node_id: Option<String>,
    /// A category code.
    #[param(max_length = 64)]
    pub(crate) category: Option<String>,
    /// A handler's user id.
    #[param(format = Uuid)]
    pub(crate) handler: Option<String>,
    /// County only: the township.
    #[param(max_length = 64)]
    pub(crate) tenant: Option<String>,
    /// The cursor of the next page, from the previous page.
    #[param(max_length = 200)]
    pub(crate) after: Option<String>,
    /// Cases on a page.
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<i64>,
}

pub(crate) fn bad(message: &str) -> ApiError {
    ApiError::BadRequest(message.to_owned())
}

fn date(raw: Option<&str>, name: &str) -> Result<NaiveDate, ApiError> {
    let raw = raw.ok_or_else(|| {
        bad(&format!(
            "缺少 {name}，格式 YYYY-MM-DD ({name} is required, as YYYY-MM-DD)"
        ))
    })?;
    if raw.len() != 10 {
        return Err(bad(&format!(
            "{name} 须为 YYYY-MM-DD ({name} must be a date as YYYY-MM-DD)"
        )));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        bad(&format!(
            "{name} 不是有效日期 ({name} is not a valid date, YYYY-MM-DD)"
        ))
    })
}

/// Reads and bounds a period.
pub(crate) fn period(from: Option<&str>, to: Option<&str>) -> Result<Period, ApiError> {
    let (from, to) = (date(from, "from")?, date(to, "to")?);
    Period::new(from, to).map_err(|e| match e {
        PeriodError::Reversed => bad("to 早于 from (to is before from)"),
        PeriodError::TooLong => bad(&format!(
            "时间段最长 {MAX_DAYS} 天 (the period is at most {MAX_DAYS} days)"
        )),
    })
}

pub(crate) fn uuid_param(raw: Option<&str>, name: &str) -> Result<Option<Uuid>, ApiError> {
    raw.map(|r| Uuid::parse_str(r).map_err(|_| bad(&format!("{name} 无效 ({name} is not an id)"))))
        .transpose()
}

fn category(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        Some(c) if c.is_empty() || c.chars().count() > MAX_CATEGORY => {
            Err(bad("category 无效 (category must be 1 to 64 characters)"))
        }
        other => Ok(other),
    }
}

/// The township's transaction for `principal`, after checking they may see its
/// figures: the whole township, or with `node`, that node's subtree.
pub(crate) async fn township_tx(
    state: &AnalyticsState,
    principal: &Principal,
    node: Option<Uuid>,
) -> Result<TenantTx, ApiError> {
    let tenant = principal.require_tenant()?;
    let mut tx = state.db.tenant(tenant).await?;
    match node {
        None => authorize(principal, Action::ViewStats, Target::Township)?,
        Some(node) => {
            let ancestry: Vec<(Uuid,)> = sqlx::query_as(
                "WITH RECURSIVE up(id, parent_id, depth) AS ( \
                     SELECT id, parent_id, 0 FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2 \
                     UNION ALL \
                     SELECT n.id, n.parent_id, up.depth + 1 FROM routing.grid_nodes n JOIN up ON n.id = up.parent_id \
                     WHERE n.tenant_id = $1 AND up.depth < 32) \
                 SELECT id FROM up ORDER BY depth",
            )
            .bind(tenant.as_uuid())
            .bind(node)
            .fetch_all(&mut *tx)
            .await?;
            if ancestry.is_empty() {
                return Err(ApiError::field(
                    "node_id",
                    "没有这个网格节点 (no such grid node)",
                ));
            }
            let ancestry: Vec<GridNodeId> = ancestry
                .into_iter()
                .map(|(id,)| GridNodeId::from_uuid(id))
                .collect();
            authorize(
                principal,
                Action::ViewStats,
                Target::Node {
                    ancestry: &ancestry,
                },
            )?;
        }
    }
    Ok(tx)
}

/// The township's figures and the period they cover.
#[derive(Debug, Serialize)]
pub(crate) struct TownshipStats {
    from: NaiveDate,
    to: NaiveDate,
    #[serde(flatten)]
    stats: TownshipFigures,
}

/// `GET /api/v1/stats/township`: the township's figures with their breakdowns.
#[utoipa::path(get, path = "/api/v1/stats/township", tag = "analytics", operation_id = "township_stats", params(StatsQuery),
    responses(
        (status = 200, description = "乡镇指标 (The township's figures with their breakdowns)", body = Object),
        BadRequestError, StaffErrors, NotFoundError, QueryErrors, RateLimited, Unavailable,
    ))]
pub(crate) async fn township(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<ApiJson<TownshipStats>, ApiError> {
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let node = uuid_param(q.node_id.as_deref(), "node_id")?;
    let filters = Filters {
        node_id: node.map(GridNodeId::from_uuid),
        category: category(q.category)?,
    };
    let mut tx = township_tx(&state, &principal, node).await?;
    let stats = township_figures(&mut tx, period, &filters).await?;
    tx.commit().await?;
    Ok(ApiJson(TownshipStats {
        from: period.from(),
        to: period.to(),
        stats,
    }))
}

/// A page of the cases behind a figure.
#[derive(Debug, Serialize)]
pub(crate) struct CasesPage {
    pub(crate) figure: String,
    pub(crate) part: &'static str,
    pub(crate) cases: Vec<CaseRow>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

/// The figure, part and listing a drill-down asks for, bounded.
fn listing(q: &CasesQuery) -> Result<(String, Part, Listing), ApiError> {
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let key = q
        .figure
        .clone()
        .ok_or_else(|| bad("缺少 figure (figure is required)"))?;
    let part = q.part.as_deref().and_then(Part::parse).ok_or_else(|| {
        bad("part 须为 numerator 或 denominator (part must be numerator or denominator)")
    })?;
    let condition = drill::condition(&key, part).ok_or_else(|| {
        bad("没有这个指标，或该指标不由案件构成 (no such figure, or it is not made of cases)")
    })?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad("limit 须为 1–200 (limit must be 1 to 200)"));
    }
    let after = q
        .after
        .as_deref()
        .map(|a| Cursor::parse(a).ok_or_else(|| bad("after 无效 (after is not a cursor)")))
        .transpose()?;
    Ok((
        key,
        part,
        Listing {
            period,
            condition,
            within_minutes: None,
            tenant: None,
            nodes: None,
            category: category(q.category.clone())?,
            handler: uuid_param(q.handler.as_deref(), "handler")?,
            after,
            limit,
        },
    ))
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Numerator => "numerator",
        Part::Denominator => "denominator",
    }
}

/// `GET /api/v1/stats/cases`: the township's cases behind one part of one figure.
#[utoipa::path(get, path = "/api/v1/stats/cases", tag = "analytics", operation_id = "township_stats_cases", params(CasesQuery),
    responses(
        (status = 200, description = "指标背后的事件 (A page of the cases behind a figure)", body = Object),
        BadRequestError, StaffErrors, NotFoundError, QueryErrors, RateLimited, Unavailable,
    ))]
pub(crate) async fn township_cases(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<CasesQuery>,
) -> Result<ApiJson<CasesPage>, ApiError> {
    Ok(ApiJson(township_case_page(&state, &principal, &q).await?))
}

/// The township's cases behind one part of one figure (the API's and the
/// dashboard's drill-down).
pub(crate) async fn township_case_page(
    state: &AnalyticsState,
    principal: &Principal,
    q: &CasesQuery,
) -> Result<CasesPage, ApiError> {
    let (key, part, mut listing) = listing(q)?;
    let node = uuid_param(q.node_id.as_deref(), "node_id")?;
    let mut tx = township_tx(state, principal, node).await?;
    listing.tenant = Some(tx.tenant().as_uuid());
    if let Some(node) = node {
        listing.nodes = Some(crate::figures::subtree(&mut tx, node).await?);
    }
    if matches!(listing.condition, Condition::Within { .. }) {
        let filters = Filters {
            node_id: node.map(GridNodeId::from_uuid),
            category: listing.category.clone(),
        };
        let figures = township_figures(&mut tx, listing.period, &filters).await?;
        listing.within_minutes = figures.figures.get(&key).and_then(|f| f.value);
    }
    let (cases, next) = drill::list(&mut tx, &listing).await?;
    tx.commit().await?;
    Ok(CasesPage {
        figure: key,
        part: part_name(part),
        cases,
        next: next.map(|c| c.encode()),
    })
}

/// The county's read transaction for a county person allowed to see the figures,
/// with the read recorded in it.
pub(crate) async fn county_tx(
    state: &AnalyticsState,
    principal: &Principal,
    uri: &Uri,
) -> Result<GlobalTx, ApiError> {
    let PrincipalKind::County { user } = principal.kind else {
        return Err(ApiError::Forbidden(
            "这里是县综治中心的统计 (these are the county centre's figures)".to_owned(),
        ));
    };
    authorize(principal, Action::ViewStats, Target::County)?;
    let mut tx = state.db.system(SystemScope::CountyRead).await?;
    let query: String = uri.query().unwrap_or("").chars().take(1000).collect();
    sqlx::query(
        "INSERT INTO analytics.county_reads (id, viewer_id, path, query) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(user.as_uuid())
    .bind(uri.path().chars().take(100).collect::<String>())
    .bind(query)
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Every township's figures.
#[derive(Debug, Serialize)]
pub(crate) struct CountyStats {
    from: NaiveDate,
    to: NaiveDate,
    townships: Vec<TownshipRow>,
}

/// `GET /api/v1/county/stats`: every township's figures side by side.
#[utoipa::path(get, path = "/api/v1/county/stats", tag = "analytics", operation_id = "county_stats", params(StatsQuery),
    responses(
        (status = 200, description = "全县各乡镇指标 (Every township's figures side by side)", body = Object),
        BadRequestError, StaffErrors, NotFoundError, QueryErrors, RateLimited, Unavailable,
    ))]
pub(crate) async fn county(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    uri: Uri,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<ApiJson<CountyStats>, ApiError> {
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let mut tx = county_tx(&state, &principal, &uri).await?;
    let townships = county_figures(&mut tx, period).await?;
    tx.commit().await?;
    Ok(ApiJson(CountyStats {
        from: period.from(),
        to: period.to(),
        townships,
    }))
}

/// One component of the composite score, as documented.
#[derive(Debug, Serialize)]
pub(crate) struct Weight {
    key: &'static str,
    weight: f64,
}

/// The league table.
#[derive(Debug, Serialize)]
pub(crate) struct League {
    from: NaiveDate,
    to: NaiveDate,
    weights: Vec<Weight>,
    league: Vec<LeagueRow>,
}

/// `GET /api/v1/county/league`: the townships ranked by the composite score.
#[utoipa::path(get, path = "/api/v1/county/league", tag = "analytics", operation_id = "county_league", params(StatsQuery),
    responses(
        (status = 200, description = "乡镇排名 (The townships' league table with its weights)", body = Object),
        BadRequestError, StaffErrors, NotFoundError, QueryErrors, RateLimited, Unavailable,
    ))]
pub(crate) async fn league(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    uri: Uri,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<ApiJson<League>, ApiError> {
    let period = period(q.from.as_deref(), q.to.as_deref())?;
    let mut tx = county_tx(&state, &principal, &uri).await?;
    let ranked = crate::figures::county_league(&mut tx, period).await?;
    tx.commit().await?;
    Ok(ApiJson(League {
        from: period.from(),
        to: period.to(),
        weights: LEAGUE_WEIGHTS
            .iter()
            .map(|(key, weight)| Weight {
                key,
                weight: *weight,
            })
            .collect(),
        league: ranked,
    }))
}

/// `GET /api/v1/county/stats/cases`: the cases behind a figure across townships (or
/// one, with `tenant=<code>`).
#[utoipa::path(get, path = "/api/v1/county/stats/cases", tag = "analytics", operation_id = "county_stats_cases", params(CasesQuery),
    responses(
        (status = 200, description = "全县指标背后的事件 (A page of the cases behind a county figure)", body = Object),
        BadRequestError, StaffErrors, NotFoundError, QueryErrors, RateLimited, Unavailable,
    ))]
pub(crate) async fn county_cases(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    uri: Uri,
    ApiQuery(q): ApiQuery<CasesQuery>,
) -> Result<ApiJson<CasesPage>, ApiError> {
    Ok(ApiJson(
        county_case_page(&state, &principal, &uri, &q).await?,
    ))
}

/// The cases behind a figure across townships (the API's and the county dashboard's
/// drill-down); the read is recorded.
pub(crate) async fn county_case_page(
    state: &AnalyticsState,
    principal: &Principal,
    uri: &Uri,
    q: &CasesQuery,
) -> Result<CasesPage, ApiError> {
    let (key, part, mut listing) = listing(q)?;
    if q.node_id.is_some() {
        return Err(bad(
            "县级明细按乡镇筛选，不按网格 (the county's list filters by township, not node)",
        ));
    }
    if matches!(listing.condition, Condition::Within { .. }) {
        return Err(bad(
            "时长指标请按乡镇查看分子 (a duration's numerator is listed per township; use part=denominator)",
        ));
    }
    let mut tx = county_tx(state, principal, uri).await?;
    if let Some(code) = q.tenant.as_deref() {
        if code.len() > 16 {
            return Err(bad("tenant 无效 (tenant is a township code)"));
        }
        let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM routing.tenants WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
        listing.tenant =
            Some(id.ok_or_else(|| ApiError::field("tenant", "没有这个乡镇 (no such township)"))?);
    }
    let (cases, next) = drill::list(&mut tx, &listing).await?;
    tx.commit().await?;
    Ok(CasesPage {
        figure: key,
        part: part_name(part),
        cases,
        next: next.map(|c| c.encode()),
    })
}
