//! Passwordless sign-in pages: the emailed code, or the magic link that only the browser that
//! asked for it can use.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use gatehouse_core::signin::{SignInError, Step};
use serde::Deserialize;

use super::browser::Browser;
use super::forms::CodeForm;
use super::lifecycle::{code_form_answer, form_or_refusal, form_page, supported_locale, FormSpec};
use super::step::{PostedTx, TxPage};
use super::{i18n, page_error, refused_post, respond, sign_in_url, transaction};
use crate::services::signin::TxCall;
use crate::services::{passwordless, signin};
use crate::state::AppState;

const PASSWORDLESS_PATH: &str = "/identity/v1/view/passwordless";
const MAGIC_LINK_PATH: &str = "/identity/v1/view/magic-link";

#[derive(Debug, Deserialize)]
pub(super) struct PasswordlessQuery {
    tx: Option<String>,
    locale: Option<String>,
    /// The code a magic link carries.
    otp: Option<String>,
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            PASSWORDLESS_PATH,
            get(passwordless_page).post(passwordless_submit),
        )
        .route(MAGIC_LINK_PATH, get(magic_link))
}

fn at_passwordless(tx: &signin::Transaction) -> bool {
    tx.first_factor() == Some(gatehouse_core::signin::FirstFactor::Passwordless)
        && !tx.proof().progress().is_done(Step::PasswordlessVerify)
}

fn passwordless_spec<'a>(state: &AppState, t: &'a i18n::Texts, tx_id: &str) -> FormSpec<'a> {
    let magic_link = state.config.use_passwordless_as_magic_link;
    let mut spec = if magic_link {
        FormSpec::new(
            t.sign_in_title,
            t.magic_link_sent,
            PASSWORDLESS_PATH,
            t.resend_code,
        )
    } else {
        FormSpec::new(
            t.sign_in_title,
            t.passwordless_intro,
            PASSWORDLESS_PATH,
            t.submit_sign_in,
        )
    };
    spec.hidden = vec![("tx", tx_id.to_owned())];
    spec.email_label = t.email;
    spec.ask_code = !magic_link;
    spec.resend = (!magic_link).then(|| vec![("tx", tx_id.to_owned()), ("stage", "resend".into())]);
    spec.back_url = Some(sign_in_url(tx_id, t.lang));
    spec
}

async fn passwordless_page(page: TxPage) -> Response {
    let (state, browser, tx_id, tx, locale) = page.into_parts();
    if !at_passwordless(&tx) {
        return refused_post(&state, SignInError::WrongStep.into());
    }
    let spec = passwordless_spec(&state, i18n::texts(&locale), &tx_id);
    let branding = tx.branding.as_ref();
    form_page(&state, &browser, &locale, branding, spec, None, None)
}

async fn passwordless_submit(post: PostedTx<CodeForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    if !at_passwordless(&tx) {
        return refused_post(&state, SignInError::WrongStep.into());
    }
    let t = i18n::texts(&locale);
    let branding = tx.branding.clone();
    // The magic-link page's only button asks for a new link.
    let resend = form.stage == "resend" || state.config.use_passwordless_as_magic_link;
    let meta = browser.meta();
    let result = if resend {
        passwordless::send_passwordless_code(&state, &form.tx, &tx, meta)
            .await
            .map(|()| None)
    } else {
        passwordless::verify_passwordless(TxCall::new(&state, &form.tx, tx, meta), &form.code)
            .await
            .map(Some)
    };
    let spec = passwordless_spec(&state, t, &form.tx);
    let page = (&state, &browser, locale.as_str());
    code_form_answer(page, (&form.tx, branding.as_ref()), spec, result)
}

/// The emailed magic link: only the browser that asked for it can use it (the transaction is
/// bound to that browser's cookie), so a forwarded or scanned link signs nobody in.
async fn magic_link(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<PasswordlessQuery>,
) -> Response {
    let fallback = supported_locale(&state, q.locale.as_deref());
    if !state.config.use_passwordless_as_magic_link {
        return page_error(&state, &fallback, SignInError::UnknownTransaction.into());
    }
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) if at_passwordless(&tx) => tx,
        Ok(_) => return page_error(&state, &fallback, SignInError::UnknownTransaction.into()),
        Err(err) => return page_error(&state, &fallback, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let tx_id = q.tx.unwrap_or_default();
    let code = q.otp.unwrap_or_default();
    let branding = tx.branding.clone();
    match passwordless::verify_passwordless(TxCall::new(&state, &tx_id, tx, browser.meta()), &code)
        .await
    {
        Ok(outcome) => respond::outcome(&state.config, &tx_id, &locale, outcome),
        Err(err) => form_or_refusal(
            &state,
            &browser,
            &locale,
            branding.as_ref(),
            passwordless_spec(&state, t, &tx_id),
            err,
        ),
    }
}
