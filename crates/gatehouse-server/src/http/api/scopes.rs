//! `/api/v1/scopes`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::guard::{Guarded, ReadScope, WriteScope};
use super::json::{ApiJson, RecordId};
use super::views::{ErrorBody, PostScopeReq, PutScopeReq, ScopeBody, ScopeDetailView, ScopesBody};
use crate::http::error::ApiError;
use crate::services::scopes::{self, ScopeDetail, ScopeInput};
use crate::state::AppState;

fn detail(d: &ScopeDetail) -> ScopeBody {
    ScopeBody {
        scope: ScopeDetailView {
            scope: (&d.scope).into(),
            locales: d.locales.iter().map(Into::into).collect(),
        },
    }
}

/// List scopes. Requires `read_scope`.
#[utoipa::path(get, path = "/api/v1/scopes", tag = "Scopes",
    security(("oauth2" = ["read_scope"])),
    responses((status = 200, body = ScopesBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadScope>,
    State(state): State<AppState>,
) -> Result<Json<ScopesBody>, ApiError> {
    let scopes = scopes::list(&state.store).await?;
    Ok(Json(ScopesBody {
        scopes: scopes.iter().map(Into::into).collect(),
    }))
}

/// Get a scope with its locale texts. Requires `read_scope`.
#[utoipa::path(get, path = "/api/v1/scopes/{id}", tag = "Scopes",
    params(("id" = i64, Path, description = "The scope's id")),
    security(("oauth2" = ["read_scope"])),
    responses((status = 200, body = ScopeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Guarded<ReadScope>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<ScopeBody>, ApiError> {
    Ok(Json(detail(&scopes::get(&state.store, id).await?)))
}

/// Create a scope. Requires `write_scope`. Built-in names are refused.
#[utoipa::path(post, path = "/api/v1/scopes", tag = "Scopes", request_body = PostScopeReq,
    security(("oauth2" = ["write_scope"])),
    responses((status = 201, body = ScopeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    _: Guarded<WriteScope>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PostScopeReq>,
) -> Result<(StatusCode, Json<ScopeBody>), ApiError> {
    let input = ScopeInput {
        name: body.name,
        scope_type: body.scope_type,
        note: body.note,
        locales: body
            .locales
            .map(|l| l.into_iter().map(|t| (t.locale, t.value)).collect()),
    };
    let created = scopes::create(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(detail(&created))))
}

/// Update a scope; `locales` replaces all its texts. Requires `write_scope`.
#[utoipa::path(put, path = "/api/v1/scopes/{id}", tag = "Scopes", request_body = PutScopeReq,
    params(("id" = i64, Path, description = "The scope's id")),
    security(("oauth2" = ["write_scope"])),
    responses((status = 200, body = ScopeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    _: Guarded<WriteScope>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<PutScopeReq>,
) -> Result<Json<ScopeBody>, ApiError> {
    let locales = body
        .locales
        .map(|l| l.into_iter().map(|t| (t.locale, t.value)).collect());
    Ok(Json(detail(
        &scopes::update(&state.store, id, body.name, body.note, locales).await?,
    )))
}

/// Delete a scope (and its app links and texts). Requires `write_scope`.
#[utoipa::path(delete, path = "/api/v1/scopes/{id}", tag = "Scopes",
    params(("id" = i64, Path, description = "The scope's id")),
    security(("oauth2" = ["write_scope"])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    _: Guarded<WriteScope>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    scopes::delete(&state.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
