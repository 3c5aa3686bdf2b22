//! `POST /api/v1/reports/{tracking_number}/rating`: after resolution, the citizen says
//! whether the problem was resolved and how satisfied they are. Once per report.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use mashang_bus::{Service, outbox};
use mashang_domain::events::{ReportRated, Satisfaction};
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;

use crate::IntakeState;
use crate::limits::ClientAddress;
use crate::status::{Access, RatingView, open, rateable};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, RateLimited, Unavailable,
};

/// How the citizen proves the report is theirs (query string).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Proof {
    /// The status link's secret.
    pub s: Option<String>,
    /// Or the phone's last four digits.
    pub phone4: Option<String>,
}

/// The two questions and a comment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RatingBody {
    /// Does the citizen say the matter is resolved? (required)
    resolved: Option<bool>,
    /// `satisfied`, `basically_satisfied` or `unsatisfied` (required).
    #[schema(value_type = Option<mashang_domain::case::Satisfaction>)]
    satisfaction: Option<String>,
    /// A comment.
    #[schema(max_length = 500)]
    comment: Option<String>,
}

/// The rating form of the status page without JavaScript: `resolved=true|false`.
#[derive(Debug, Deserialize)]
struct RatingForm {
    resolved: Option<String>,
    satisfaction: Option<String>,
    comment: Option<String>,
}

/// `POST /api/v1/reports/{tracking_number}/rating`: JSON (201 with the rating), or the
/// status page's plain form (303 back to the status page).
#[utoipa::path(post, path = "/api/v1/reports/{tracking_number}/rating", tag = "intake", operation_id = "post_api_v1_reports_tracking_number_rating",
    summary = "评价 (The citizen rates the outcome: JSON, or the status page form)",
    params(("tracking_number" = String, Path, max_length = 100, description = "The tracking number (`CT-20261126-0042`)"), Proof),
    request_body(content((RatingBody = "application/json"), (Object = "application/x-www-form-urlencoded")), description = "是否解决、满意度与留言 (Resolved, satisfaction and a comment)"),
    security(()),
    responses(
        (status = 201, description = "已评价 (Rated)", body = Object),
        (status = 303, description = "表单提交后回到状态页 (After the plain form: back to the status page)"),
        NotFoundError,
        ConflictError,
        JsonBodyErrors,
        RateLimited,
        Unavailable,
    ))]
pub async fn rate(
    State(state): State<IntakeState>,
    Path(tracking_number): Path<String>,
    Query(proof): Query<Proof>,
    client: ClientAddress,
    headers: axum::http::HeaderMap,
    request: axum::extract::Request,
) -> Result<axum::response::Response, ApiError> {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    let is_form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let axum::Form(form) = axum::Form::<RatingForm>::from_request(request, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let body = RatingBody {
            resolved: form.resolved.as_deref().and_then(|r| match r {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            }),
            satisfaction: form.satisfaction,
            comment: form.comment,
        };
        record(&state, &tracking_number, &proof, &client, body).await?;
        let back = match (&proof.s, &proof.phone4) {
            (Some(s), _) => format!("/r/{tracking_number}?s={s}"),
            (None, Some(d)) => format!("/r/{tracking_number}?phone4={d}"),
            (None, None) => format!("/r/{tracking_number}"),
        };
        return Ok(axum::response::Redirect::to(&back).into_response());
    }
    let ApiJson(body) = ApiJson::<RatingBody>::from_request(request, &()).await?;
    let view = record(&state, &tracking_number, &proof, &client, body).await?;
    Ok((StatusCode::CREATED, ApiJson(view)).into_response())
}

/// Checks and records a rating; emits `report.rated`.
async fn record(
    state: &IntakeState,
    tracking_number: &str,
    proof: &Proof,
    client: &ClientAddress,
    body: RatingBody,
) -> Result<RatingView, ApiError> {
    let mut errors = Vec::new();
    if body.resolved.is_none() {
        errors.push(FieldError::new(
            "resolved",
            "请选择是否解决 (answer whether it was resolved)",
        ));
    }
    let satisfaction = body.satisfaction.as_deref().and_then(Satisfaction::parse);
    if satisfaction.is_none() {
        errors.push(FieldError::new(
            "satisfaction",
            "请选择满意度 (choose satisfied, basically_satisfied or unsatisfied)",
        ));
    }
    let comment = body
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
        errors.push(FieldError::new(
            "comment",
            "最多500字 (at most 500 characters)",
        ));
    }
    let (Some(resolved), Some(satisfaction), true) =
        (body.resolved, satisfaction, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    let address = client.key();
    let access = match (&proof.s, &proof.phone4) {
        (Some(s), _) => Access::Secret(s),
        (None, Some(d)) => Access::Phone4 {
            digits: d,
            address: &address,
        },
        (None, None) => return Err(ApiError::NotFound),
    };
    let (mut tx, owned) = open(&state.db, tracking_number, access).await?;
    if !rateable(owned.status) {
        return Err(ApiError::Conflict(
            "问题办结后才能评价 (you can rate once the problem is resolved)".to_owned(),
        ));
    }
    let now = Utc::now();
    let inserted: Option<RatingView> = sqlx::query_as(
        "INSERT INTO intake.ratings (tenant_id, report_id, resolved, satisfaction, comment, rated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (report_id) DO NOTHING \
         RETURNING resolved, satisfaction, comment, rated_at",
    )
    .bind(owned.tenant.as_uuid())
    .bind(owned.report.as_uuid())
    .bind(resolved)
    .bind(satisfaction.as_str())
    .bind(&comment)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(view) = inserted else {
        return Err(ApiError::Conflict(
            "您已评价过，感谢您的反馈；评价提交后不能修改 (you have already rated this report, thank you; a rating cannot be changed)".to_owned(),
        ));
    };
    let event = ReportRated {
        report_id: owned.report,
        tracking_number: owned.tracking_number,
        case_id: owned.case,
        resolved,
        satisfaction,
        comment,
        rated_at: now,
    };
    outbox::record(&mut tx, Service::Intake, now, &event)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(view)
}
