//! `/api/v1/roles`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::guard::{Guarded, ReadRole, ReadUserAndRole, WriteRole};
use super::json::{ApiJson, RecordId};
use super::views::{ErrorBody, PostRoleReq, PutRoleReq, RoleBody, RolesBody, UserView, UsersBody};
use crate::http::error::ApiError;
use crate::state::AppState;

/// List roles. Requires `read_role`.
#[utoipa::path(get, path = "/api/v1/roles", tag = "Roles",
    security(("oauth2" = ["read_role"])),
    responses((status = 200, body = RolesBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadRole>,
    State(state): State<AppState>,
) -> Result<Json<RolesBody>, ApiError> {
    let roles = state.roles().list().await?;
    Ok(Json(RolesBody {
        roles: roles.iter().map(Into::into).collect(),
    }))
}

/// Get a role. Requires `read_role`.
#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "Roles",
    params(("id" = i64, Path, description = "The role's id")),
    security(("oauth2" = ["read_role"])),
    responses((status = 200, body = RoleBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Guarded<ReadRole>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<RoleBody>, ApiError> {
    Ok(Json(RoleBody {
        role: (&state.roles().get(id).await?).into(),
    }))
}

/// Users holding a role. Requires `read_user` and `read_role`.
#[utoipa::path(get, path = "/api/v1/roles/{id}/users", tag = "Roles",
    params(("id" = i64, Path, description = "The role's id")),
    security(("oauth2" = ["read_user", "read_role"])),
    responses((status = 200, body = UsersBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn users(
    _: Guarded<ReadUserAndRole>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<UsersBody>, ApiError> {
    let users = state.roles().users(id).await?;
    let with_names = state.config.enable_names;
    Ok(Json(UsersBody {
        users: users.iter().map(|u| UserView::new(u, with_names)).collect(),
    }))
}

/// Create a role. Requires `write_role`; a protected role's name (`privileged_roles`,
/// `impersonation_roles`, `admin_panel_roles`) also requires `root`. `super_admin` is built in
/// and refused.
#[utoipa::path(post, path = "/api/v1/roles", tag = "Roles", request_body = PostRoleReq,
    security(("oauth2" = ["write_role"])),
    responses((status = 201, body = RoleBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    guard: Guarded<WriteRole>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PostRoleReq>,
) -> Result<(StatusCode, Json<RoleBody>), ApiError> {
    let authority = guard.caller.authority();
    let role = state
        .roles()
        .create(&authority, &body.name, body.note.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RoleBody {
            role: (&role).into(),
        }),
    ))
}

/// Update a role. Requires `write_role`; renaming to or from a protected role's name also
/// requires `root`.
#[utoipa::path(put, path = "/api/v1/roles/{id}", tag = "Roles", request_body = PutRoleReq,
    params(("id" = i64, Path, description = "The role's id")),
    security(("oauth2" = ["write_role"])),
    responses((status = 200, body = RoleBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    guard: Guarded<WriteRole>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<PutRoleReq>,
) -> Result<Json<RoleBody>, ApiError> {
    let authority = guard.caller.authority();
    let (name, note) = (body.name.as_deref(), body.note.as_deref());
    let role = state.roles().update(&authority, id, name, note).await?;
    Ok(Json(RoleBody {
        role: (&role).into(),
    }))
}

/// Delete a role (and who holds it). Requires `write_role`; a protected role also requires `root`.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "Roles",
    params(("id" = i64, Path, description = "The role's id")),
    security(("oauth2" = ["write_role"])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    guard: Guarded<WriteRole>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    state.roles().delete(&guard.caller.authority(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
