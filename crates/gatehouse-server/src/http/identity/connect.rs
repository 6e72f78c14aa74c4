//! `GET /connect/<app>`: the ePass connect flow. The user signs in on the usual pages (with MFA
//! and lockouts, or silently with a live session) and lands on the app's redirect URL with the
//! sauce.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_store::ConnectAppStore;
use serde::Deserialize;

use super::browser::Browser;
use super::pages::message;
use super::{form_error, i18n};
use crate::services::connect::{self, ConnectTarget};
use crate::services::signin;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct ConnectQuery {
    redirect: Option<String>,
    locale: Option<String>,
}

pub(super) async fn start(
    State(state): State<AppState>,
    browser: Browser,
    Path(name): Path<String>,
    Query(q): Query<ConnectQuery>,
) -> Response {
    let config = &state.config;
    let locale = browser.locale(&state, None, q.locale.as_deref());
    let t = i18n::texts(&locale);
    let app = match state.store.connect_app(&name).await {
        Ok(Some(app)) if app.is_active => app,
        Ok(_) => {
            return message(
                config,
                &locale,
                StatusCode::NOT_FOUND,
                t.error_title,
                "No connect app found",
            )
        }
        Err(err) => return crate::http::error::page_internal_error(config, &locale, &err.into()),
    };
    let redirect_url =
        match connect::redirect_for(&app, q.redirect.as_deref(), config.allow_http_redirect_uris) {
            Ok(url) => url,
            Err(err) => {
                return match form_error(&state, &locale, err) {
                    Ok((status, text)) => message(config, &locale, status, t.error_title, &text),
                    Err(page) => *page,
                }
            }
        };
    let target = ConnectTarget {
        app_name: app.name.clone(),
        redirect_url,
    };
    let display = app.display_name.clone().unwrap_or_else(|| app.name.clone());
    let request = connect::sign_in_request(&app, locale.clone());
    let tx_id =
        match signin::begin_connect(&state, request, &display, target, browser.csrf.as_deref())
            .await
        {
            Ok(id) => id,
            Err(err) => return crate::http::error::page_internal_error(config, &locale, &err),
        };
    let mut response = super::sign_in_from(&state, &browser, &tx_id, &locale).await;
    browser.set_csrf_cookie(&state, &mut response);
    response
}
