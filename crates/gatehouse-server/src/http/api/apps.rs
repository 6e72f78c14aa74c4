//! `/api/v1/apps`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::AppChanges;

use super::guard::{Guarded, ReadApp, WriteApp};
use super::json::{ApiJson, RecordId};
use super::views::{
    AppBody, AppsBody, CreatedAppBody, CreatedAppView, ErrorBody, PostAppReq, PutAppReq,
};
use crate::http::error::ApiError;
use crate::services::apps::{self, NewAppInput};
use crate::state::AppState;

/// List apps (never their secrets). Requires `read_app`.
#[utoipa::path(get, path = "/api/v1/apps", tag = "Apps",
    security(("oauth2" = ["read_app"])),
    responses((status = 200, body = AppsBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadApp>,
    State(state): State<AppState>,
) -> Result<Json<AppsBody>, ApiError> {
    let apps = apps::list(&state).await?;
    Ok(Json(AppsBody {
        apps: apps.iter().map(Into::into).collect(),
    }))
}

/// Get an app with its scopes. Requires `read_app`.
#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = "Apps",
    params(("id" = i64, Path, description = "The app's id")),
    security(("oauth2" = ["read_app"])),
    responses((status = 200, body = AppBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Guarded<ReadApp>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<AppBody>, ApiError> {
    Ok(Json(AppBody {
        app: (&apps::get(&state, id).await?).into(),
    }))
}

/// Create an app. The response is the only time its secret is shown. Requires `write_app`;
/// giving the app `root` also requires the caller to hold `root`.
#[utoipa::path(post, path = "/api/v1/apps", tag = "Apps", request_body = PostAppReq,
    security(("oauth2" = ["write_app"])),
    responses((status = 201, body = CreatedAppBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    guard: Guarded<WriteApp>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PostAppReq>,
) -> Result<(StatusCode, Json<CreatedAppBody>), ApiError> {
    let input = NewAppInput {
        name: body.name,
        app_type: body.app_type,
        scopes: body.scopes,
        redirect_uris: body.redirect_uris,
    };
    let (app, secret) = apps::create(&state, &guard.caller.scopes, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAppBody {
            app: CreatedAppView {
                app: (&app).into(),
                secret,
            },
        }),
    ))
}

/// Update an app; `scopes` replaces its scopes. Requires `write_app`; giving the app `root`
/// also requires the caller to hold `root`.
#[utoipa::path(put, path = "/api/v1/apps/{id}", tag = "Apps", request_body = PutAppReq,
    params(("id" = i64, Path, description = "The app's id")),
    security(("oauth2" = ["write_app"])),
    responses((status = 200, body = AppBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    guard: Guarded<WriteApp>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<PutAppReq>,
) -> Result<Json<AppBody>, ApiError> {
    let changes = AppChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        is_active: body.is_active,
        scopes: body.scopes,
        use_system_mfa_config: body.use_system_mfa_config,
        require_email_mfa: body.require_email_mfa,
        require_otp_mfa: body.require_otp_mfa,
        require_sms_mfa: body.require_sms_mfa,
        allow_email_mfa_as_backup: body.allow_email_mfa_as_backup,
        rotate_refresh_tokens: body.rotate_refresh_tokens,
    };
    let app = apps::update(&state, &guard.caller.scopes, id, changes).await?;
    Ok(Json(AppBody { app: (&app).into() }))
}

/// Delete an app. Requires `write_app`.
#[utoipa::path(delete, path = "/api/v1/apps/{id}", tag = "Apps",
    params(("id" = i64, Path, description = "The app's id")),
    security(("oauth2" = ["write_app"])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    _: Guarded<WriteApp>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    apps::delete(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
