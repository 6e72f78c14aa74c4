//! `/device`: where a user types the code a device shows (RFC 8628 §3.3). A valid code shows
//! which app asks, with a warning against codes sent by someone else (§5.4); continuing runs
//! the normal sign-in (MFA, consent) and ends back here with the device approved.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::browser::Browser;
use super::pages::{message, render, Chrome, DeviceConfirm, DevicePage};
use super::{form_error, i18n, refused_post, sign_in_from};
use crate::error::ServiceError;
use crate::services::device_flow::{self, PendingDevice};
use crate::services::signin;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct DeviceQuery {
    user_code: Option<String>,
    locale: Option<String>,
    /// `approved`: the sign-in that approved a device ended here.
    result: Option<String>,
    /// Set when the sign-in ended with a refusal (a denied consent).
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DeviceForm {
    csrf_token: String,
    user_code: String,
    locale: Option<String>,
    /// Absent on the code entry form; `allow` or `deny` on the confirmation.
    decision: Option<String>,
}

fn page_locale(state: &AppState, asked: Option<&str>) -> String {
    gatehouse_core::authorize::pick_locale(asked, &state.config.supported_locales)
}

/// The entry form (with a refusal, when a typed code failed) or the confirmation.
fn device_form(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    user_code: &str,
    outcome: Result<Option<DeviceConfirm>, (StatusCode, String)>,
) -> Response {
    let (status, error, confirm) = match outcome {
        Ok(confirm) => (StatusCode::OK, None, confirm),
        Err((status, text)) => (status, Some(text), None),
    };
    let page = DevicePage {
        c: Chrome::new(&state.config, locale, Some(device_flow::PAGE)),
        locale,
        csrf: browser.csrf.as_deref().unwrap_or_default(),
        user_code,
        error,
        confirm,
    };
    browser.with_csrf_cookie(state, render(status, &page, None))
}

pub(super) async fn device_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<DeviceQuery>,
) -> Response {
    let locale = page_locale(&state, q.locale.as_deref());
    let t = i18n::texts(&locale);
    if q.error.is_some() {
        let text = t.device_denied_text;
        return message(
            &state.config,
            &locale,
            StatusCode::OK,
            t.device_denied_title,
            text,
        );
    }
    if q.result.as_deref() == Some("approved") {
        let text = t.device_approved_text;
        return message(
            &state.config,
            &locale,
            StatusCode::OK,
            t.device_approved_title,
            text,
        );
    }
    // A code from `verification_uri_complete` is only filled in: the user still confirms it.
    let typed: String = q.user_code.unwrap_or_default().chars().take(20).collect();
    device_form(&state, &browser, &locale, &typed, Ok(None))
}

fn confirmation(locale: &str, pending: &PendingDevice) -> DeviceConfirm {
    let t = i18n::texts(locale);
    let scopes = pending
        .grant
        .scopes
        .iter()
        .map(|name| {
            let text = t.scope_text(name).unwrap_or(name);
            (name.clone(), text.to_owned())
        })
        .collect();
    DeviceConfirm {
        intro: t.device_confirm_intro.replace("{app}", &pending.app.name),
        shown_code: gatehouse_core::grant::device_code::display_user_code(
            &pending.target.user_code,
        ),
        scopes,
    }
}

pub(super) async fn device_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<DeviceForm>,
) -> Response {
    let locale = page_locale(&state, form.locale.as_deref());
    if browser.foreign_origin || !browser.csrf_matches(&form.csrf_token) {
        return refused_post(
            &state,
            gatehouse_core::signin::SignInError::CsrfMismatch.into(),
        );
    }
    let typed: String = form.user_code.chars().take(64).collect();
    let ip = browser.ip.as_deref();
    let pending = match device_flow::pending(&state, &typed, ip, browser.now).await {
        Ok(pending) => pending,
        Err(err) => return refused(&state, &browser, &locale, &typed, err),
    };
    match form.decision.as_deref() {
        Some("allow") => {
            let Some(csrf) = browser.csrf.as_deref() else {
                return refused_post(
                    &state,
                    gatehouse_core::signin::SignInError::CsrfMismatch.into(),
                );
            };
            match signin::begin_device(&state, &pending, locale.clone(), csrf).await {
                Ok(tx_id) => sign_in_from(&state, &browser, &tx_id, &locale).await,
                Err(err) => refused(&state, &browser, &locale, &typed, err),
            }
        }
        Some("deny") => match device_flow::deny(&state, &pending.target).await {
            Ok(()) => {
                let t = i18n::texts(&locale);
                let text = t.device_denied_text;
                message(
                    &state.config,
                    &locale,
                    StatusCode::OK,
                    t.device_denied_title,
                    text,
                )
            }
            Err(err) => refused(&state, &browser, &locale, &typed, err),
        },
        _ => {
            let confirm = confirmation(&locale, &pending);
            let code = pending.target.user_code.clone();
            device_form(&state, &browser, &locale, &code, Ok(Some(confirm)))
        }
    }
}

/// The entry form again with the refusal, or the error page of a server fault.
fn refused(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    typed: &str,
    err: ServiceError,
) -> Response {
    match form_error(state, locale, err) {
        Ok(refusal) => device_form(state, browser, locale, typed, Err(refusal)),
        Err(page) => *page,
    }
}
