//! The dashboards under the staff header: the township's (`/dashboard`) and the
//! county's (`/county/dashboard`), and the cases behind any number on them
//! (`/dashboard/cases`, `/county/dashboard/cases`). Every figure comes from
//! [`crate::figures`], the same functions the API, the exports and the report use;
//! charts are drawn here as SVG with their data as tables.

mod cases;
mod county;
pub(crate) mod labels;
mod township;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate, Utc};
use mashang_auth::{MaybeSignedIn, Principal};
use mashang_http::ApiError;
use mashang_web::staff;
use mashang_web::strings;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AnalyticsState;
use crate::charts::{self, Chart, ChartKind};
use crate::figures::{Figures, MAX_DAYS, Period, PeriodError};
use crate::pages::ASSETS;

/// The dashboards' routes.
pub(crate) fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .routes(routes!(township::page))
        .routes(routes!(cases::township))
        .routes(routes!(county::page))
        .routes(routes!(cases::county))
}

/// The period form as sent: both dates, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct PeriodForm {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Days shown when no period is chosen: the last 30, today included.
const DEFAULT_DAYS: i64 = 30;
/// Weeks in the trend charts.
pub(crate) const TREND_WEEKS: u32 = 8;

/// The period to show, or what is wrong with the form (the page then says so and
/// shows the default period instead, so nothing typed is lost and the page is never
/// empty).
pub(crate) fn chosen_period(form: &PeriodForm, today: NaiveDate) -> (Period, Option<String>) {
    let fallback = Period::new(today - Duration::days(DEFAULT_DAYS - 1), today)
        .expect("the default period is valid");
    let (from, to) = match (typed(form.from.as_deref()), typed(form.to.as_deref())) {
        (None, None) => return (fallback, None),
        (from, to) => (from, to),
    };
    let parse = |raw: Option<&str>, name: &str| -> Result<NaiveDate, String> {
        let raw = raw.ok_or_else(|| format!("请填写{name}。(Please give the {name} date.)"))?;
        if raw.len() > 10 {
            return Err(format!("{name}的格式是 年-月-日。({name}: YYYY-MM-DD.)"));
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| format!("{name}的格式是 年-月-日，例如 2026-12-01。({name}: YYYY-MM-DD.)"))
    };
    let dates = parse(from, "开始日期").and_then(|f| parse(to, "结束日期").map(|t| (f, t)));
    match dates.map(|(f, t)| Period::new(f, t)) {
        Ok(Ok(p)) => (p, None),
        Ok(Err(PeriodError::Reversed)) => (
            fallback,
            Some("结束日期早于开始日期。(The end is before the start.)".to_owned()),
        ),
        Ok(Err(PeriodError::TooLong)) => (
            fallback,
            Some(format!(
                "一次最多看 {MAX_DAYS} 天。(At most {MAX_DAYS} days at a time.)"
            )),
        ),
        Err(message) => (fallback, Some(message)),
    }
}

/// A field as typed, without surrounding spaces; none when empty.
fn typed(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// The `TREND_WEEKS` weeks ending with `to`, oldest first.
#[cfg(test)]
pub(crate) fn weeks(to: NaiveDate) -> Vec<Period> {
    crate::figures::trend::weeks(to, TREND_WEEKS)
}

/// A week's name on a chart: its first day, as 月/日.
pub(crate) fn week_name(p: &Period) -> String {
    p.from().format("%m/%d").to_string()
}

/// Today where the township is (Asia/Shanghai when its zone is unknown).
pub(crate) fn today_in(zone: Option<&str>) -> NaiveDate {
    let tz: chrono_tz::Tz = zone
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai);
    Utc::now().with_timezone(&tz).date_naive()
}

/// The rates drawn in the trend charts.
const TREND_RATES: [&str; 3] = [
    "timely_response_rate",
    "on_time_resolution_rate",
    "satisfaction_rate",
];

/// The weekly reports of `trend` as a bar chart, its title led by `scope` (全县 or none).
pub(crate) fn trend_reports(scope: &str, trend: &[(Period, Figures)]) -> Chart {
    Chart::new(
        ChartKind::Bar,
        format!("{scope}近8周受理量"),
        "周（起始日）",
        trend.iter().map(|(w, _)| week_name(w)).collect(),
        "件",
    )
    .with_series(
        "受理量",
        trend
            .iter()
            .map(|(_, f)| f.get("reports").and_then(|f| f.value))
            .collect(),
    )
}

/// The weekly call-back, on-time and satisfaction rates of `trend` as lines (in %).
pub(crate) fn trend_rates(scope: &str, trend: &[(Period, Figures)]) -> Chart {
    TREND_RATES.iter().fold(
        Chart::new(
            ChartKind::Line,
            format!("{scope}近8周及时响应率、按时办结率、满意率"),
            "周（起始日）",
            trend.iter().map(|(w, _)| week_name(w)).collect(),
            "%",
        ),
        |chart, key| {
            chart.with_series(
                labels::of(key).zh,
                trend
                    .iter()
                    .map(|(_, f)| f.get(*key).and_then(|f| f.value).map(|v| v * 100.0))
                    .collect(),
            )
        },
    )
}

