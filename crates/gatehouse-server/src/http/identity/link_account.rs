//! The `link_account` step: a provider identity's first sign-in whose email is an existing
//! account's asks that account's password, or goes back to the sign-in page.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::browser::Browser;
use super::forms::PasswordForm;
use super::pages::{render, Chrome, LinkAccountPage};
use super::respond::see_other;
use super::step::{answered, PostedTx, Refusal, TxPage};
use super::{i18n, refused_post};
use crate::services::account_linking;
use crate::services::signin::Transaction;
use crate::services::signin::TxCall;
use crate::state::AppState;

pub const PATH: &str = "/identity/v1/view/link-account";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(link_page).post(link_submit))
}

fn link_view(
    state: &AppState,
    browser: &Browser,
    tx_id: &str,
    tx: &Transaction,
    locale: &str,
    error: Option<Refusal>,
) -> Response {
    let link = match account_linking::pending(tx) {
        Ok(link) => link,
        Err(err) => return refused_post(state, err),
    };
    let (status, error) = match error {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    };
    let t = i18n::texts(locale);
    let base = format!("{PATH}?tx={tx_id}");
    let response = render(
        status,
        &LinkAccountPage {
            c: Chrome::new(&state.config, locale, Some(&base)).branded(tx.branding.as_ref()),
            app_name: &tx.app_name,
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email: &link.email,
            intro: t
                .link_account_intro
                .replace("{email}", &link.email)
                .replace("{provider}", &link.provider),
            error,
        },
        None,
    );
    browser.with_csrf_cookie(state, response)
}

async fn link_page(page: TxPage) -> Response {
    let (state, browser, tx_id, tx, locale) = page.into_parts();
    link_view(&state, &browser, &tx_id, &tx, &locale, None)
}

/// The password (links and signs in), or `stage=cancel` (back to the sign-in page).
async fn link_submit(post: PostedTx<PasswordForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    if form.stage == "cancel" {
        return match account_linking::cancel(&state, &form.tx, tx).await {
            Ok(()) => see_other(&super::sign_in_url(&form.tx, &locale)),
            Err(err) => refused_post(&state, err),
        };
    }
    let shown = tx.clone();
    let (password, meta) = (&form.password, browser.meta());
    let linked =
        account_linking::link_with_password(TxCall::new(&state, &form.tx, tx, meta), password)
            .await;
    answered(&state, (&form.tx, &locale), linked, |refusal| async {
        link_view(&state, &browser, &form.tx, &shown, &locale, Some(refusal))
    })
    .await
}
