//! Sign-in through a configured OpenID Connect provider: the sign-in page's button sends the
//! browser there, and the provider sends it back to Melody's callback path.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};

use super::browser::Browser;
use super::respond::{self, see_other};
use super::{form_error, page_error, posted_transaction, refused_post, sign_in_view, StepForm};
use crate::error::ServiceError;
use crate::services::federation::{self, ProviderAnswer};
use crate::services::signin::{self, Transaction};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/identity/v1/view/authorize-oidc/{provider}", post(start))
        .route("/identity/v1/authorize-oidc/{provider}", get(callback))
}

/// The button: off to the provider with a state, nonce and PKCE challenge kept here.
async fn start(
    State(state): State<AppState>,
    browser: Browser,
    Path(provider): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) => tx,
        Err(err) => return refused_post(&state, err),
    };
    match federation::start(&state, &form.tx, &tx, &provider).await {
        Ok(url) => see_other(&url),
        Err(err) => refusal(&state, &browser, &form.tx, &tx, err).await,
    }
}

/// The provider's answer (`code` and `state`, or `error`).
async fn callback(
    State(state): State<AppState>,
    browser: Browser,
    Path(provider): Path<String>,
    Query(answer): Query<ProviderAnswer>,
) -> Response {
    let loaded = match federation::take_pending(&state, &provider, &answer).await {
        Ok(pending) => signin::load(&state, &pending.tx_id, browser.csrf.as_deref())
            .await
            .map(|tx| (pending, tx)),
        Err(err) => Err(err),
    };
    let (pending, tx) = match loaded {
        Ok(found) => found,
        Err(err) => return page_error(&state, "en", err),
    };
    let locale = tx.request.locale.clone();
    let shown = tx.clone();
    match federation::sign_in_with_provider(&state, &pending, tx, &answer, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &pending.tx_id, &locale, outcome),
        Err(err) => refusal(&state, &browser, &pending.tx_id, &shown, err).await,
    }
}

/// The sign-in page again, saying why the provider's way failed.
async fn refusal(
    state: &AppState,
    browser: &Browser,
    tx_id: &str,
    tx: &Transaction,
    err: ServiceError,
) -> Response {
    let locale = tx.request.locale.clone();
    match form_error(state, &locale, err) {
        Ok(error) => sign_in_view(state, browser, tx_id, tx, &locale, "", Some(error), None).await,
        Err(page) => *page,
    }
}
