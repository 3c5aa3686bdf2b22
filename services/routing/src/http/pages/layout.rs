//! What every admin page shares: the signed-in person's frame (name, township, CSRF
//! token, the links their roles allow), rendering with the staff pages' headers, and
//! the error pages (sign in, refused, not found, failed) in plain words.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use mashang_auth::permissions::{Action, Target, allows};
use mashang_auth::{MaybeSignedIn, Principal};
use mashang_domain::TenantId;
use mashang_http::ApiError;
use mashang_web::{StaffHeader, strings};

use crate::RoutingState;
use crate::directory::DirectoryError;

/// Where every staff member signs in.
pub(super) const LOGIN: &str = mashang_web::staff::LOGIN;

/// The sign-in page that returns to `next` afterwards (when `next` is a path on this
/// site).
pub(super) fn login_then(next: Option<&str>) -> String {
    mashang_web::staff::login_then(next)
}

/// Whether `next` is a relative path on this site (see
/// [`mashang_web::staff::safe_next`]).
pub(super) fn safe_next(next: &str) -> bool {
    mashang_web::staff::safe_next(next)
}

/// Where a person lands after signing in (see [`mashang_web::staff::home_of`]).
pub(super) fn home_of(principal: &Principal) -> &'static str {
    mashang_web::staff::home_of(principal)
}

/// Which sections the signed-in person may open; the rules live in the shared page
/// layer so every service's header agrees.
pub(super) use mashang_web::staff::Nav;

/// The signed-in person's frame around every page: the shared staff header
/// ([`StaffHeader`]) as routing's templates read it.
#[derive(Clone, Debug)]
pub(super) struct Chrome {
    /// Their name.
    pub name: String,
    /// Their township's name.
    pub township: String,
    /// The session's CSRF token, sent by every form as its hidden `_csrf` field.
    pub csrf: String,
    /// The links their roles allow.
    pub nav: Nav,
    /// Their home page (the brand link).
    pub home: &'static str,
}

impl Chrome {
    /// The frame of a signed-in person: their name and their township's (county
    /// staff: the county centre).
    pub async fn of(state: &RoutingState, principal: &Principal) -> Result<Self, PageError> {
        let township = match principal.tenant() {
            Some(tenant) => Some(mashang_auth::township_name(&state.db, tenant).await?),
            None => None,
        };
        Ok(StaffHeader::new(principal, township, &super::ASSETS).into())
    }

    /// The header's script (the unread-notices badge).
    pub fn header_js(&self) -> String {
        super::header_js_url()
    }
}

impl From<StaffHeader> for Chrome {
    fn from(header: StaffHeader) -> Self {
        Self {
            name: header.name,
            township: header.township,
            csrf: header.csrf,
            nav: header.nav,
            home: header.home,
        }
    }
}

/// A signed-in township person, for the admin pages. No session sends the browser to
/// the sign-in page; a change without the session's CSRF token is refused (403) by
/// `MaybeSignedIn`, which checks it; county accounts are refused here.
#[derive(Clone, Debug)]
pub(super) struct Staff {
    pub principal: Principal,
    pub tenant: TenantId,
    pub chrome: Chrome,
}

impl Staff {
    /// Refuses with a page in plain words unless the roles allow `action` on `target`.
    pub fn require(&self, action: Action, target: Target<'_>) -> Result<(), PageError> {
        if allows(&self.principal, action, target) {
            Ok(())
        } else {
            Err(PageError::forbidden(format!(
                "您的角色不能{}。如需使用，请联系镇管理员。(Your roles do not allow this.)",
                action_zh(action)
            )))
        }
    }

    /// Whether the roles allow `action` on `target` (to show or hide a form).
    pub fn may(&self, action: Action, target: Target<'_>) -> bool {
        allows(&self.principal, action, target)
    }
}

fn action_zh(action: Action) -> &'static str {
    match action {
        Action::ViewGrid => "查看网格",
        Action::EditGrid => "修改网格",
        Action::ImportExport => "导入导出",
        Action::ViewPeople => "查看人员",
        Action::EditPeople => "修改人员",
        Action::ResetPassword => "生成重设密码的验证码",
        Action::ManageQrCodes => "生成二维码",
        Action::PrintPosters => "打印二维码",
        _ => "做这件事",
    }
}

impl FromRequestParts<RoutingState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &RoutingState,
    ) -> Result<Self, Self::Rejection> {
        let principal = signed_in(parts, state).await?;
        let csrf = principal.csrf.clone().unwrap_or_default();
        let Some(tenant) = principal.tenant() else {
            return Err(PageError::Refused {
                status: StatusCode::FORBIDDEN,
                message:
                    "这里是乡镇管理页面，请使用乡镇账号登录。(A township account is needed here.)"
                        .to_owned(),
                csrf: Some(csrf),
            });
        };
        let chrome = Chrome::of(state, &principal).await?;
        Ok(Self {
            principal,
            tenant,
            chrome,
        })
    }
}

/// The signed-in person, or the sign-in page that comes back here.
async fn signed_in(parts: &mut Parts, state: &RoutingState) -> Result<Principal, PageError> {
    let MaybeSignedIn(principal) = MaybeSignedIn::from_request_parts(parts, state).await?;
    principal.ok_or_else(|| PageError::SignIn(come_back_to(parts)))
}

