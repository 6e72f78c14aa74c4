//! Recovery codes: the enrollment step that shows a new set once, the `manage_recovery_code`
//! policy that replaces it, and the sign-in with one code (a strong first factor).

use axum::response::Response;
use axum::routing::get;
use gatehouse_core::signin::{SignInError, Step};

use super::forms::RecoveryForm;
use super::lifecycle::{form_page, FormSpec};
use super::step::{
    answered, ManageRecoveryCode, OwedPage, OwedPost, PostedTx, RecoveryCodeEnroll, StepPage,
    TxPage,
};
use super::{i18n, page_error, refused_post, sign_in_url};
use crate::services::mfa;
use crate::services::signin::{self, TxCall};
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
    let (state, browser, tx_id, mut tx, at, locale) = page.into_parts();
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
    let branding = tx.branding.as_ref();
    form_page(&state, &browser, &locale, branding, spec, None, None)
}

async fn codes_submit<P: StepPage>(mut post: OwedPost<P>) -> Response {
    // Confirming codes that were never shown confirms nothing.
    let Some(codes) = post.tx.recovery_codes.take() else {
        return refused_post(&post.state, SignInError::WrongStep.into());
    };
    // The codes work from the moment the user says they are saved.
    if let Err(err) = mfa::store_recovery_codes(&post.state, post.at.user().id, &codes).await {
        return page_error(&post.state, &post.locale, err);
    }
    post.complete().await
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
    spec.back_url = Some(sign_in_url(tx_id, t.lang));
    spec
}

async fn recovery_sign_in_page(page: TxPage) -> Response {
    let (state, browser, tx_id, tx, locale) = page.into_parts();
    if !mfa::recovery_codes_on(&state) {
        return refused_post(&state, SignInError::FeatureOff("Recovery codes").into());
    }
    let spec = recovery_sign_in_spec(i18n::texts(&locale), &tx_id, "");
    let branding = tx.branding.as_ref();
    form_page(&state, &browser, &locale, branding, spec, None, None)
}

async fn recovery_sign_in_submit(post: PostedTx<RecoveryForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    let branding = tx.branding.clone();
    let (tx_id, email, meta) = (&form.tx, &form.email, browser.meta());
    let result = mfa::sign_in_with_recovery_code(
        TxCall::new(&state, tx_id, tx, meta),
        email,
        &form.recovery_code,
    )
    .await;
    answered(&state, (tx_id, &locale), result, |refusal| async {
        let spec = recovery_sign_in_spec(i18n::texts(&locale), tx_id, email);
        let branding = branding.as_ref();
        form_page(
            &state,
            &browser,
            &locale,
            branding,
            spec,
            Some(refusal),
            None,
        )
    })
    .await
}
