//! 我的案件 (`/console`): the cases a person handles, the soonest deadline first, as
//! big cards a thumb can tap, in three tabs: to do, waiting, done.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use mashang_auth::PrincipalKind;
use serde::Deserialize;
use uuid::Uuid;

use super::case_fmt::{Names, TimeLeft, state_label, time_left};
use super::layout::{Chrome, PageError, Person, render};
use crate::RoutingState;
use crate::http::case_list::{ListQuery, query};
use mashang_http::openapi::{Html, PageErrors};

/// Cards per page.
const PAGE: i64 = 30;

/// A tab of the list and the states it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tab {
    Open,
    Waiting,
    Done,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Open, Tab::Waiting, Tab::Done];

    fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("waiting") => Self::Waiting,
            Some("done") => Self::Done,
            _ => Self::Open,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Waiting => "waiting",
            Self::Done => "done",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Open => "待办",
            Self::Waiting => "等待中",
            Self::Done => "已办结",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Self::Open => "To do",
            Self::Waiting => "Waiting",
            Self::Done => "Done",
        }
    }

    /// The states of the tab: a handler's work in hand; waiting on the citizen or on a
    /// decision; finished on their side.
    pub fn states(self) -> &'static [&'static str] {
        match self {
            Self::Open => &[
                "assigned",
                "acknowledged",
                "in_progress",
                "transferred",
                "escalated",
                "reopened",
            ],
            Self::Waiting => &["waiting_on_citizen", "invalid_requested"],
            Self::Done => &["resolved", "followed_up", "closed", "invalid"],
        }
    }
}

/// The finished tab counts up to this many and then shows `999+`.
const DONE_COUNT_CAP: i64 = 999;

#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    tab: Option<String>,
    cursor: Option<String>,
}

/// One card.
#[derive(Debug)]
pub(super) struct Card {
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub grid: String,
    pub state_zh: String,
    pub state_en: String,
    pub left: Option<TimeLeft>,
    pub urgent_priority: bool,
}

/// A tab's link.
#[derive(Debug)]
pub(super) struct TabLink {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// `12`, or `999+` for the finished tab past the cap.
    pub count: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/my_cases.html")]
struct MyCases {
    chrome: Chrome,
    tabs: Vec<TabLink>,
    tab_zh: &'static str,
    cards: Vec<Card>,
    more: Option<String>,
    css: String,
    js: String,
}

/// `GET /console`.
#[utoipa::path(get, path = "/console", tag = "pages", operation_id = "get_console",
    summary = "我的事件 (My cases)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    person: Person,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let PrincipalKind::Staff { user, tenant } = person.principal.kind else {
        return Err(PageError::Refused {
            status: StatusCode::FORBIDDEN,
            message: "这里是乡镇的页面，请使用乡镇账号登录。(A township account is needed here.)"
                .to_owned(),
            csrf: Some(person.chrome.csrf),
        });
    };
    let tab = Tab::parse(params.tab.as_deref());
    let cursor = params.cursor.filter(|c| !c.is_empty() && c.len() <= 200);
    let q = ListQuery {
        mine: true,
        state: Some(tab.states().join(",")),
        limit: Some(PAGE),
        cursor,
        ..ListQuery::default()
    };
    let (lines, next) = match query(&state, &person.principal, &q).await {
        Ok(found) => found,
        // A cursor from an old link: start again from the top.
        Err(mashang_http::ApiError::Validation(_)) => {
            let q = ListQuery { cursor: None, ..q };
            query(&state, &person.principal, &q).await?
        }
        Err(err) => return Err(err.into()),
    };
    let mut tx = state.db.tenant(tenant).await?;
    let names = Names::load(&mut tx).await?;
    // The tabs' counts: the cases in hand exactly; the finished ones, which only grow,
    // up to a cap, so a worker's years of closed cases cost nothing to count.
    let done = Tab::Done.states();
    let mut counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM routing.cases \
         WHERE tenant_id = $1 AND assignee_id = $2 AND state <> ALL($3) GROUP BY state",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .bind(done)
    .fetch_all(&mut *tx)
    .await?;
    let finished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM routing.cases \
         WHERE tenant_id = $1 AND assignee_id = $2 AND state = ANY($3) LIMIT $4) d",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .bind(done)
    .bind(DONE_COUNT_CAP + 1)
    .fetch_one(&mut *tx)
    .await?;
    counts.push((done[0].to_owned(), finished));
    tx.commit().await?;
    let now = Utc::now();
    let cards = lines
        .into_iter()
        .map(|l| {
            let (state_zh, state_en) = state_label(&l.state);
            Card {
                id: l.id,
                tracking_number: l.tracking_number,
                category: names.category(&l.category),
                grid: names.node(l.grid_node_id),
                state_zh,
                state_en,
                // Finished cases have no clock to watch.
                left: l
                    .next_deadline
                    .filter(|_| tab != Tab::Done)
                    .map(|d| time_left(d, now)),
                urgent_priority: l.priority == "urgent",
            }
        })
        .collect();
    let tabs = Tab::ALL
        .into_iter()
        .map(|t| TabLink {
            key: t.key(),
            zh: t.zh(),
            en: t.en(),
            count: match counts
                .iter()
                .filter(|(s, _)| t.states().contains(&s.as_str()))
                .map(|(_, n)| n)
                .sum::<i64>()
            {
                n if n > DONE_COUNT_CAP => format!("{DONE_COUNT_CAP}+"),
                n => n.to_string(),
            },
            current: t == tab,
        })
        .collect();
    let more = next.map(|c| format!("/console?tab={}&cursor={c}", tab.key()));
    Ok(render(
        StatusCode::OK,
        &MyCases {
            chrome: person.chrome,
            tabs,
            tab_zh: tab.zh(),
            cards,
            more,
            css: super::console_css_url(),
            js: super::console_js_url(),
        },
    ))
}
