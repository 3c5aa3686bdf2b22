//! The exports' query string, checked before any work: the period (the township's
//! local days, at most [`MAX_DAYS`]), the filters, the CSV encoding and, for the
//! county, the township. Every bad field is named in one problem+json answer.

use chrono::NaiveDate;
use mashang_domain::case::CaseState;
use mashang_domain::tenant::TenantCode;
use mashang_domain::{GridNodeId, UserId};
use mashang_http::{ApiError, FieldError};
use serde::Deserialize;

use super::csv::CsvEncoding;

/// The longest period one export covers, in days (a leap year).
pub const MAX_DAYS: i64 = 366;

/// Longest category code accepted.
const MAX_CATEGORY_CHARS: usize = 64;

/// The channels a report can come through, as stored in the case facts.
pub const CHANNELS: [&str; 3] = ["qr", "assisted", "api"];

/// The status of a report whose case routing has not opened yet.
pub const SUBMITTED: &str = "submitted";

/// The query string as sent; every field is text so that each bad one is named.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// First local day, `YYYY-MM-DD` (required).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last local day, inclusive (required; at most 366 days after `from`).
    #[param(format = Date)]
    pub to: Option<String>,
    /// A grid node: cases there and below it.
    #[param(format = Uuid)]
    pub node_id: Option<String>,
    /// A category code.
    #[param(max_length = 64)]
    pub category: Option<String>,
    /// A case state (`in_progress`, `closed`, …) or `submitted`.
    #[param(max_length = 32)]
    pub status: Option<String>,
    /// `qr`, `assisted` or `api`.
    #[param(max_length = 16)]
    pub channel: Option<String>,
    /// The handler's user id.
    #[param(format = Uuid)]
    pub handler: Option<String>,
    /// CSV only: `utf-8` (default, with a byte-order mark) or `gb18030`.
    #[param(max_length = 16)]
    pub encoding: Option<String>,
    /// County only: one township's code.
    #[param(max_length = 32)]
    pub township: Option<String>,
}

/// What an export covers, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFilter {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Cases at this node or below it.
    pub node: Option<GridNodeId>,
    /// Cases of this category.
    pub category: Option<String>,
    /// Cases now in this state (`submitted` before routing opened a case).
    pub status: Option<&'static str>,
    /// Cases that came through this channel.
    pub channel: Option<&'static str>,
    /// Cases with this handler.
    pub handler: Option<UserId>,
    /// County only: this township.
    pub township: Option<TenantCode>,
}

impl ExportParams {
    /// Checks every field; `county` says whether `township` may be given. Malformed
    /// input is a 400 whose detail names each bad field (as the figures' endpoints
    /// answer a bad period).
    pub fn check(&self, county: bool) -> Result<(ExportFilter, CsvEncoding), ApiError> {
        self.check_fields(county).map_err(|errors| {
            ApiError::BadRequest(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }

    /// [`ExportParams::check`], with each bad field apart.
    pub fn check_fields(
        &self,
        county: bool,
    ) -> Result<(ExportFilter, CsvEncoding), Vec<FieldError>> {
        let mut errors = Vec::new();
        let from = day(self.from.as_deref(), "from", &mut errors);
        let to = day(self.to.as_deref(), "to", &mut errors);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.push(FieldError::new(
                    "to",
                    "结束日期不能早于开始日期 (to is before from)",
                ));
            } else if (t - f).num_days() + 1 > MAX_DAYS {
                errors.push(FieldError::new(
                    "to",
                    format!("一次最多导出{MAX_DAYS}天 (at most {MAX_DAYS} days per export)"),
                ));
            }
        }
        let node = given(&self.node_id).and_then(|raw| {
            parsed(
                raw.parse::<GridNodeId>().ok(),
                "node_id",
                "网格节点编号无效 (not a node id)",
                &mut errors,
            )
        });
        let handler = given(&self.handler).and_then(|raw| {
            parsed(
                raw.parse::<UserId>().ok(),
                "handler",
                "处理人编号无效 (not a user id)",
                &mut errors,
            )
        });
        let category = given(&self.category).and_then(|raw| {
            let ok = raw.chars().count() <= MAX_CATEGORY_CHARS
                && raw
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
            parsed(
                ok.then(|| raw.to_owned()),
                "category",
                "类别代码无效 (not a category code)",
                &mut errors,
            )
        });
        let status = given(&self.status).and_then(|raw| {
            let state = CaseState::parse(raw)
                .map(CaseState::as_str)
                .or((raw == SUBMITTED).then_some(SUBMITTED));
            parsed(state, "status", "状态无效 (not a case state)", &mut errors)
        });
        let channel = given(&self.channel).and_then(|raw| {
            let known = CHANNELS.into_iter().find(|c| *c == raw);
            parsed(
                known,
                "channel",
                "渠道应为 qr、assisted 或 api (qr, assisted or api)",
                &mut errors,
            )
        });
        let encoding = match given(&self.encoding) {
            None => Some(CsvEncoding::default()),
            Some(raw) => parsed(
                CsvEncoding::parse(raw),
                "encoding",
                "编码应为 utf-8 或 gb18030 (utf-8 or gb18030)",
                &mut errors,
            ),
        };
        let township = match given(&self.township) {
            None => None,
            Some(_) if !county => {
                errors.push(FieldError::new(
                    "township",
                    "乡镇账号只能导出本乡镇 (a township exports only its own cases)",
                ));
                None
            }
            Some(raw) => parsed(
                TenantCode::parse(raw).ok(),
                "township",
                "乡镇代码无效 (not a township code)",
                &mut errors,
            ),
        };
        // Nodes are a township's; the county names the township to filter by one.
        if county && node.is_some() && given(&self.township).is_none() {
            errors.push(FieldError::new(
                "node_id",
                "按网格筛选时请同时指定乡镇 (give township with node_id)",
            ));
        }
        match (from, to, encoding) {
            (Some(from), Some(to), Some(encoding)) if errors.is_empty() => Ok((
                ExportFilter {
                    from,
                    to,
                    node,
                    category,
                    status,
                    channel,
                    handler,
                    township,
                },
                encoding,
            )),
            _ => Err(errors),
        }
    }
}

/// A parameter that was given and is not blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parsed<T>(
    value: Option<T>,
    field: &str,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    if value.is_none() {
        errors.push(FieldError::new(field, message));
    }
    value
}

fn day(raw: Option<&str>, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            errors.push(FieldError::new(
                field,
                "必填，格式 YYYY-MM-DD (required, YYYY-MM-DD)",
            ));
            None
        }
        Some(raw) => {
            // Exactly ten characters: chrono alone would accept `2026-1-5`.
            let date = (raw.len() == 10)
                .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
                .flatten();
            parsed(
                date,
                field,
                "日期格式应为 YYYY-MM-DD (a date as YYYY-MM-DD)",
                errors,
            )
        }
    }
}

#[cfg(test)]
mod tests;
