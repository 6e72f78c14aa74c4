//! `/api/v1/roles`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::crud::crud_routes;
use super::guard::{Guarded, ReadRole, ReadUserAndRole, WriteRole};
use super::json::{ApiJson, RecordId};
use super::views::{
    user_views, views, ErrorBody, PostRoleReq, PutRoleReq, RoleBody, RolesBody, UsersBody,
};
use crate::http::error::ApiError;
use crate::state::AppState;

crud_routes! {
    tag "Roles", "/api/v1/roles", "/api/v1/roles/{id}", id "The role's id",
    read ReadRole ["read_role"], write WriteRole ["write_role"], features [];

    /// List roles. Requires `read_role`.
    list(state) -> RolesBody [401] {
        RolesBody {
            roles: views(&state.roles().list().await?),
        }
    }

    /// Get a role. Requires `read_role`.
    get(state, id) -> RoleBody [400, 401, 404] {
        RoleBody {
            role: (&state.roles().get(id).await?).into(),
        }
    }

    /// Create a role. Requires `write_role`; a protected role's name (`privileged_roles`,
    /// `impersonation_roles`, `admin_panel_roles`) also requires `root`. `super_admin` is built in
    /// and refused.
    create(state, caller, body: PostRoleReq) -> RoleBody [400, 401, 409] {
        let authority = caller.authority();
        let role = state.roles().create(&authority, &body.name, body.note.as_deref()).await?;
        RoleBody {
            role: (&role).into(),
        }
    }

    /// Update a role. Requires `write_role`; renaming to or from a protected role's name also
    /// requires `root`.
    update(state, caller, id, body: PutRoleReq) -> RoleBody [400, 401, 404, 409] {
        let authority = caller.authority();
        let (name, note) = (body.name.as_deref(), body.note.as_deref());
        RoleBody {
            role: (&state.roles().update(&authority, id, name, note).await?).into(),
        }
    }

    /// Delete a role (and who holds it). Requires `write_role`; a protected role also requires `root`.
    delete(state, caller, id) [400, 401, 404] {
        state.roles().delete(&caller.authority(), id).await?
    }
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
    Ok(Json(UsersBody {
        users: user_views(&state, &users),
    }))
}
