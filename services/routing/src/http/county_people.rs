//! The county's own people and their e-mail addresses (the county's daily digest goes
//! to those who gave one): `GET /api/v1/county/people`, `PATCH
//! /api/v1/county/people/{id}` with `{"email": "…"}` (`null` or empty clears it).
//! County administrators only.

use axum::extract::{Path, State};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::UserId;
use mashang_http::{ApiError, ApiJson};
use serde::Deserialize;
use serde_json::{Value, json};

use super::allow;
use super::people::parse_email;
use crate::RoutingState;
use crate::directory::DirectoryError;
use crate::directory::county::{CountyPerson, county_people, set_county_email};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(update))
}

/// `GET /api/v1/county/people`.
#[utoipa::path(get, path = "/api/v1/county/people", tag = "county", operation_id = "get_api_v1_county_people",
    summary = "县级人员 (The county centre people)",
    responses(
        (status = 200, description = "人员 (The people)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ManageTenants, Target::County)?;
    Ok(ApiJson(json!({"people": county_people(&state.db).await?})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: Option<String>,
}

/// `PATCH /api/v1/county/people/{id}`: sets or clears the person's e-mail address.
#[utoipa::path(patch, path = "/api/v1/county/people/{id}", tag = "county", operation_id = "patch_api_v1_county_people_id",
    summary = "修改县级人员邮箱 (Sets a county person e-mail address)",
    params(("id" = uuid::Uuid, Path, description = "The county person")),
    request_body(content = EmailBody, content_type = "application/json"),
    responses(
        (status = 200, description = "人员 (The person)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn update(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<ApiJson<CountyPerson>, ApiError> {
    allow(&principal, Action::ManageTenants, Target::County)?;
    let id: UserId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut errors = Vec::new();
    let email = parse_email(body.email.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    match set_county_email(&state.db, id, email.as_ref()).await {
        Ok(()) => {}
        Err(DirectoryError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(other) => return Err(other.into()),
    }
    county_people(&state.db)
        .await?
        .into_iter()
        .find(|p| p.id == id.as_uuid())
        .map(ApiJson)
        .ok_or(ApiError::NotFound)
}
