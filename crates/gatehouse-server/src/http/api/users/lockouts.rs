//! `/api/v1/users/{authId}/locked-ips`: where the user is locked out, and unlocking them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::api::guard::{Guarded, ReadUser, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct LockedIpsBody {
    /// IP addresses locked out for this user's email (`""`: locked whatever the IP).
    #[serde(rename = "lockedIPs")]
    pub locked_ips: Vec<String>,
}

/// Where the user is locked out after too many wrong passwords. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/locked-ips", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = LockedIpsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn locked_ips(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<LockedIpsBody>, ApiError> {
    Ok(Json(LockedIpsBody {
        locked_ips: users::locked_ips(&state, &auth_id).await?,
    }))
}

/// Clear every lockout of the user's email. Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/locked-ips", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    users::unlock(&state, &auth_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
