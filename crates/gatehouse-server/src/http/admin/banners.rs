//! App banners: the list with the apps showing each, creating one, switching it on or off, the
//! apps it shows on, deleting.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::auth::NoFields;
use super::feature::{FeatureAdmin, FeatureForm};
use super::view::{buttons, render, see_other, Frame, PageResult};
use crate::http::api::AppBannerFeature;
use crate::services::{apps, banners};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/banners", get(list).post(create))
        .route("/admin/banners/{id}", post(update))
        .route("/admin/banners/{id}/delete", post(delete))
}

/// The pages' guard: an admin, with app banners switched on.
type Banners<T = NoFields> = FeatureForm<AppBannerFeature, T>;

struct BannerRow {
    id: i64,
    kind: String,
    text: String,
    active: bool,
    /// (app id, name, shows this banner).
    apps: Vec<(i64, String, bool)>,
}

#[derive(Template)]
#[template(path = "admin/banners.html")]
struct BannersPage {
    f: Frame,
    banners: Vec<BannerRow>,
}

async fn list(State(state): State<AppState>, page: FeatureAdmin<AppBannerFeature>) -> PageResult {
    let admin = page.admin;
    let w = admin.words();
    let all_apps = apps::list(&state).await?;
    let banners = banners::list(&state.store)
        .await?
        .into_iter()
        .map(|b| BannerRow {
            id: b.record.id,
            kind: b.record.banner_type,
            text: b.record.text,
            active: b.record.is_active,
            apps: all_apps
                .iter()
                .map(|a| (a.id, a.name.clone(), b.app_ids.contains(&a.id)))
                .collect(),
        })
        .collect();
    let f = Frame::new(&admin, "banners", w.banners, "/admin/banners");
    Ok(render(StatusCode::OK, &BannersPage { f, banners }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewBannerForm {
    #[serde(rename = "type")]
    kind: String,
    text: String,
}

async fn create(posted: Banners<NewBannerForm>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    banners::create(&state.store, &form.kind, Some(form.text), None).await?;
    Ok(see_other("/admin/banners"))
}

/// The banner's row posts its text, its switch and one `app` field per app showing it.
async fn update(Path(id): Path<i64>, posted: Banners<Vec<(String, String)>>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    let text = form
        .iter()
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.clone());
    let active = form.iter().any(|(k, v)| k == "is_active" && v == "on");
    let app_ids = form
        .iter()
        .filter(|(k, _)| k == "app")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    banners::update(
        &state.store,
        id,
        None,
        text,
        None,
        Some(active),
        Some(app_ids),
    )
    .await?;
    Ok(see_other("/admin/banners"))
}

buttons! {
    delete(state, id => i64, _ => Banners) { banners::delete(&state.store, id) } => "/admin/banners";
}
