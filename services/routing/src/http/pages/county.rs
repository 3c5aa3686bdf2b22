//! The county centre's pages (县综治中心, `/county…`): the townships
//! (`county_townships`), supervision of the cases townships send up
//! (`county_supervision`), the read-only case search with its record of views
//! (`county_search`, `county_case`, `county_views`). County people belong to no
//! township: each page reads the townships one by one, in each one's own transaction,
//! as the county's JSON endpoints do. Township accounts are refused (403) on all of
//! them; what each county role may do is the permission matrix's.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use mashang_auth::permissions::{Action, Target, allows};
use mashang_auth::{Principal, PrincipalKind};

use super::layout::{Chrome, PageError, Person};
use super::{county_case, county_search, county_supervision, county_townships, county_views};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::RoutingState;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(county_townships::page))
        .routes(routes!(county_townships::create))
        .routes(routes!(county_townships::confirm, county_townships::change))
        .routes(routes!(county_supervision::list))
        .routes(routes!(county_supervision::show, county_supervision::note))
        .routes(routes!(county_search::page))
        .routes(routes!(county_case::ask, county_case::open))
        .routes(routes!(county_views::page))
        .routes(routes!(county_case::show))
        .routes(routes!(county_case::file))
}

/// A signed-in county person, for the county's pages. Township people are refused
/// (403): county accounts belong to no township, township accounts to one.
#[derive(Clone, Debug)]
pub(super) struct County {
    pub principal: Principal,
    pub chrome: Chrome,
}

impl County {
    /// Refuses with a page in plain words unless the county roles allow `action`.
    pub fn require(&self, action: Action) -> Result<(), PageError> {
        if self.may(action) {
            Ok(())
        } else {
            Err(PageError::Refused {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "您的角色不能{}。(Your county role does not allow this.)",
                    match action {
                        Action::ManageTenants => "新建、暂停或恢复乡镇",
                        Action::SuperviseCase => "督办案件",
                        Action::ViewCase => "查阅乡镇的案件",
                        _ => "打开这个页面",
                    }
                ),
                csrf: Some(self.chrome.csrf.clone()),
            })
        }
    }

    /// Whether the county roles allow `action` (to show or hide a form or link).
    pub fn may(&self, action: Action) -> bool {
        allows(&self.principal, action, Target::County)
    }
}

impl FromRequestParts<RoutingState> for County {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &RoutingState,
    ) -> Result<Self, Self::Rejection> {
        let Person { principal, chrome } = Person::from_request_parts(parts, state).await?;
        if !matches!(principal.kind, PrincipalKind::County { .. }) {
            return Err(PageError::Refused {
                status: StatusCode::FORBIDDEN,
                message: "这里是县综治中心的页面。(These are the county centre's pages.)"
                    .to_owned(),
                csrf: Some(chrome.csrf),
            });
        }
        Ok(Self { principal, chrome })
    }
}

/// A township's time zone, Asia/Shanghai when the stored one does not parse.
pub(super) fn zone_of(time_zone: &str) -> Tz {
    time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// A moment in a township's time: `2026年12月3日 09:05`.
pub(super) fn when(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

/// The confirmation after a county form, from the redirect's `?ok=` (a fixed set:
/// nothing from the URL is shown).
pub(super) fn notice(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "suspended" => {
            "已暂停。该镇工作人员已退出登录，群众扫码看到暂停通知；数据都在。(Suspended; nothing was deleted.)"
        }
        "resumed" => "已恢复，该镇可以照常使用。(Resumed.)",
        "noted" => {
            "批示已发出，镇综治中心和办理人会收到通知。(Note sent; the township centre and the handler are told.)"
        }
        _ => return None,
    })
}

/// Field errors as the pages keep them: (field, message).
pub(super) type Errors = Vec<(String, String)>;

/// The message for `field`, if it has one.
pub(super) fn error_for<'a>(errors: &'a Errors, field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.as_str())
}

/// A JSON endpoint's refusal as a form's errors (422), or the error page it is.
pub(super) fn form_errors(err: mashang_http::ApiError) -> Result<Errors, PageError> {
    use mashang_http::ApiError;
    match err {
        ApiError::Validation(errors) => {
            Ok(errors.into_iter().map(|e| (e.field, e.message)).collect())
        }
        ApiError::Conflict(message) => Ok(vec![(String::new(), message)]),
        other => Err(other.into()),
    }
}
