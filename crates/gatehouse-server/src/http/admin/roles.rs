//! Roles: the list, creating one, renaming, the note, deleting, and who holds it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::{RoleRecord, UserRecord};
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser, NoFields};
use super::view::{buttons, render, see_other, when, Detail, Frame, PageResult};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/roles", get(list).post(create))
        .route("/admin/roles/{id}", get(detail).post(update))
        .route("/admin/roles/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    f: Frame,
    roles: Vec<RoleRecord>,
}

async fn list(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let w = admin.words();
    let roles = state.roles().list().await?;
    let f = Frame::new(&admin, "roles", w.roles, "/admin/roles");
    Ok(render(StatusCode::OK, &RolesPage { f, roles }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RoleForm {
    name: String,
    note: String,
}

async fn create(posted: AdminForm<RoleForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let role = state
        .roles()
        .create(&admin.authority(), &form.name, Some(&form.note))
        .await?;
    Ok(see_other(&format!("/admin/roles/{}?done=1", role.id)))
}

#[derive(Template)]
#[template(path = "admin/role.html")]
struct RolePage {
    f: Frame,
    role: RoleRecord,
    created: String,
    holders: Vec<UserRecord>,
}

async fn detail(
    State(state): State<AppState>,
    Detail { admin, notice }: Detail,
    Path(id): Path<i64>,
) -> PageResult {
    let role = state.roles().get(id).await?;
    let holders = state.roles().users(id).await?;
    let f =
        Frame::new(&admin, "roles", &role.name, &format!("/admin/roles/{id}")).with_notice(notice);
    let created = when(&role.created_at);
    Ok(render(
        StatusCode::OK,
        &RolePage {
            f,
            role,
            created,
            holders,
        },
    ))
}

async fn update(Path(id): Path<i64>, posted: AdminForm<RoleForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    state
        .roles()
        .update(&admin.authority(), id, Some(&form.name), Some(&form.note))
        .await?;
    Ok(see_other(&format!("/admin/roles/{id}?done=1")))
}

buttons! {
    delete(state, id => i64, posted => AdminForm<NoFields>) {
        state.roles().delete(&posted.admin.authority(), id)
    } => "/admin/roles";
}
