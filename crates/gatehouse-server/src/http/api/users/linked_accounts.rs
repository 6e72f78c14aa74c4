//! `/api/v1/users/{authId}/link`: two accounts linked to each other.

use axum::extract::{Path, State};
use axum::Json;

use super::{success, SuccessBody};
use crate::http::api::guard::{Guarded, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

/// Link two accounts to each other. Requires `write_user`; a holder of a protected role on either
/// side also requires `root`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/account-linking/{linkingAuthId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("linkingAuthId" = String, Path, description = "The account to link")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, target)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::link(&state, &guard.caller.authority(), &auth_id, &target).await?;
    Ok(success())
}

/// Unlink the user's linked account (both sides). Requires `write_user`; a holder of a protected
/// role on either side also requires `root`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/account-linking", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = SuccessBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlink(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::unlink(&state, &guard.caller.authority(), &auth_id).await?;
    Ok(success())
}