/// Where sign-in returns to: the page itself for a GET; for a form posted after the
/// session ended, the page the form was on (the same site's `Referer`), since the
/// form's own address answers only POST.
fn come_back_to(parts: &Parts) -> Option<String> {
    if parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD {
        return parts.uri.path_and_query().map(|p| p.as_str().to_owned());
    }
    let host = parts.headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let referer: axum::http::Uri = parts
        .headers
        .get(axum::http::header::REFERER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (referer.authority().map(|a| a.as_str()) == Some(host))
        .then(|| referer.path_and_query().map(|p| p.as_str().to_owned()))
        .flatten()
}

/// Any signed-in staff member, township or county, for the pages every role opens.
#[derive(Clone, Debug)]
pub(super) struct Person {
    pub principal: Principal,
    pub chrome: Chrome,
}

impl FromRequestParts<RoutingState> for Person {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &RoutingState,
    ) -> Result<Self, Self::Rejection> {
        let principal = signed_in(parts, state).await?;
        let chrome = Chrome::of(state, &principal).await?;
        Ok(Self { principal, chrome })
    }
}

/// Renders a page with a status code and the staff pages' headers.
pub(super) fn render(status: StatusCode, template: &impl Template) -> Response {
    mashang_web::STAFF
        .render(status, template)
        .unwrap_or_else(|err| PageError::Internal(err.into()).into_response())
}

/// A 303 to `to` (after a form: the browser then GETs the page).
pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Why a page could not be shown, answered as a page.
#[derive(Debug)]
pub(super) enum PageError {
    /// Not signed in: to the sign-in page, which comes back to this path after.
    SignIn(Option<String>),
    /// Refused, with what to tell the person.
    Refused {
        status: StatusCode,
        message: String,
        /// For a sign-out button, when the person is signed in.
        csrf: Option<String>,
    },
    /// A failure on our side: logged, never shown.
    Internal(anyhow::Error),
}

impl PageError {
    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Refused {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
            csrf: None,
        }
    }

    /// 404: not there, or another township's.
    pub fn not_found() -> Self {
        Self::Refused {
            status: StatusCode::NOT_FOUND,
            message: strings::NOT_FOUND.to_owned(),
            csrf: None,
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    csrf: Option<&'a str>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(next) => see_other(&login_then(next.as_deref())),
            Self::Refused {
                status,
                message,
                csrf,
            } => render(
                status,
                &ErrorPage {
                    title: strings::error_title(status),
                    message: &message,
                    csrf: csrf.as_deref(),
                },
            ),
            Self::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "admin page failed");
                let page = ErrorPage {
                    title: strings::INTERNAL_TITLE,
                    message: strings::INTERNAL_MESSAGE,
                    csrf: None,
                };
                // Not through `render`, which would come back here if the page failed.
                mashang_web::STAFF
                    .render(StatusCode::INTERNAL_SERVER_ERROR, &page)
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        let err = err.classify();
        let status = err.status();
        let message = match err {
            ApiError::Unauthorized => return Self::SignIn(None),
            ApiError::Internal(err) => return Self::Internal(err),
            ApiError::NotFound => return Self::not_found(),
            ApiError::Forbidden(m)
            | ApiError::Conflict(m)
            | ApiError::BadRequest(m)
            | ApiError::Gone(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::Unavailable(m) => m,
            ApiError::Validation(errors) => errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("；"),
            other => other.title().to_owned(),
        };
        Self::Refused {
            status,
            message,
            csrf: None,
        }
    }
}

impl From<DirectoryError> for PageError {
    fn from(err: DirectoryError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<mashang_db::DbError> for PageError {
    fn from(err: mashang_db::DbError) -> Self {
        Self::Internal(err.into())
    }
}

impl From<sqlx::Error> for PageError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<mashang_auth::AuthError> for PageError {
    fn from(err: mashang_auth::AuthError) -> Self {
        ApiError::from(err).into()
    }
}

/// A form refused with what to tell the person (shown next to the form, with what
/// they typed), or a failure that ends the page.
#[derive(Debug)]
pub(super) enum Refusal {
    /// Shown next to the form.
    Say(String),
    /// Answered as an error page.
    Fail(PageError),
}

impl From<PageError> for Refusal {
    fn from(err: PageError) -> Self {
        Self::Fail(err)
    }
}

impl From<mashang_db::DbError> for Refusal {
    fn from(err: mashang_db::DbError) -> Self {
        Self::Fail(err.into())
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Self {
        Self::Fail(err.into())
    }
}

/// The confirmation after a form, from the `?ok=` of the redirect (a fixed set of
/// messages: nothing from the URL is shown).
pub(super) fn notice(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "added" => "已添加。(Added.)",
        "renamed" => "已改名。(Renamed.)",
        "moved" => "已移动，下级节点一起移过去了。(Moved, with everything below it.)",
        "activated" => "已启用，下级节点一起启用了。(Activated, with everything below it.)",
        "deactivated" => {
            "已停用，下级节点一起停用了；已有的案件不受影响。(Deactivated, with everything below it.)"
        }
        "created" => {
            "已添加。这个人还没有密码：请点下面的“生成一次性验证码”，把验证码告诉本人。(Added; issue a one-time code so they can set a password.)"
        }
        "saved" => "已保存。(Saved.)",
        _ => return None,
    })
}