/// A number on a page, and where it leads (the cases behind it), if anywhere.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cell {
    pub text: String,
    pub href: Option<String>,
}

/// What a query value percent-encodes: all but the unreserved characters (RFC 3986).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A query string from pairs, each value percent-encoded; empty values left out.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A chart drawn for a page: the SVG and its data table.
#[derive(Clone, Debug)]
pub(crate) struct Drawn {
    pub svg: String,
    pub table: String,
}

/// Draws `chart`; a chart that cannot be drawn leaves only its table.
pub(crate) fn draw(chart: &Chart) -> Drawn {
    let svg = charts::svg(chart).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "drawing a dashboard chart failed");
        String::new()
    });
    Drawn {
        svg,
        table: charts::table_html(chart),
    }
}

/// The signed-in person, or the response that sends them to sign in or refuses them.
pub(crate) fn signed_in(
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: &Uri,
) -> Result<Principal, Box<Response>> {
    match signed_in {
        Ok(MaybeSignedIn(Some(p))) => Ok(p),
        Ok(MaybeSignedIn(None)) => Err(Box::new(
            Redirect::to(&staff::login_then(uri.path_and_query().map(|p| p.as_str())))
                .into_response(),
        )),
        Err(err) => {
            let status = err.classify().status();
            Err(Box::new(staff::refuse(
                status,
                strings::error_title(status),
                None,
                &ASSETS,
            )))
        }
    }
}

/// An error of a dashboard's reads as a page.
pub(crate) fn refuse(err: ApiError, principal: &Principal) -> Response {
    let message = match &err {
        ApiError::Forbidden(m) | ApiError::BadRequest(m) => Some(m.clone()),
        _ => None,
    };
    let text = match &err {
        ApiError::Internal(cause) => format!("{cause:#}"),
        other => other.to_string(),
    };
    let status = err.classify().status();
    let message = match message {
        Some(m) => m,
        _ if status == StatusCode::FORBIDDEN => {
            "您没有查看这些统计的权限。(You may not see these figures.)".to_owned()
        }
        _ if status.is_client_error() => text.clone(),
        _ => strings::error_title(status).to_owned(),
    };
    if status.is_server_error() {
        tracing::error!(error = %text, "a dashboard could not be read");
    }
    staff::refuse(status, &message, principal.csrf.as_deref(), &ASSETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str) -> NaiveDate {
        d.parse().expect("a date")
    }

    #[test]
    fn the_period_defaults_to_the_last_30_days_and_says_what_is_wrong() {
        let today = day("2026-12-04");
        let (p, err) = chosen_period(&PeriodForm::default(), today);
        assert_eq!((p.from(), p.to(), err), (day("2026-11-05"), today, None));
        let form = |f: &str, t: &str| PeriodForm {
            from: Some(f.to_owned()),
            to: Some(t.to_owned()),
        };
        let (p, err) = chosen_period(&form("2026-11-01", "2026-11-30"), today);
        assert_eq!(
            (p.from(), p.to(), err),
            (day("2026-11-01"), day("2026-11-30"), None)
        );
        let (p, err) = chosen_period(&form("2026-12-01", "2026-11-01"), today);
        assert_eq!(p.to(), today);
        assert!(err.expect("refused").contains("早于"));
        let (_, err) = chosen_period(&form("2024-01-01", "2026-01-01"), today);
        assert!(err.expect("refused").contains("366"));
        let (_, err) = chosen_period(&form("12/01/2026", "2026-12-02"), today);
        assert!(err.expect("refused").contains("年-月-日"));
        let (_, err) = chosen_period(&form("", "2026-12-02"), today);
        assert!(err.expect("refused").contains("开始日期"));
    }

    #[test]
    fn trends_cover_eight_weeks_ending_with_the_period() {
        let w = weeks(day("2026-12-04"));
        assert_eq!(w.len(), 8);
        assert_eq!(
            (w[7].from(), w[7].to()),
            (day("2026-11-28"), day("2026-12-04"))
        );
        assert_eq!(w[0].from(), day("2026-10-10"));
        assert_eq!(week_name(&w[7]), "11/28");
    }

    #[test]
    fn links_encode_what_they_carry() {
        assert_eq!(
            query(&[
                ("from", "2026-12-01"),
                ("category", "路灯 坏&x"),
                ("node_id", "")
            ]),
            "from=2026-12-01&category=%E8%B7%AF%E7%81%AF%20%E5%9D%8F%26x"
        );
    }
}
