//! The county's own people and their e-mail addresses (the county's daily digest goes
//! to those who gave one): `GET /api/v1/county/people`, `PATCH
//! /api/v1/county/people/{id}` with `{"email": "…"}` (`null` or empty clears it).
//! County administrators only.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
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

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/api/v1/county/people", get(list))
        .route("/api/v1/county/people/{id}", axum::routing::patch(update))
}

/// `GET /api/v1/county/people`.
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ManageTenants, Target::County)?;
    Ok(ApiJson(json!({"people": county_people(&state.db).await?})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: Option<String>,
}

/// `PATCH /api/v1/county/people/{id}`: sets or clears the person's e-mail address.
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
