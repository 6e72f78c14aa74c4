//! The MFA pages of a sign-in: enrollment, TOTP setup and codes, email codes (also as a backup
//! for TOTP), and the `reset_mfa` policy.

use axum::extract::Query;
use axum::http::header;
use axum::response::Response;
use axum::routing::get;
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{MfaType, SignInError, Step};
use serde::Deserialize;

use super::browser::Browser;
use super::forms::{CodeForm, EnrollForm};
use super::lifecycle::{code_form_answer, form_after, form_page, owed_form_page, FormSpec};
use super::step::{
    answered, email_code_owed, refused_again, EmailCode, MfaEnroll, Otp, OtpMfa, OtpSetup,
    OwedPage, OwedPost, ResetMfa, StepPage,
};
use super::{i18n, page_error, refused_post, respond};
use crate::error::ServiceError;
use crate::services::mfa::{self, DEVICE_COOKIE};
use crate::services::signin::{Outcome, StepCall, Transaction};
use crate::state::AppState;

const ENROLL_PATH: &str = "/identity/v1/view/mfa-enroll";
const OTP_SETUP_PATH: &str = "/identity/v1/view/otp-setup";
const OTP_PATH: &str = "/identity/v1/view/otp-mfa";
pub(super) const EMAIL_PATH: &str = "/identity/v1/view/email-mfa";
const RESET_PATH: &str = "/identity/v1/view/reset-mfa";

/// The email page's query besides the transaction's.
#[derive(Debug, Deserialize)]
struct BackupQuery {
    /// `otp` or `sms`: the email code stands in for that factor.
    backup: Option<String>,
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(ENROLL_PATH, get(enroll_page).post(enroll_submit))
        .route(
            OTP_SETUP_PATH,
            get(otp_page_for::<OtpSetup>).post(otp_submit),
        )
        .route(OTP_PATH, get(otp_page_for::<OtpMfa>).post(otp_submit))
        .route(EMAIL_PATH, get(email_page).post(email_submit))
        .route(RESET_PATH, get(reset_page).post(reset_submit))
}

/// The outcome, with the remember-device cookie when one was made.
pub(super) fn finish(
    state: &AppState,
    tx_id: &str,
    locale: &str,
    outcome: Outcome,
    device: Option<String>,
) -> Response {
    let mut response = respond::outcome(&state.config, tx_id, locale, outcome);
    if let Some(value) = device {
        let max_age = Some(state.config.mfa_remember_device_expires_in);
        response.headers_mut().append(
            header::SET_COOKIE,
            crate::http::web::set_cookie(&state.config, DEVICE_COOKIE, &value, max_age),
        );
    }
    response
}

// --- Enrollment ---------------------------------------------------------------------------

async fn enroll_spec<'a>(
    state: &AppState,
    t: &'a i18n::Texts,
    tx: &Transaction,
    tx_id: &str,
) -> Result<FormSpec<'a>, ServiceError> {
    let app = state.clients.app(&tx.request.client_id).await?;
    let mut spec = FormSpec::new(t.mfa_enroll_title, t.mfa_enroll_intro, ENROLL_PATH, t.save);
    spec.hidden = vec![("tx", tx_id.to_owned())];
    spec.choices = mfa::enrollment_choices(state, app.as_deref(), tx.request.wants_two_factors)
        .into_iter()
        .map(|k| match k {
            MfaType::Otp => ("otp", t.mfa_otp),
            MfaType::Email => ("email", t.mfa_email),
            MfaType::Sms => ("sms", "SMS"),
        })
        .collect();
    Ok(spec)
}

/// The page a step's form is on, drawn again after `refusal` (or first, with none).
pub(super) async fn spec_page<'a, Fut>(
    (state, browser, locale): (&AppState, &Browser, &str),
    tx: &Transaction,
    spec: Fut,
    refusal: Option<super::step::Refusal>,
) -> Response
where
    Fut: std::future::Future<Output = Result<FormSpec<'a>, ServiceError>>,
{
    match spec.await {
        Ok(spec) => form_page(
            state,
            browser,
            locale,
            tx.branding.as_ref(),
            spec,
            refusal,
            None,
        ),
        Err(err) => page_error(state, locale, err),
    }
}

async fn enroll_page(page: OwedPage<MfaEnroll>) -> Response {
    let (state, browser, tx_id, tx, _, locale) = page.into_parts();
    let t = i18n::texts(&locale);
    let spec = enroll_spec(&state, t, &tx, &tx_id);
    spec_page((&state, &browser, &locale), &tx, spec, None).await
}

