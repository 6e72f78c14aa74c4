//! The consent page: the app's requested scopes, allow or deny.

use axum::http::StatusCode;
use axum::response::Response;

use super::forms::ConsentForm;
use super::pages::ConsentPage;
use super::pages::{render, Chrome};
use super::step::{Consent, OwedPage, OwedPost};
use super::{i18n, refused_post, respond};
use crate::error::ServiceError;
use crate::services::signin::{self, StepCall, Transaction};
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
            .find(|l| l.locale.eq_ignore_ascii_case(locale))
            .map(|l| l.value);
        let note = Some(scope.note).filter(|n| !n.is_empty());
        let text = own
            .or_else(|| t.scope_text(&scope.name).map(str::to_owned))
            .or(note)
            .unwrap_or_else(|| scope.name.clone());
        lines.push((scope.name, text));
    }
    Ok(lines)
}

pub(super) async fn consent_page(page: OwedPage<Consent>) -> Response {
    let (state, browser, tx_id, tx, _, locale) = page.into_parts();
    let scopes = match consent_lines(&state, &tx, &locale).await {
        Ok(lines) => lines,
        Err(err) => return crate::http::error::page_internal_error(&state.config, &locale, &err),
    };
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

pub(super) async fn consent_submit(post: OwedPost<Consent, ConsentForm>) -> Response {
    let (state, browser, form, tx, at, locale) = post.into_parts();
    let (redirect_uri, mode, client_state) = (
        tx.request.redirect_uri.clone(),
        tx.request.response_mode,
        tx.request.state.clone(),
    );
    let accept = form.decision.as_deref() == Some("accept");
    match signin::answer_consent(
        StepCall::new(&state, &form.tx, tx, at, browser.meta()),
        accept,
    )
    .await
    {
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
