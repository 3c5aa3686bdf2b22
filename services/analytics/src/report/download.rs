//! The report as a download: the period asked for, and the response with the
//! Word content type and a Chinese file name (RFC 6266, with RFC 5987's `filename*`
//! and an ASCII `filename` for clients that know only that).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::data::Period;

/// The content type of a `.docx` file.
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD` as it arrives; checked as the stats API checks
/// its period.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First local day (required).
    #[param(format = Date)]
    pub(crate) from: Option<String>,
    /// Last local day, inclusive (required).
    #[param(format = Date)]
    pub(crate) to: Option<String>,
}

/// What RFC 5987 lets through unencoded in `filename*` (its `attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` with the Chinese `name` and an ASCII `fallback` (letters, digits, `-`,
/// `.` only, which need no quoting rules beyond the quotes).
pub fn disposition(name: &str, fallback: &str) -> HeaderValue {
    let fallback: String = fallback
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    // Only visible ASCII is left after the filtering and encoding above.
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The file names of a report: Chinese, and ASCII for old clients.
pub fn file_names(who: &str, code: &str, period: &Period) -> (String, String) {
    (
        format!(
            "{who}自查自评报告（{}至{}）.docx",
            period.from.format("%Y%m%d"),
            period.to.format("%Y%m%d")
        ),
        format!(
            "self-assessment-{code}-{}-{}.docx",
            period.from.format("%Y%m%d"),
            period.to.format("%Y%m%d")
        ),
    )
}

/// The `.docx` download.
pub fn response(body: Vec<u8>, name: &str, fallback: &str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(DOCX)),
            (header::CONTENT_DISPOSITION, disposition(name, fallback)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn the_file_name_is_chinese_with_an_ascii_fallback() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("a date");
        let p = Period {
            from: day("2026-11-01"),
            to: day("2026-11-30"),
        };
        let (name, fallback) = file_names("城关镇", "CT", &p);
        assert_eq!(name, "城关镇自查自评报告（20261101至20261130）.docx");
        let value = disposition(&name, &fallback);
        let value = value.to_str().expect("ASCII");
        assert!(value.starts_with(
            "attachment; filename=\"self-assessment-CT-20261101-20261130.docx\"; filename*=UTF-8''%E5%9F%8E%E5%85%B3%E9%95%87"
        ), "{value}");
        assert!(value.ends_with("20261130%EF%BC%89.docx"));
    }

    #[test]
    fn quotes_and_controls_never_reach_the_header() {
        let value = disposition("a\"b\r\n.docx", "x\"y\r\nz.docx");
        assert_eq!(
            value.to_str().expect("ASCII"),
            "attachment; filename=\"xyz.docx\"; filename*=UTF-8''a%22b%0D%0A.docx"
        );
    }
}
