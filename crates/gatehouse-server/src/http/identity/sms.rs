//! The SMS step: the number to set up (E.164), then the texted code; email may stand in.

use axum::response::Response;
use axum::routing::get;
use gatehouse_core::signin::MfaType;

use super::browser::Browser;
use super::lifecycle::{form_page, FormSpec};
use super::mfa::{finish, remember_if_asked, EMAIL_PATH};
use super::step::{OwedPage, OwedPost, SmsMfa};
use super::{form_error, i18n, page_error};
use crate::error::ServiceError;
use crate::services::mfa;
use crate::services::signin::{self, Transaction};
use crate::state::AppState;

const SMS_PATH: &str = "/identity/v1/view/sms-mfa";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(SMS_PATH, get(sms_page).post(sms_submit))
}

/// The SMS page: the number to set up, or the code sent to the verified one.
async fn sms_spec<'a>(
    state: &AppState,
    t: &'a i18n::Texts,
    tx: &Transaction,
    tx_id: &str,
    setup: bool,
) -> Result<(FormSpec<'a>, String), ServiceError> {
    let app = state.clients.app(&tx.request.client_id).await?;
    let mut spec = if setup {
        let mut spec = FormSpec::new(t.sms_setup_title, t.sms_setup_intro, SMS_PATH, t.send_code);
        spec.ask_phone = true;
        spec.hidden = vec![("tx", tx_id.to_owned()), ("stage", "setup".to_owned())];
        spec
    } else {
        let mut spec = FormSpec::new(t.sms_title, "", SMS_PATH, t.verify_button);
        spec.ask_code = true;
        spec.hidden = vec![("tx", tx_id.to_owned())];
        spec.resend = Some(vec![
            ("tx", tx_id.to_owned()),
            ("stage", "resend".to_owned()),
        ]);
        spec.remember = state.config.enable_mfa_remember_device;
        spec
    };
    if mfa::email_backup_allowed(state, app.as_deref()) {
        spec.alt_link = Some((
            t.use_email_instead,
            format!("{EMAIL_PATH}?tx={tx_id}&backup=sms&locale={}", t.lang),
        ));
    }
    let user_id = tx.user().map_or(0, |u| u.id);
    let intro = match mfa::verified_phone(state, user_id).await? {
        Some(masked) if !setup => format!("{} {masked}", t.sms_intro),
        _ => String::new(),
    };
    Ok((spec, intro))
}

async fn sms_page(page: OwedPage<SmsMfa>) -> Response {
    let OwedPage {
        state,
        browser,
        tx_id,
        tx,
        locale,
        ..
    } = page;
    let t = i18n::texts(&locale);
    let user_id = tx.user().map_or(0, |u| u.id);
    let verified = match mfa::verified_phone(&state, user_id).await {
        Ok(phone) => phone.is_some(),
        Err(err) => return page_error(&state, &locale, err),
    };
    let mut error = None;
    if verified {
        match mfa::sms_code_pending(&state, &tx_id, &tx).await {
            Ok(true) => {}
            Ok(false) => {
                if let Err(err) = mfa::send_sms_code(&state, &tx_id, &tx, browser.meta()).await {
                    match form_error(&state, &locale, err) {
                        Ok(e) => error = Some(e),
                        Err(page) => return *page,
                    }
                }
            }
            Err(err) => return page_error(&state, &locale, err),
        }
    }
    match sms_spec(&state, t, &tx, &tx_id, !verified).await {
        Ok((spec, intro)) => {
            let mut spec: FormSpec<'_> = spec;
            if !intro.is_empty() {
                spec.intro = &intro;
            }
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
        Err(err) => page_error(&state, &locale, err),
    }
}

async fn sms_submit(post: OwedPost<SmsMfa>) -> Response {
    let OwedPost {
        state,
        browser,
        form,
        tx,
        at,
        locale,
        ..
    } = post;
    let t = i18n::texts(&locale);
    let user_id = at.user().id;
    let branding = tx.branding.clone();
    let meta = browser.meta();
    let (result, setup_failed) = match form.stage.as_str() {
        "setup" => {
            let number = form.rest.get("phone_number").cloned().unwrap_or_default();
            (
                mfa::setup_sms(&state, &form.tx, &tx, &number, meta)
                    .await
                    .map(|()| None),
                true,
            )
        }
        "resend" => (
            mfa::send_sms_code(&state, &form.tx, &tx, meta)
                .await
                .map(|()| None),
            false,
        ),
        _ => (
            mfa::verify_sms_code(&state, &form.tx, tx.clone(), at, &form.code, meta)
                .await
                .map(Some),
            false,
        ),
    };
    match result {
        Ok(Some(outcome)) => {
            let device = remember_if_asked(&state, &browser, &form, user_id, MfaType::Sms).await;
            finish(&state, &form.tx, &locale, outcome, device)
        }
        Ok(None) => {
            code_page(
                &state,
                &browser,
                &locale,
                &tx,
                &form.tx,
                t,
                None,
                branding.as_ref(),
            )
            .await
        }
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) if setup_failed => match sms_spec(&state, t, &tx, &form.tx, true).await {
                Ok((spec, _)) => form_page(
                    &state,
                    &browser,
                    &locale,
                    branding.as_ref(),
                    spec,
                    Some(error),
                    None,
                ),
                Err(err) => page_error(&state, &locale, err),
            },
            Ok(error) => {
                code_page(
                    &state,
                    &browser,
                    &locale,
                    &tx,
                    &form.tx,
                    t,
                    Some(error),
                    branding.as_ref(),
                )
                .await
            }
            Err(page) => *page,
        },
    }
}

/// The SMS code form (after a setup or a resend, or with an error).
#[allow(clippy::too_many_arguments)]
async fn code_page(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    tx: &Transaction,
    tx_id: &str,
    t: &i18n::Texts,
    error: Option<(axum::http::StatusCode, String)>,
    branding: Option<&signin::Branding>,
) -> Response {
    match sms_spec(state, t, tx, tx_id, false).await {
        Ok((mut spec, _)) => {
            spec.intro = t.sms_setup_intro;
            form_page(state, browser, locale, branding, spec, error, None)
        }
        Err(err) => page_error(state, locale, err),
    }
}
