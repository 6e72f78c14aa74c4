//! `/api/v1/registration-tokens`: initial access tokens for dynamic client registration.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::guard::{Guarded, Root};
use super::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::registration;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationTokenBody {
    /// Sent as `Authorization: Bearer` to `POST /oauth2/v1/register`; registers one app.
    pub initial_access_token: String,
    /// Seconds it stays usable (`client_registration_token_expires_in`).
    pub expires_in: u64,
}

/// Make an initial access token for one dynamic client registration (RFC 7591 §1.2), when
/// `client_registration` is `token`. Requires `root`.
#[utoipa::path(post, path = "/api/v1/registration-tokens", tag = "Apps", security(("oauth2" = ["root"])),
    responses((status = 201, body = RegistrationTokenBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    _: Guarded<Root>,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<RegistrationTokenBody>), ApiError> {
    if state.config.client_registration != "token" {
        return Err(ApiError::bad_request(
            "client_registration is not `token`: no initial access token is needed or accepted"
                .into(),
        ));
    }
    let (initial_access_token, expires_in) = registration::issue_initial_token(&state).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegistrationTokenBody {
            initial_access_token,
            expires_in,
        }),
    ))
}
