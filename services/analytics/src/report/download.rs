//! The report as a download: the period asked for, checked, and the response with the
//! Word content type and a Chinese file name (RFC 6266, with RFC 5987's `filename*`
//! and an ASCII `filename` for clients that know only that).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use mashang_http::{ApiError, FieldError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::data::Period;

/// A report covers at most this many days (a year, leap or not).
pub const MAX_DAYS: i64 = 366;

/// The content type of a `.docx` file.
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD` as it arrives.
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

impl PeriodQuery {
    /// The period, or the errors naming each bad field.
    pub fn check(&self) -> Result<Period, ApiError> {
        let mut errors = Vec::new();
        let day = |raw: &Option<String>, field: &'static str, errors: &mut Vec<FieldError>| {
            let Some(raw) = raw.as_deref().filter(|d| !d.is_empty()) else {
                errors.push(FieldError::new(field, "请填写日期 (a date is required)"));
                return None;
            };
            // Bounded before parsing: a date is ten characters.
            let parsed = (raw.len() == 10)
                .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
                .flatten();
            if parsed.is_none() {
                errors.push(FieldError::new(
                    field,
                    "日期格式为 2026-12-01 (a date like 2026-12-01)",
                ));
            }
            parsed
        };
        let from = day(&self.from, "from", &mut errors);
        let to = day(&self.to, "to", &mut errors);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.push(FieldError::new(
                    "to",
                    "结束日期早于开始日期 (ends before it starts)",
                ));
            } else if (t - f).num_days() + 1 > MAX_DAYS {
                errors.push(FieldError::new(
                    "to",
                    format!("一份报告最多涵盖 {MAX_DAYS} 天 (at most {MAX_DAYS} days)"),
                ));
            }
        }
        match (from, to, errors.is_empty()) {
            (Some(from), Some(to), true) => Ok(Period { from, to }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
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
    use super::*;

    fn q(from: &str, to: &str) -> PeriodQuery {
        PeriodQuery {
            from: Some(from.into()),
            to: Some(to.into()),
        }
    }

    fn fields(result: Result<Period, ApiError>) -> Vec<String> {
        match result.expect_err("the period is refused") {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn a_period_of_up_to_a_year_is_accepted() {
        let p = q("2026-01-01", "2026-12-31").check().expect("a year");
        assert_eq!(p.from.to_string(), "2026-01-01");
        assert!(q("2026-11-05", "2026-11-05").check().is_ok(), "one day");
        assert!(q("2024-01-01", "2024-12-31").check().is_ok(), "a leap year");
    }

    #[test]
    fn bad_periods_name_the_field() {
        assert_eq!(fields(q("2026-11-31", "2026-12-01").check()), ["from"]);
        assert_eq!(fields(q("2026-12-02", "2026-12-01").check()), ["to"]);
        assert_eq!(fields(q("2025-01-01", "2026-01-02").check()), ["to"]);
        assert_eq!(fields(q("1/11/2026", "x").check()), ["from", "to"]);
        assert_eq!(fields(q(&"2".repeat(5000), "2026-01-01").check()), ["from"]);
        let missing = PeriodQuery {
            from: None,
            to: None,
        };
        assert_eq!(fields(missing.check()), ["from", "to"]);
    }

    #[test]
    fn the_file_name_is_chinese_with_an_ascii_fallback() {
        let p = q("2026-11-01", "2026-11-30").check().expect("valid");
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
