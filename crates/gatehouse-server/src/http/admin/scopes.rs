//! Scopes: the list, creating one with its consent texts per locale, editing, deleting.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::ScopeRecord;

use super::auth::{AdminForm, AdminUser, NoFields};
use super::view::{buttons, render, see_other, Detail, Frame, PageResult};
use crate::services::scopes::{self, ScopeInput};
use crate::state::AppState;

/// Consent texts are posted as `locale:<tag>` fields.
const LOCALE_FIELD: &str = "locale:";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/scopes", get(list).post(create))
        .route("/admin/scopes/{id}", get(detail).post(update))
        .route("/admin/scopes/{id}/delete", post(delete))
}

/// The locales a scope text can be written in: the server's sign-in locales.
fn locale_rows(state: &AppState, texts: &[(String, String)]) -> Vec<(String, String)> {
    state
        .config
        .supported_locales
        .iter()
        .map(|l| {
            let text = texts
                .iter()
                .find(|(t, _)| t == l)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (l.clone(), text)
        })
        .collect()
}

fn posted_locales(form: &[(String, String)]) -> Vec<(String, String)> {
    form.iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(LOCALE_FIELD)?.to_owned(),
                v.trim().to_owned(),
            ))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[derive(Template)]
#[template(path = "admin/scopes.html")]
struct ScopesPage {
    f: Frame,
    scopes: Vec<ScopeRecord>,
    locales: Vec<(String, String)>,
}

async fn list(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let w = admin.words();
    let scopes = scopes::list(&state.store).await?;
    let f = Frame::new(&admin, "scopes", w.scopes, "/admin/scopes");
    let locales = locale_rows(&state, &[]);
    Ok(render(StatusCode::OK, &ScopesPage { f, scopes, locales }))
}

async fn create(posted: AdminForm<Vec<(String, String)>>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    let input = ScopeInput {
        name: field(&form, "name").to_owned(),
        scope_type: field(&form, "type").to_owned(),
        note: Some(field(&form, "note").to_owned()),
        locales: Some(posted_locales(&form)),
    };
    let made = scopes::create(&state.store, input).await?;
    Ok(see_other(&format!(
        "/admin/scopes/{}?done=1",
        made.scope.id
    )))
}

#[derive(Template)]
#[template(path = "admin/scope.html")]
struct ScopePage {
    f: Frame,
    scope: ScopeRecord,
    locales: Vec<(String, String)>,
}

async fn detail(
    State(state): State<AppState>,
    Detail { admin, notice }: Detail,
    Path(id): Path<i64>,
) -> PageResult {
    let found = scopes::get(&state.store, id).await?;
    let texts: Vec<(String, String)> = found
        .locales
        .into_iter()
        .map(|l| (l.locale, l.value))
        .collect();
    let f = Frame::new(
        &admin,
        "scopes",
        &found.scope.name,
        &format!("/admin/scopes/{id}"),
    )
    .with_notice(notice);
    let locales = locale_rows(&state, &texts);
    Ok(render(
        StatusCode::OK,
        &ScopePage {
            f,
            scope: found.scope,
            locales,
        },
    ))
}

async fn update(Path(id): Path<i64>, posted: AdminForm<Vec<(String, String)>>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    scopes::update(
        &state.store,
        id,
        Some(field(&form, "name").to_owned()),
        Some(field(&form, "note").to_owned()),
        Some(posted_locales(&form)),
    )
    .await?;
    Ok(see_other(&format!("/admin/scopes/{id}?done=1")))
}

buttons! {
    delete(state, id => i64, _ => AdminForm<NoFields>) { scopes::delete(&state.store, id) } => "/admin/scopes";
}
