//! Signing keys: their state, and rotation (the same key ring `gatehouse keys rotate` uses).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser, NoFields};
use super::view::{render, see_other, when, Frame, PageResult};
use crate::services::signing_keys;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/keys", get(list))
        .route("/admin/keys/rotate", post(rotate))
}

struct KeyRow {
    kid: String,
    algorithm: String,
    created: String,
    state: &'static str,
    retires: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    f: Frame,
    keys: Vec<KeyRow>,
    overlap: u64,
}

#[derive(Deserialize)]
pub(super) struct KeysQuery {
    rotated: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    Query(q): Query<KeysQuery>,
) -> PageResult {
    let w = admin.words();
    let keys = signing_keys::list(&state.store, gatehouse_store::now_utc())
        .await?
        .into_iter()
        .map(|(key, key_state)| KeyRow {
            created: when(&key.created_at),
            retires: key.retire_at.as_ref().map(when).unwrap_or_default(),
            kid: key.kid,
            algorithm: key.algorithm,
            state: key_state.as_str(),
        })
        .collect();
    let notice = q.rotated.is_some().then(|| w.saved.to_owned());
    let f = Frame::new(&admin, "keys", w.keys, "/admin/keys").with_notice(notice);
    let overlap = state.config.key_rotation_overlap;
    Ok(render(StatusCode::OK, &KeysPage { f, keys, overlap }))
}

async fn rotate(posted: AdminForm<NoFields>) -> PageResult {
    let AdminForm { state, admin, .. } = posted;
    let key = state.keys.rotate().await?;
    tracing::info!(kid = %key.kid, admin = %admin.admin.user.auth_id, "signing key rotated from the admin panel");
    Ok(see_other("/admin/keys?rotated=1"))
}
