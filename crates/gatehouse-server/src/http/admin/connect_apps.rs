//! ePass connect apps: the list, creating one (its secret shown once), editing its redirect URL,
//! names and patterns, switching it off, a new secret, deleting. The same service as
//! `/api/v1/connect-apps` and `gatehouse connect-app`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::ConnectAppRecord;
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser, NoFields};
use super::view::{buttons, lines, render, see_other, Detail, Frame, PageResult};
use crate::services::connect::{self, AppChange, NewApp};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/connect-apps", get(list).post(create))
        .route("/admin/connect-apps/{name}", get(detail).post(update))
        .route("/admin/connect-apps/{name}/secret", post(new_secret))
        .route("/admin/connect-apps/{name}/delete", post(delete))
}

struct ConnectAppRow {
    name: String,
    display_name: String,
    redirect_url: String,
    sign_in_url: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin/connect_apps.html")]
struct ConnectAppsPage {
    f: Frame,
    apps: Vec<ConnectAppRow>,
}

fn sign_in_url(state: &AppState, app: &ConnectAppRecord) -> String {
    format!("{}/connect/{}", state.config.issuer, app.name)
}

async fn list(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let apps = state
        .connect_apps()
        .list()
        .await?
        .into_iter()
        .map(|app| ConnectAppRow {
            sign_in_url: sign_in_url(&state, &app),
            display_name: app.display_name.clone().unwrap_or_default(),
            name: app.name,
            redirect_url: app.redirect_url,
            active: app.is_active,
        })
        .collect();
    let w = admin.words();
    let f = Frame::new(&admin, "connect", w.connect_apps, "/admin/connect-apps");
    Ok(render(StatusCode::OK, &ConnectAppsPage { f, apps }))
}

#[derive(Template)]
#[template(path = "admin/connect_app.html")]
struct ConnectAppPage {
    f: Frame,
    app: ConnectAppRecord,
    sign_in_url: String,
    patterns: String,
    secret: Option<String>,
}

fn app_page(
    state: &AppState,
    admin: &AdminUser,
    app: ConnectAppRecord,
    secret: Option<String>,
    notice: Option<String>,
) -> PageResult {
    let path = format!("/admin/connect-apps/{}", app.name);
    let title = app.display_name.clone().unwrap_or_else(|| app.name.clone());
    let page = ConnectAppPage {
        f: Frame::new(admin, "connect", &title, &path).with_notice(notice),
        sign_in_url: sign_in_url(state, &app),
        patterns: connect::redirect_patterns(&app).join("\n"),
        secret,
        app,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewAppForm {
    name: String,
    redirect_url: String,
    display_name: String,
    logo_url: String,
    redirect_patterns: String,
}

async fn create(posted: AdminForm<NewAppForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let new = NewApp {
        name: form.name.trim().to_owned(),
        redirect_url: form.redirect_url.trim().to_owned(),
        display_name: Some(form.display_name),
        logo_url: Some(form.logo_url),
        redirect_patterns: lines(&form.redirect_patterns),
    };
    let (app, secret) = state.connect_apps().create(&state.keys, new).await?;
    app_page(&state, &admin, app, Some(secret), None)
}

async fn detail(
    State(state): State<AppState>,
    Detail { admin, notice }: Detail,
    Path(name): Path<String>,
) -> PageResult {
    let app = state.connect_apps().get(&name).await?;
    app_page(&state, &admin, app, None, notice)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct EditForm {
    redirect_url: String,
    display_name: String,
    logo_url: String,
    redirect_patterns: String,
    /// An unchecked box is absent, so it reads as off.
    is_active: Option<String>,
}

async fn update(Path(name): Path<String>, posted: AdminForm<EditForm>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    let change = AppChange {
        redirect_url: Some(form.redirect_url.trim().to_owned()),
        display_name: Some(form.display_name),
        logo_url: Some(form.logo_url),
        redirect_patterns: Some(lines(&form.redirect_patterns)),
        is_active: Some(form.is_active.as_deref() == Some("on")),
    };
    state.connect_apps().update(&name, change).await?;
    Ok(see_other(&format!("/admin/connect-apps/{name}?done=1")))
}

async fn new_secret(Path(name): Path<String>, posted: AdminForm<NoFields>) -> PageResult {
    let AdminForm { state, admin, .. } = posted;
    let (app, secret) = state
        .connect_apps()
        .rotate_secret(&state.keys, &name)
        .await?;
    app_page(&state, &admin, app, Some(secret), None)
}

buttons! {
    delete(state, name => String, _ => AdminForm<NoFields>) {
        state.connect_apps().delete(&name)
    } => "/admin/connect-apps";
}
