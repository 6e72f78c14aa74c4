//! The MFA pages of a sign-in: enrollment, TOTP setup and codes, email codes (also as a backup
//! for TOTP), and the `reset_mfa` policy.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::get;
use axum::Form;
use gatehouse_core::signin::{MfaType, SignInError, Step};
use serde::Deserialize;

use super::browser::Browser;
use super::lifecycle::{form_or_refusal, form_page, FormSpec};
use super::step::{MfaEnroll, Otp, OtpMfa, OtpSetup, OwedPage, OwedPost, ResetMfa, StepPage};
use super::{
    at_step, form_error, i18n, load_error, page_error, page_locale, posted_at_step, refused_post,
    respond, transaction, StepForm,
};
use crate::error::ServiceError;
use crate::services::mfa::{self, DEVICE_COOKIE};
use crate::services::signin::{self, Outcome, Transaction};
use crate::state::AppState;

const ENROLL_PATH: &str = "/identity/v1/view/mfa-enroll";
const OTP_SETUP_PATH: &str = "/identity/v1/view/otp-setup";
const OTP_PATH: &str = "/identity/v1/view/otp-mfa";
pub(super) const EMAIL_PATH: &str = "/identity/v1/view/email-mfa";
const RESET_PATH: &str = "/identity/v1/view/reset-mfa";

#[derive(Debug, Deserialize)]
pub(super) struct MfaQuery {
    pub(super) tx: Option<String>,
    pub(super) locale: Option<String>,
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

pub(super) fn fallback(state: &AppState, locale: Option<&str>) -> String {
    gatehouse_core::authorize::pick_locale(locale, &state.config.supported_locales)
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
    spec.choices = mfa::enrollment_choices(state, app.as_deref())
        .into_iter()
        .map(|k| match k {
            MfaType::Otp => ("otp", t.mfa_otp),
            MfaType::Email => ("email", t.mfa_email),
            MfaType::Sms => ("sms", "SMS"),
        })
        .collect();
    Ok(spec)
}

async fn enroll_page(page: OwedPage<MfaEnroll>) -> Response {
    let OwedPage {
        state,
        browser,
        tx_id,
        tx,
        locale,
        ..
    } = page;
    let t = i18n::texts(&locale);
    match enroll_spec(&state, t, &tx, &tx_id).await {
        Ok(spec) => form_page(
            &state,
            &browser,
            &locale,
            tx.branding.as_ref(),
            spec,
            None,
            None,
        ),
        Err(err) => page_error(&state, &locale, err),
    }
}

async fn enroll_submit(post: OwedPost<MfaEnroll>) -> Response {
    let OwedPost {
        state,
        browser,
        form,
        tx,
        at,
        locale,
        ..
    } = post;
    let kind = form.rest.get("type").and_then(|t| MfaType::parse(t));
    let shown = tx.clone();
    match mfa::enroll(&state, &form.tx, tx, at, kind, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => {
                let t = i18n::texts(&locale);
                match enroll_spec(&state, t, &shown, &form.tx).await {
                    Ok(spec) => form_page(
                        &state,
                        &browser,
                        &locale,
                        shown.branding.as_ref(),
                        spec,
                        Some(error),
                        None,
                    ),
                    Err(err) => page_error(&state, &locale, err),
                }
            }
            Err(page) => *page,
        },
    }
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
    let OwedPage {
        state,
        browser,
        tx_id,
        tx,
        at,
        locale,
        ..
    } = page;
    let t = i18n::texts(&locale);
    match otp_spec(&state, t, &tx, &tx_id, at.step() == Step::OtpSetup).await {
        Ok(spec) => form_page(
            &state,
            &browser,
            &locale,
            tx.branding.as_ref(),
            spec,
            None,
            None,
        ),
        Err(err) => page_error(&state, &locale, err),
    }
}

async fn otp_submit(post: OwedPost<Otp>) -> Response {
    let OwedPost {
        state,
        browser,
        form,
        tx,
        at,
        locale,
        ..
    } = post;
    let user_id = at.user().id;
    let shown = tx.clone();
    let setup = at.step() == Step::OtpSetup;
    match mfa::verify_otp(&state, &form.tx, tx, at, &form.code, browser.meta()).await {
        Ok(outcome) => {
            let device = remember_if_asked(&state, &browser, &form, user_id, MfaType::Otp).await;
            finish(&state, &form.tx, &locale, outcome, device)
        }
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => {
                let t = i18n::texts(&locale);
                match otp_spec(&state, t, &shown, &form.tx, setup).await {
                    Ok(spec) => form_page(
                        &state,
                        &browser,
                        &locale,
                        shown.branding.as_ref(),
                        spec,
                        Some(error),
                        None,
                    ),
                    Err(err) => page_error(&state, &locale, err),
                }
            }
            Err(page) => *page,
        },
    }
}

