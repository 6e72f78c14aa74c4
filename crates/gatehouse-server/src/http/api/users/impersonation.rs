//! `/api/v1/users/{authId}/impersonate`.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::id_param;
use crate::http::api::guard::{Guarded, Root};
use crate::http::api::json::ApiJson;
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpersonationReq {
    /// A user access token of the acting admin, who must hold an impersonation role.
    #[serde(default)]
    pub impersonator_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImpersonationBody {
    /// Acts as the user in the app (scope `offline_access profile`); access tokens minted
    /// from it carry `impersonatedBy`.
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
    pub refresh_token_expires_on: i64,
}

/// Impersonate the user in a SPA app: returns a refresh token acting as them. Requires `root`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/impersonation/{appId}", tag = "Users", request_body = ImpersonationReq, security(("oauth2" = ["root"])),
    params(("authId" = String, Path, description = "The user to act as"), ("appId" = i64, Path, description = "The SPA app")),
    responses((status = 200, body = ImpersonationBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn impersonate(
    _: Guarded<Root>,
    State(state): State<AppState>,
    Path((auth_id, app_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ImpersonationReq>,
) -> Result<Json<ImpersonationBody>, ApiError> {
    let app_id = id_param(&app_id, "appId")?;
    let now = chrono::Utc::now().timestamp();
    let tokens = crate::services::user_tokens::impersonate(
        &state,
        &auth_id,
        app_id,
        &body.impersonator_token,
        now,
    )
    .await?;
    Ok(Json(ImpersonationBody {
        refresh_token: tokens.refresh_token,
        refresh_token_expires_in: tokens.refresh_token_expires_in,
        refresh_token_expires_on: tokens.refresh_token_expires_on,
    }))
}