async fn enroll_submit(post: OwedPost<MfaEnroll, EnrollForm>) -> Response {
    let (state, browser, form, tx, at, locale) = post.into_parts();
    let kind = form.kind.as_deref().and_then(MfaType::parse);
    let shown = tx.clone();
    let result = mfa::enroll(
        StepCall::new(&state, &form.tx, tx, at, browser.meta()),
        kind,
    )
    .await;
    answered(&state, (&form.tx, &locale), result, |refusal| {
        let spec = enroll_spec(&state, i18n::texts(&locale), &shown, &form.tx);
        spec_page((&state, &browser, &locale), &shown, spec, Some(refusal))
    })
    .await
}

// --- TOTP ---------------------------------------------------------------------------------

async fn otp_spec<'a>(
    state: &AppState,
    t: &'a i18n::Texts,
    tx: &Transaction,
    tx_id: &str,
    setup: bool,
) -> Result<FormSpec<'a>, ServiceError> {
    let mut spec = if setup {
        let shown = mfa::otp_setup(state, tx).await?;
        let mut spec = FormSpec::new(
            t.otp_setup_title,
            t.otp_setup_intro,
            OTP_SETUP_PATH,
            t.verify_button,
        );
        spec.qr_svg = Some(shown.qr_svg);
        spec.secret = Some(shown.secret);
        spec
    } else {
        let mut spec = FormSpec::new(t.otp_title, t.otp_intro, OTP_PATH, t.verify_button);
        let app = state.clients.app(&tx.request.client_id).await?;
        if mfa::email_backup_allowed(state, app.as_deref()) {
            spec.alt_link = Some((
                t.use_email_instead,
                format!("{EMAIL_PATH}?tx={tx_id}&backup=otp&locale={}", t.lang),
            ));
        }
        spec
    };
    spec.hidden = vec![("tx", tx_id.to_owned())];
    spec.ask_code = true;
    spec.remember = state.config.enable_mfa_remember_device;
    Ok(spec)
}

async fn otp_page_for<P: StepPage>(page: OwedPage<P>) -> Response {
    let (state, browser, tx_id, tx, at, locale) = page.into_parts();
    let t = i18n::texts(&locale);
    let spec = otp_spec(&state, t, &tx, &tx_id, at.step() == Step::OtpSetup);
    spec_page((&state, &browser, &locale), &tx, spec, None).await
}

async fn otp_submit(post: OwedPost<Otp, CodeForm>) -> Response {
    let (state, browser, form, tx, at, locale) = post.into_parts();
    let (user_id, setup, shown) = (at.user().id, at.step() == Step::OtpSetup, tx.clone());
    match mfa::verify_otp(
        StepCall::new(&state, &form.tx, tx, at, browser.meta()),
        &form.code,
    )
    .await
    {
        Ok(outcome) => {
            verified(
                (&state, &browser, &locale),
                &form,
                (user_id, MfaType::Otp),
                outcome,
            )
            .await
        }
        Err(err) => {
            refused_again(&state, &locale, err, |refusal| {
                let spec = otp_spec(&state, i18n::texts(&locale), &shown, &form.tx, setup);
                spec_page((&state, &browser, &locale), &shown, spec, Some(refusal))
            })
            .await
        }
    }
}

/// A second factor proven: on to the outcome, remembering the device when the form asked.
pub(super) async fn verified(
    (state, browser, locale): (&AppState, &Browser, &str),
    form: &CodeForm,
    (user_id, kind): (UserId, MfaType),
    outcome: Outcome,
) -> Response {
    let device = remember_if_asked(state, browser, form, user_id, kind).await;
    finish(state, &form.tx, locale, outcome, device)
}

async fn remember_if_asked(
    state: &AppState,
    browser: &Browser,
    form: &CodeForm,
    user_id: UserId,
    kind: MfaType,
) -> Option<String> {
    if !state.config.enable_mfa_remember_device || form.remember.is_none() {
        return None;
    }
    match mfa::remember(state, user_id, kind, browser.device.as_deref()).await {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!(code = err.internal_code(), error = %err, "could not remember the device");
            None
        }
    }
}

// --- Email codes --------------------------------------------------------------------------

/// The factor an email code stands in for (`backup=otp|sms`).
fn backup_of(value: Option<&str>) -> Option<MfaType> {
    match value {
        Some("otp") => Some(MfaType::Otp),
        Some("sms") => Some(MfaType::Sms),
        _ => None,
    }
}

