//! `/device`: where a user types the code a device shows (RFC 8628 §3.3). A valid code shows
//! which app asks, with a warning against codes sent by someone else (§5.4); continuing runs
//! the normal sign-in (MFA, consent) and ends back here with the device approved.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::browser::Browser;
use super::forms::Protected;
use super::pages::{message, render, Chrome, DeviceConfirm, DevicePage};
use super::step::SameSitePost;
use super::{form_error, i18n, sign_in_from};
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
    /// Absent on the code entry form; `accept` or `deny` on the confirmation.
    decision: Option<String>,
}

impl Protected for DeviceForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
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
    let locale = browser.locale(&state, None, q.locale.as_deref());
    let t = i18n::texts(&locale);
    let ended = match (q.error.is_some(), q.result.as_deref()) {
        (true, _) => Some((t.device_denied_title, t.device_denied_text)),
        (false, Some("approved")) => Some((t.device_approved_title, t.device_approved_text)),
        _ => None,
    };
    if let Some(notice) = ended {
        return message(&state.config, &locale, StatusCode::OK, notice.0, notice.1);
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

/// A code typed, or the confirmation's answer (the extractor refused forged posts).
pub(super) async fn device_submit(post: SameSitePost<DeviceForm>) -> Response {
    let SameSitePost {
        state,
        browser,
        form,
    } = post;
    let locale = browser.locale(&state, None, form.locale.as_deref());
    let typed: String = form.user_code.chars().take(64).collect();
    let ip = browser.ip.as_deref();
    let pending = match device_flow::pending(&state, &typed, ip, browser.now).await {
        Ok(pending) => pending,
        Err(err) => return refused(&state, &browser, &locale, &typed, err),
    };
    match form.decision.as_deref() {
        Some("accept") => {
            // The extractor checked the browser's token: it has one.
            let csrf = browser.csrf.as_deref().unwrap_or_default();
            match signin::begin_device(&state, &pending, locale.clone(), csrf).await {
                Ok(tx_id) => sign_in_from(&state, &browser, &tx_id, &locale).await,
                Err(err) => refused(&state, &browser, &locale, &typed, err),
            }
        }
        Some("deny") => match device_flow::deny(&state, &pending.target).await {
            Ok(()) => {
                let t = i18n::texts(&locale);
                let (title, text) = (t.device_denied_title, t.device_denied_text);
                message(&state.config, &locale, StatusCode::OK, title, text)
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
