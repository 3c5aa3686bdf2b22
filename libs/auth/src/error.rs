//! Why access was refused.

use mashang_http::ApiError;

/// An authentication or authorisation failure.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong login or password (never says which).
    #[error("wrong login or password")]
    BadCredentials,
    /// Too many failed attempts; try again after this many seconds.
    #[error("too many failed sign-ins; retry after {0} s")]
    Throttled(u64),
    /// The township is suspended.
    #[error("the township is suspended")]
    TenantSuspended,
    /// A sign-in link that is unknown, used, expired or revoked (never says which).
    #[error("the sign-in link no longer works")]
    LinkGone,
    /// No valid session or token.
    #[error("not signed in")]
    NotSignedIn,
    /// A cookie-authenticated change without the CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// The principal's roles do not allow the action.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// Input refused.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A dependency failed.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<mashang_db::DbError> for AuthError {
    fn from(err: mashang_db::DbError) -> Self {
        Self::Internal(err.into())
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::BadCredentials => ApiError::Unauthorized,
            AuthError::NotSignedIn => ApiError::Unauthorized,
            AuthError::LinkGone => {
                ApiError::Gone("此链接已失效 (this link no longer works)".to_owned())
            }
            AuthError::Throttled(secs) => ApiError::TooManyRequests {
                retry_after: Some(secs),
            },
            AuthError::TenantSuspended => ApiError::Forbidden(
                "本乡镇已暂停使用，请联系县综治中心 (this township is suspended)".to_owned(),
            ),
            AuthError::Csrf => ApiError::Forbidden(
                "缺少或错误的CSRF令牌，请刷新页面后重试 (missing or wrong CSRF token)".to_owned(),
            ),
            AuthError::Forbidden(why) => ApiError::Forbidden(why),
            AuthError::Invalid { field, message } => ApiError::field(field, message),
            AuthError::Internal(err) => ApiError::Internal(err),
        }
    }
}
