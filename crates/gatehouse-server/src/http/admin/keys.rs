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

/// The rotation schedule of the server's algorithm, times as the panel writes them.
struct Schedule {
    on: bool,
    signing: String,
    /// The published next key and when it starts signing.
    next: Option<(String, String)>,
    next_rotation: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    f: Frame,
    keys: Vec<KeyRow>,
    schedule: Schedule,
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
    let now = gatehouse_store::now_utc();
    let listed = signing_keys::list(&state.store, now).await?;
    let plan = signing_keys::schedule(
        &state.store,
        &state.config.signing_algorithm,
        state.keys.schedule(),
        now,
    )
    .await?;
    let kid_of = |id: i64| {
        listed
            .iter()
            .find(|(k, _)| k.id == id)
            .map(|(k, _)| k.kid.clone())
            .unwrap_or_default()
    };
    let at = |unix: i64| {
        chrono::DateTime::from_timestamp(unix, 0)
            .map(|d| when(&d.naive_utc()))
            .unwrap_or_default()
    };
    let schedule = Schedule {
        on: state.keys.schedule().is_on(),
        signing: plan.signing.map(kid_of).unwrap_or_default(),
        next: plan.next.map(|(id, from)| (kid_of(id), at(from))),
        next_rotation: plan.next_rotation_at.map(at).unwrap_or_default(),
    };
    let keys = listed
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
    Ok(render(
        StatusCode::OK,
        &KeysPage {
            f,
            keys,
            schedule,
            overlap,
        },
    ))
}

async fn rotate(posted: AdminForm<NoFields>) -> PageResult {
    let AdminForm { state, admin, .. } = posted;
    let key = state.keys.rotate().await?;
    tracing::info!(kid = %key.kid, admin = %admin.admin.user.auth_id, "signing key rotated from the admin panel");
    Ok(see_other("/admin/keys?rotated=1"))
}
