//! The sign-up page: email, password, names and custom attributes.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::signin::SignInError;

use super::browser::Browser;
use super::forms::SignUpForm;
use super::i18n;
use super::pages::{message, render, Chrome};
use super::pages::{AttributeField, SignUpPage};
use super::step::{answered, PostedTx, Refusal, TxPage};
use crate::error::ServiceError;
use crate::services::captcha::{self, CaptchaPage};
use crate::services::signin::SignUpInput;
use crate::services::signin::{self, Transaction};
use crate::services::user_attributes;
use crate::state::AppState;

/// The custom attribute inputs of the sign-up form, with what was posted.
async fn attribute_fields(
    state: &AppState,
    locale: &str,
    form: &SignUpForm,
) -> Result<Vec<AttributeField>, ServiceError> {
    let posted = form.attributes();
    Ok(signin::sign_up_attributes(state)
        .await?
        .iter()
        .map(|a| AttributeField {
            id: a.id,
            label: user_attributes::label(a, locale),
            required: a.required_in_sign_up_form,
            value: posted.get(&a.id).cloned().unwrap_or_default(),
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn sign_up_view(
    state: &AppState,
    browser: &Browser,
    tx_id: &str,
    tx: &Transaction,
    locale: &str,
    form: &SignUpForm,
    error: Option<Refusal>,
) -> Response {
    let attributes = match attribute_fields(state, locale, form).await {
        Ok(fields) => fields,
        Err(err) => return crate::http::error::page_internal_error(&state.config, locale, &err),
    };
    let c = &state.config;
    let base = format!("/identity/v1/view/sign-up?tx={tx_id}");
    let nonce = crate::crypto::random_token::<16>();
    let captcha = crate::services::captcha::widget(state, CaptchaPage::SignUp);
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let mut response = render(
        status,
        &SignUpPage {
            c: Chrome::new(c, locale, Some(&base)).branded(tx.branding.as_ref()),
            app_name: &tx.app_name,
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email: &form.email,
            first_name: form.first_name.as_deref().unwrap_or_default(),
            last_name: form.last_name.as_deref().unwrap_or_default(),
            names: c.enable_names,
            names_required: c.names_is_required,
            attributes,
            error,
            sign_in_url: format!("/identity/v1/view/authorize?tx={tx_id}&locale={locale}"),
            captcha: captcha.clone(),
            nonce: &nonce,
        },
        Some(&nonce),
    );
    super::pages::allow_captcha(&mut response, captcha.as_ref(), &nonce);
    browser.set_csrf_cookie(state, &mut response);
    response
}

pub(super) async fn sign_up_page(page: TxPage) -> Response {
    let (state, browser, tx_id, tx, locale) = page.into_parts();
    if !signin::sign_up_open(&state, &tx) {
        let t = i18n::texts(&locale);
        return message(
            &state.config,
            &locale,
            StatusCode::BAD_REQUEST,
            t.error_title,
            &i18n::refusal(&locale, &SignInError::FeatureOff("Sign-up").into()),
        );
    }
    let form = SignUpForm::default();
    sign_up_view(&state, &browser, &tx_id, &tx, &locale, &form, None).await
}

pub(super) async fn sign_up_submit(post: PostedTx<SignUpForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    let shown = tx.clone();
    let input = SignUpInput {
        email: form.email.clone(),
        password: form.password.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        attributes: form.attributes(),
    };
    let token = form
        .extra
        .get(captcha::response_field(&state.config.captcha_provider));
    let checked = captcha::check(
        &state,
        CaptchaPage::SignUp,
        token.map(String::as_str),
        browser.ip.as_deref(),
    )
    .await;
    let result = match checked {
        Ok(()) => signin::sign_up(&state, &form.tx, tx, input, browser.meta()).await,
        Err(err) => Err(err),
    };
    answered(&state, (&form.tx, &locale), result, |refusal| {
        sign_up_view(
            &state,
            &browser,
            &form.tx,
            &shown,
            &locale,
            &form,
            Some(refusal),
        )
    })
    .await
}
