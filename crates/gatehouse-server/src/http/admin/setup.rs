//! The first run: `/admin/setup?token=…` (the link start-up prints while no admin exists)
//! creates the first `super_admin`. Guarded by the one-time token and the browser's CSRF cookie.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::auth::panel_locale;
use super::i18n::{self, Words};
use super::view::{message, render, service_error, Frame};
use crate::http::identity::browser::Browser;
use crate::services::admin_accounts::NewAccount;
use crate::services::admin_panel;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage<'a> {
    f: Frame,
    token: &'a str,
    csrf: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    error: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct SetupQuery {
    token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct SetupForm {
    token: String,
    csrf_token: String,
    email: String,
    password: String,
    first_name: String,
    last_name: String,
}

fn invalid(w: &'static Words) -> Response {
    message(
        w,
        StatusCode::NOT_FOUND,
        w.setup_title,
        admin_panel::SETUP_LINK_INVALID,
        None,
    )
}

fn form_page(
    w: &'static Words,
    browser: &Browser,
    state: &AppState,
    form: &SetupForm,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let response = render(
        status,
        &SetupPage {
            f: Frame::bare(w, w.setup_title),
            token: &form.token,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email: &form.email,
            first_name: &form.first_name,
            last_name: &form.last_name,
            error,
        },
    );
    browser.with_csrf_cookie(state, response)
}

pub(super) async fn page(
    State(state): State<AppState>,
    browser: Browser,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Response {
    let w = i18n::words(&panel_locale(&state.config, &headers));
    match admin_panel::setup_open(&state, &q.token).await {
        Ok(true) => {
            let form = SetupForm {
                token: q.token,
                csrf_token: String::new(),
                email: String::new(),
                password: String::new(),
                first_name: String::new(),
                last_name: String::new(),
            };
            form_page(w, &browser, &state, &form, StatusCode::OK, None)
        }
        Ok(false) => invalid(w),
        Err(err) => service_error(&state, w, &err),
    }
}

pub(super) async fn submit(
    State(state): State<AppState>,
    browser: Browser,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    let w = i18n::words(&panel_locale(&state.config, &headers));
    if browser.foreign_origin || !browser.csrf_matches(&form.csrf_token) {
        return message(
            w,
            StatusCode::FORBIDDEN,
            w.forbidden_title,
            w.csrf_text,
            None,
        );
    }
    let input = NewAccount {
        email: form.email.clone(),
        password: form.password.clone(),
        first_name: Some(form.first_name.clone()),
        last_name: Some(form.last_name.clone()),
    };
    match admin_panel::complete_setup(&state, &form.token, input).await {
        Ok(_) => message(
            w,
            StatusCode::OK,
            w.setup_title,
            w.setup_done,
            Some(("/admin", w.open_panel)),
        ),
        Err(crate::error::ServiceError::NotFound(_)) => invalid(w),
        Err(crate::error::ServiceError::SignIn(e)) => {
            let status = crate::http::error::status_of(e.class());
            form_page(w, &browser, &state, &form, status, Some(e.to_string()))
        }
        Err(err) => service_error(&state, w, &err),
    }
}
