//! The consent page: the app's requested scopes, allow or deny.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use gatehouse_core::signin::SignInError;

use super::browser::Browser;
use super::pages::ConsentPage;
use super::pages::{render, Chrome};
use super::{
    i18n, page_error, page_locale, posted_transaction, refused_post, respond, transaction,
    PageQuery, StepForm,
};
use crate::error::ServiceError;
use crate::services::signin::{self, Transaction};
use crate::state::AppState;

/// The requested scopes with the text shown for each: the scope's own locale text, the
/// built-in description, or its name.
async fn consent_lines(
    state: &AppState,
    tx: &Transaction,
    locale: &str,
) -> Result<Vec<(String, String)>, ServiceError> {
    let t = i18n::texts(locale);
    let scopes = signin::consent_scopes(state, tx).await?;
    let mut lines = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let own = scope
            .locales
            .into_iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(locale))
            .map(|(_, text)| text);
        let note = Some(scope.note).filter(|n| !n.is_empty());
        let text = own
            .or_else(|| t.scope_text(&scope.name).map(str::to_owned))
            .or(note)
            .unwrap_or_else(|| scope.name.clone());
        lines.push((scope.name, text));
    }
    Ok(lines)
}

pub(super) async fn consent_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<PageQuery>,
) -> Response {
    let fallback = q.locale.clone().unwrap_or_else(|| "en".into());
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) if tx.user().is_some() => tx,
        Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
        Err(err) => return page_error(&state, &fallback, err),
    };
    let locale = page_locale(&state, q.locale.as_deref(), &tx);
    let scopes = match consent_lines(&state, &tx, &locale).await {
        Ok(lines) => lines,
        Err(err) => return crate::http::error::page_internal_error(&state.config, &locale, &err),
    };
    let tx_id = q.tx.unwrap_or_default();
    let base = format!("/identity/v1/view/consent?tx={tx_id}");
    render(
        StatusCode::OK,
        &ConsentPage {
            c: Chrome::new(&state.config, &locale, Some(&base)).branded(tx.branding.as_ref()),
            app_name: &tx.app_name,
            tx: &tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            scopes,
        },
        None,
    )
}

pub(super) async fn consent_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) => tx,
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let (redirect_uri, mode, client_state) = (
        tx.request.redirect_uri.clone(),
        tx.request.response_mode,
        tx.request.state.clone(),
    );
    let accept = form.decision.as_deref() == Some("accept");
    match signin::answer_consent(&state, &form.tx, tx, accept, browser.meta()).await {
        Ok(Some(outcome)) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Ok(None) => respond::client_error(
            &state.config,
            &redirect_uri,
            mode,
            Some(&client_state),
            "access_denied",
            "The user denied the request",
        ),
        Err(err) => refused_post(&state, err),
    }
}
