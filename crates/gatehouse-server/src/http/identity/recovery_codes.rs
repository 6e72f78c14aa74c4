//! Recovery codes: the enrollment step that shows a new set once, the `manage_recovery_code`
//! policy that replaces it, and the sign-in with one code (a strong first factor).

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Form;
use gatehouse_core::signin::{SignInError, Step};

use super::browser::Browser;
use super::lifecycle::{form_page, FormSpec};
use super::mfa::{fallback, MfaQuery};
use super::step::{ManageRecoveryCode, OwedPage, OwedPost, RecoveryCodeEnroll, StepPage};
use super::{
    form_error, i18n, page_error, page_locale, posted_transaction, refused_post, respond,
    transaction, StepForm,
};
use crate::services::mfa;
use crate::services::signin;
use crate::state::AppState;

const RECOVERY_ENROLL_PATH: &str = "/identity/v1/view/recovery-code-enroll";
const RECOVERY_MANAGE_PATH: &str = "/identity/v1/view/manage-recovery-code";
const RECOVERY_SIGN_IN_PATH: &str = "/identity/v1/view/recovery-code";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            RECOVERY_ENROLL_PATH,
            get(codes_page::<RecoveryCodeEnroll>).post(codes_submit::<RecoveryCodeEnroll>),
        )
        .route(
            RECOVERY_MANAGE_PATH,
            get(codes_page::<ManageRecoveryCode>).post(codes_submit::<ManageRecoveryCode>),
        )
        .route(
            RECOVERY_SIGN_IN_PATH,
            get(recovery_sign_in_page).post(recovery_sign_in_submit),
        )
}

async fn codes_page<P: StepPage>(page: OwedPage<P>) -> Response {
    let OwedPage {
        state,
        browser,
        tx_id,
        mut tx,
        at,
        locale,
        ..
    } = page;
    let t = i18n::texts(&locale);
    // Issued once per transaction: a reload shows the same set.
    let codes = match tx.recovery_codes.clone() {
        Some(codes) => codes,
        None => {
            let codes = mfa::new_recovery_codes();
            tx.recovery_codes = Some(codes.clone());
            if let Err(err) = signin::save(&state, &tx_id, &tx).await {
                return page_error(&state, &locale, err);
            }
            codes
        }
    };
    let action = if at.step() == Step::ManageRecoveryCode {
        RECOVERY_MANAGE_PATH
    } else {
        RECOVERY_ENROLL_PATH
    };
    let mut spec = FormSpec::new(
        t.recovery_codes_title,
        t.recovery_codes_intro,
        action,
        t.saved_codes,
    );
    spec.hidden = vec![("tx", tx_id)];
    spec.codes = codes;
    form_page(
        &state,
        &browser,
        &locale,
        tx.branding.as_ref(),
        spec,
        None,
        None,
    )
}

async fn codes_submit<P: StepPage>(post: OwedPost<P>) -> Response {
    let OwedPost {
        state,
        browser,
        form,
        mut tx,
        at,
        locale,
        ..
    } = post;
    // Confirming codes that were never shown confirms nothing.
    let Some(codes) = tx.recovery_codes.take() else {
        return refused_post(&state, SignInError::WrongStep.into());
    };
    // The codes work from the moment the user says they are saved.
    if let Err(err) = mfa::store_recovery_codes(&state, at.user().id, &codes).await {
        return page_error(&state, &locale, err);
    }
    match signin::complete_step(&state, &form.tx, tx, at, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => refused_post(&state, err),
    }
}

fn recovery_sign_in_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &'a str) -> FormSpec<'a> {
    let mut spec = FormSpec::new(
        t.recovery_sign_in_title,
        t.recovery_sign_in_intro,
        RECOVERY_SIGN_IN_PATH,
        t.submit_sign_in,
    );
    spec.hidden = vec![("tx", tx_id.to_owned())];
    spec.ask_email = Some(email);
    spec.email_label = t.email;
    spec.ask_recovery = true;
    spec.back_url = Some(format!(
        "/identity/v1/view/authorize?tx={tx_id}&locale={}",
        t.lang
    ));
    spec
}

async fn recovery_sign_in_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<MfaQuery>,
) -> Response {
    let locale = fallback(&state, q.locale.as_deref());
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) => tx,
        Err(err) => return page_error(&state, &locale, err),
    };
    let locale = page_locale(&state, q.locale.as_deref(), &tx);
    let t = i18n::texts(&locale);
    if !mfa::recovery_codes_on(&state) {
        return refused_post(&state, SignInError::FeatureOff("Recovery codes").into());
    }
    let tx_id = q.tx.unwrap_or_default();
    let spec = recovery_sign_in_spec(t, &tx_id, "");
    form_page(
        &state,
        &browser,
        &locale,
        tx.branding.as_ref(),
        spec,
        None,
        None,
    )
}

async fn recovery_sign_in_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) => tx,
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let branding = tx.branding.clone();
    let code = form.rest.get("recovery_code").cloned().unwrap_or_default();
    match mfa::sign_in_with_recovery_code(&state, &form.tx, tx, &form.email, &code, browser.meta())
        .await
    {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => {
                let t = i18n::texts(&locale);
                let spec = recovery_sign_in_spec(t, &form.tx, &form.email);
                form_page(
                    &state,
                    &browser,
                    &locale,
                    branding.as_ref(),
                    spec,
                    Some(error),
                    None,
                )
            }
            Err(page) => *page,
        },
    }
}
