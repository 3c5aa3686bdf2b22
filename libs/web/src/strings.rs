//! Words every service's pages share, Chinese first with the English after it.

use axum::http::StatusCode;

/// The title of an error page for `status`.
pub fn error_title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "没有权限 (Not allowed)",
        StatusCode::NOT_FOUND => "没有找到 (Not found)",
        StatusCode::TOO_MANY_REQUESTS => "请稍后再试 (Too many requests)",
        StatusCode::INTERNAL_SERVER_ERROR => INTERNAL_TITLE,
        _ => "无法完成 (Refused)",
    }
}

/// The title of the page shown when something failed on our side.
pub const INTERNAL_TITLE: &str = "系统出错 (Internal error)";

/// What a staff member is told when something failed on our side (the cause is
/// logged, never shown).
pub const INTERNAL_MESSAGE: &str =
    "系统出错，没有完成。请稍后再试；如果一直这样，请联系县里的系统管理员。";

/// A posted form larger than the page takes.
pub const FORM_TOO_LARGE: &str = "表单太大 (form too large)";

/// A page that does not exist, or is another township's.
pub const NOT_FOUND: &str = "没有找到这一项：它不存在，或不属于本镇。(Not found.)";
