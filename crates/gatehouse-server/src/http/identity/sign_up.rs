//! The sign-up page: email, password, names and custom attributes.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use gatehouse_core::signin::SignInError;

use super::browser::Browser;
use super::pages::{message, render, Chrome};
use super::pages::{AttributeField, SignUpPage};
use super::{
    form_error, i18n, page_error, page_locale, posted_transaction, refused_post, respond,
    transaction, PageQuery, StepForm,
};
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
    form: &StepForm,
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
    form: &StepForm,
    error: Option<(StatusCode, String)>,
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

pub(super) async fn sign_up_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<PageQuery>,
) -> Response {
    let fallback = q.locale.clone().unwrap_or_else(|| "en".into());
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) => tx,
        Err(err) => return page_error(&state, &fallback, err),
    };
    let locale = page_locale(&state, q.locale.as_deref(), &tx);
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
    sign_up_view(
        &state,
        &browser,
        q.tx.as_deref().unwrap_or_default(),
        &tx,
        &locale,
        &StepForm::default(),
        None,
    )
    .await
}

pub(super) async fn sign_up_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) => tx,
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let shown = tx.clone();
    let input = SignUpInput {
        email: form.email.clone(),
        password: form.password.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        attributes: form.attributes(),
    };
    let token = form
        .rest
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
    match result {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => {
                sign_up_view(
                    &state,
                    &browser,
                    &form.tx,
                    &shown,
                    &locale,
                    &form,
                    Some(error),
                )
                .await
            }
            Err(page) => *page,
        },
    }
}