fn email_spec<'a>(
    state: &AppState,
    t: &'a i18n::Texts,
    tx_id: &str,
    backup: Option<MfaType>,
) -> FormSpec<'a> {
    let mut spec = FormSpec::new(
        t.email_mfa_title,
        t.email_mfa_intro,
        EMAIL_PATH,
        t.verify_button,
    );
    let mut hidden = vec![("tx", tx_id.to_owned())];
    match backup {
        Some(MfaType::Otp) => hidden.push(("backup", "otp".to_owned())),
        Some(MfaType::Sms) => hidden.push(("backup", "sms".to_owned())),
        _ => {}
    }
    let mut resend = hidden.clone();
    resend.push(("stage", "resend".to_owned()));
    spec.hidden = hidden;
    spec.resend = Some(resend);
    spec.ask_code = true;
    spec.remember = state.config.enable_mfa_remember_device;
    spec
}

/// The step an email code answers: the factor it stands in for (`backup`), else the email step.
fn email_code_step(backup: Option<MfaType>) -> Step {
    match backup {
        Some(MfaType::Otp) => Step::OtpMfa,
        Some(MfaType::Sms) => Step::SmsMfa,
        _ => Step::EmailMfa,
    }
}

async fn email_page(page: OwedPage<EmailCode>, Query(q): Query<BackupQuery>) -> Response {
    let (state, browser, tx_id, tx, at, locale) = page.into_parts();
    let backup = backup_of(q.backup.as_deref());
    let owed = at.step() == email_code_step(backup) && email_code_owed(&state, &tx, &at).await;
    if !owed {
        return refused_post(&state, SignInError::WrongStep.into());
    }
    let t = i18n::texts(&locale);
    // The first visit sends the code; reloads do not send another.
    let sent = match mfa::email_code_pending(&state, &tx_id, &tx).await {
        Ok(true) => Ok(()),
        Ok(false) => mfa::send_email_code(&state, &tx_id, &tx, browser.meta()).await,
        Err(err) => return page_error(&state, &locale, err),
    };
    let spec = email_spec(&state, t, &tx_id, backup);
    form_after(
        (&state, &browser, &locale),
        tx.branding.as_ref(),
        spec,
        sent,
    )
}

async fn email_submit(post: OwedPost<EmailCode, CodeForm>) -> Response {
    let (state, browser, form, tx, at, locale) = post.into_parts();
    let backup = backup_of(form.backup.as_deref());
    // Whether the app allows the backup is the service's to say: it refuses within the form.
    if at.step() != email_code_step(backup) {
        return refused_post(&state, SignInError::WrongStep.into());
    }
    let t = i18n::texts(&locale);
    let user_id = at.user().id;
    let branding = tx.branding.clone();
    let spec = email_spec(&state, t, &form.tx, backup);
    let meta = browser.meta();
    let result = if form.stage == "resend" {
        mfa::send_email_code(&state, &form.tx, &tx, meta)
            .await
            .map(|()| None)
    } else {
        mfa::verify_email_code(StepCall::new(&state, &form.tx, tx, at, meta), &form.code)
            .await
            .map(Some)
    };
    let page = (&state, &browser, locale.as_str());
    match result {
        Ok(Some(outcome)) => {
            let kind = backup.unwrap_or(MfaType::Email);
            verified(page, &form, (user_id, kind), outcome).await
        }
        other => code_form_answer(page, (&form.tx, branding.as_ref()), spec, other),
    }
}

// --- reset_mfa policy ---------------------------------------------------------------------

fn reset_spec<'a>(t: &'a i18n::Texts, tx_id: &str) -> FormSpec<'a> {
    let mut spec = FormSpec::new(
        t.reset_mfa_title,
        t.reset_mfa_intro,
        RESET_PATH,
        t.reset_mfa_button,
    );
    spec.hidden = vec![("tx", tx_id.to_owned())];
    spec
}

async fn reset_page(page: OwedPage<ResetMfa>) -> Response {
    let t = i18n::texts(&page.locale);
    owed_form_page(&page, reset_spec(t, &page.tx_id))
}

async fn reset_submit(post: OwedPost<ResetMfa>) -> Response {
    if let Err(err) = mfa::reset_own_mfa(&post.state, post.at.user().id).await {
        return page_error(&post.state, &post.locale, err);
    }
    post.complete().await
}
