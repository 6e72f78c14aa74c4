//! The `confirm_identity` step: a sign-in too old for the sensitive policy after it proves the
//! account again, with the current password or a new sign-in.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::browser::Browser;
use super::forms::PasswordForm;
use super::pages::{render, Chrome, ConfirmIdentityPage};
use super::refused_post;
use super::respond::see_other;
use super::step::{answered, ConfirmIdentity, OwedPage, OwedPost, Refusal};
use crate::services::confirm_identity;
use crate::services::signin::{self, StepCall, Transaction};
use crate::state::AppState;

pub const PATH: &str = "/identity/v1/view/confirm-identity";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(confirm_page).post(confirm_submit))
}

/// The page; `email` is the account's when it has a password to confirm with.
fn confirm_view(
    state: &AppState,
    browser: &Browser,
    (tx_id, tx): (&str, &Transaction),
    locale: &str,
    email: Option<&str>,
    error: Option<Refusal>,
) -> Response {
    let (status, error) = match error {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    };
    let base = format!("{PATH}?tx={tx_id}");
    let response = render(
        status,
        &ConfirmIdentityPage {
            c: Chrome::new(&state.config, locale, Some(&base)).branded(tx.branding.as_ref()),
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email,
            error,
        },
        None,
    );
    browser.with_csrf_cookie(state, response)
}

async fn confirm_page(page: OwedPage<ConfirmIdentity>) -> Response {
    let state = &page.state;
    match confirm_identity::password_email(state, page.at.user().id).await {
        Ok(email) => confirm_view(
            state,
            &page.browser,
            (&page.tx_id, &page.tx),
            &page.locale,
            email.as_deref(),
            None,
        ),
        Err(err) => crate::http::error::page_internal_error(&state.config, &page.locale, &err),
    }
}

/// The current password (the sign-in goes on), or `stage=restart` (a new sign-in for the same
/// request, without the browser's session).
async fn confirm_submit(post: OwedPost<ConfirmIdentity, PasswordForm>) -> Response {
    let (state, browser, form, tx, at, locale) = post.into_parts();
    let state = &state;
    if form.stage == "restart" {
        return match signin::start_over(state, &form.tx, tx).await {
            Ok(new_tx) => see_other(&format!(
                "/identity/v1/view/authorize?tx={new_tx}&locale={locale}"
            )),
            Err(err) => refused_post(state, err),
        };
    }
    let (shown, user_id, meta) = (tx.clone(), at.user().id, browser.meta());
    let confirmed = confirm_identity::with_password(
        StepCall::new(state, &form.tx, tx, at, meta),
        &form.password,
    )
    .await;
    answered(state, (&form.tx, &locale), confirmed, |refusal| async {
        match confirm_identity::password_email(state, user_id).await {
            Ok(email) => {
                let shown = (form.tx.as_str(), &shown);
                confirm_view(
                    state,
                    &browser,
                    shown,
                    &locale,
                    email.as_deref(),
                    Some(refusal),
                )
            }
            Err(err) => refused_post(state, err),
        }
    })
    .await
}