pub(super) async fn remember_if_asked(
    state: &AppState,
    browser: &Browser,
    form: &StepForm,
    user_id: i64,
    kind: MfaType,
) -> Option<String> {
    if !state.config.enable_mfa_remember_device || !form.rest.contains_key("remember") {
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

fn email_steps(backup: Option<MfaType>) -> &'static [Step] {
    match backup {
        Some(MfaType::Otp) => &[Step::OtpMfa],
        Some(MfaType::Sms) => &[Step::SmsMfa],
        _ => &[Step::EmailMfa],
    }
}

async fn email_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<MfaQuery>,
) -> Response {
    let locale = fallback(&state, q.locale.as_deref());
    let backup = backup_of(q.backup.as_deref());
    if backup.is_some() {
        let tx = transaction(&state, &browser, q.tx.as_deref()).await;
        let app = match &tx {
            Ok(tx) => state
                .clients
                .app(&tx.request.client_id)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        if !mfa::email_backup_allowed(&state, app.as_deref()) {
            return refused_post(&state, SignInError::WrongStep.into());
        }
    }
    let tx = match at_step(&state, &browser, q.tx.as_deref(), email_steps(backup)).await {
        Ok((tx, _)) => tx,
        Err(err) => return load_error(&state, &locale, err),
    };
    let locale = page_locale(&state, q.locale.as_deref(), &tx);
    let t = i18n::texts(&locale);
    let tx_id = q.tx.unwrap_or_default();
    // The first visit sends the code; reloads do not send another.
    let error = match mfa::email_code_pending(&state, &tx_id, &tx).await {
        Ok(true) => None,
        Ok(false) => match mfa::send_email_code(&state, &tx_id, &tx, browser.meta()).await {
            Ok(()) => None,
            Err(err) => match form_error(&state, &locale, err) {
                Ok(error) => Some(error),
                Err(page) => return *page,
            },
        },
        Err(err) => return page_error(&state, &locale, err),
    };
    let spec = email_spec(&state, t, &tx_id, backup);
    form_page(
        &state,
        &browser,
        &locale,
        tx.branding.as_ref(),
        spec,
        error,
        None,
    )
}

async fn email_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let backup = backup_of(form.rest.get("backup").map(String::as_str));
    let (tx, at) = match posted_at_step(&state, &browser, &form, email_steps(backup)).await {
        Ok(found) => found,
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let user_id = at.user().id;
    let branding = tx.branding.clone();
    let spec = || email_spec(&state, t, &form.tx, backup);
    if form.stage == "resend" {
        return match mfa::send_email_code(&state, &form.tx, &tx, browser.meta()).await {
            Ok(()) => form_page(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                spec(),
                None,
                Some(t.code_resent),
            ),
            Err(err) => form_or_refusal(&state, &browser, &locale, branding.as_ref(), spec(), err),
        };
    }
    match mfa::verify_email_code(&state, &form.tx, tx, at, &form.code, browser.meta()).await {
        Ok(outcome) => {
            let device = remember_if_asked(
                &state,
                &browser,
                &form,
                user_id,
                backup.unwrap_or(MfaType::Email),
            )
            .await;
            finish(&state, &form.tx, &locale, outcome, device)
        }
        Err(err) => form_or_refusal(&state, &browser, &locale, branding.as_ref(), spec(), err),
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
    form_page(
        &page.state,
        &page.browser,
        &page.locale,
        page.tx.branding.as_ref(),
        reset_spec(t, &page.tx_id),
        None,
        None,
    )
}

async fn reset_submit(post: OwedPost<ResetMfa>) -> Response {
    let OwedPost {
        state,
        browser,
        form,
        tx,
        at,
        locale,
        ..
    } = post;
    let user_id = at.user().id;
    if let Err(err) = mfa::reset_own_mfa(&state, user_id).await {
        return page_error(&state, &locale, err);
    }
    match signin::complete_step(&state, &form.tx, tx, at, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => refused_post(&state, err),
    }
}
