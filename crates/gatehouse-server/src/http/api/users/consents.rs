//! `/api/v1/users/{authId}/consented-apps`: the apps a user consented to.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::id_param;
use crate::http::api::guard::{Guarded, ReadUser, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentedApp {
    pub app_id: i64,
    pub app_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentedAppsBody {
    pub consented_apps: Vec<ConsentedApp>,
}

/// Apps the user consented to. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/consented-apps", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = ConsentedAppsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn consented_apps(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<ConsentedAppsBody>, ApiError> {
    let apps = users::consented_apps(&state.store, &auth_id).await?;
    Ok(Json(ConsentedAppsBody {
        consented_apps: apps
            .into_iter()
            .map(|(app_id, app_name)| ConsentedApp { app_id, app_name })
            .collect(),
    }))
}

/// Revoke the user's consent to an app. Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/consented-apps/{appId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("appId" = i64, Path, description = "The app's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_consent(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, app_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    users::revoke_consent(&state.store, &auth_id, id_param(&app_id, "appId")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
