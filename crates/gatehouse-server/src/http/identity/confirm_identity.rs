//! The `confirm_identity` step: a sign-in too old for the sensitive policy after it proves the
//! account again, with the current password or a new sign-in.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use gatehouse_core::signin::{AtStep, Step};

use super::browser::Browser;
use super::pages::{render, Chrome, ConfirmIdentityPage};
use super::respond::{self, see_other};
use super::{
    at_step, form_error, load_error, page_locale, posted_at_step, refused_post, PageQuery, StepForm,
};
use crate::error::ServiceError;
use crate::services::confirm_identity;
use crate::services::signin::{self, Transaction};
use crate::state::AppState;

pub const PATH: &str = "/identity/v1/view/confirm-identity";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(confirm_page).post(confirm_submit))
}

async fn confirm_view(
    state: &AppState,
    browser: &Browser,
    (tx_id, tx, at): (&str, &Transaction, &AtStep),
    locale: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    let email = match confirm_identity::password_email(state, at).await {
        Ok(email) => email,
        Err(err) => return crate::http::error::page_internal_error(&state.config, locale, &err),
    };
    let (status, error) = match error {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    };
    let base = format!("{PATH}?tx={tx_id}");
    let mut response = render(
        status,
        &ConfirmIdentityPage {
            c: Chrome::new(&state.config, locale, Some(&base)).branded(tx.branding.as_ref()),
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email: email.as_deref(),
            error,
        },
        None,
    );
    browser.set_csrf_cookie(state, &mut response);
    response
}

async fn confirm_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<PageQuery>,
) -> Response {
    let fallback = q.locale.clone().unwrap_or_else(|| "en".into());
    let tx_id = q.tx.as_deref().unwrap_or_default();
    match at_step(&state, &browser, q.tx.as_deref(), &[Step::ConfirmIdentity]).await {
        Ok((tx, at)) => {
            let locale = page_locale(&state, q.locale.as_deref(), &tx);
            confirm_view(&state, &browser, (tx_id, &tx, &at), &locale, None).await
        }
        Err(err) => load_error(&state, &fallback, err),
    }
}

/// The current password (the sign-in goes on), or `stage=restart` (a new sign-in for the same
/// request, without the browser's session).
async fn confirm_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let (tx, at) = match posted_at_step(&state, &browser, &form, &[Step::ConfirmIdentity]).await {
        Ok(found) => found,
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    if form.stage == "restart" {
        return match signin::start_over(&state, &form.tx, tx, browser.csrf.as_deref()).await {
            Ok(new_tx) => see_other(&format!(
                "/identity/v1/view/authorize?tx={new_tx}&locale={locale}"
            )),
            Err(err) => refused_post(&state, err),
        };
    }
    let shown = tx.clone();
    let confirmed =
        confirm_identity::with_password(&state, &form.tx, tx, at, &form.password, browser.meta())
            .await;
    match confirmed {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => {
            let error = match form_error(&state, &locale, err) {
                Ok(error) => error,
                Err(page) => return *page,
            };
            // The step is still owed: show it again with the refusal.
            match reload(&state, &browser, &form.tx).await {
                Ok(at) => {
                    confirm_view(
                        &state,
                        &browser,
                        (&form.tx, &shown, &at),
                        &locale,
                        Some(error),
                    )
                    .await
                }
                Err(err) => refused_post(&state, err),
            }
        }
    }
}

async fn reload(state: &AppState, browser: &Browser, tx_id: &str) -> Result<AtStep, ServiceError> {
    at_step(state, browser, Some(tx_id), &[Step::ConfirmIdentity])
        .await
        .map(|(_, at)| at)
}
