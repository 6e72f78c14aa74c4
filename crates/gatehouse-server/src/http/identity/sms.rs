//! The SMS step: the number to set up (E.164), then the texted code; email may stand in.

use axum::response::Response;
use axum::routing::get;
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::MfaType;

use super::browser::Browser;
use super::forms::CodeForm;
use super::lifecycle::{form_after, FormSpec};
use super::mfa::{spec_page, verified, EMAIL_PATH};
use super::step::{refused_again, OwedPage, OwedPost, Refusal, SmsMfa};
use super::{i18n, page_error};
use crate::error::ServiceError;
use crate::services::mfa;
use crate::services::signin::{StepCall, Transaction};
use crate::state::AppState;

const SMS_PATH: &str = "/identity/v1/view/sms-mfa";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(SMS_PATH, get(sms_page).post(sms_submit))
}

/// The SMS page: the number to set up, or the code sent to the number on file.
async fn sms_spec<'a>(
    state: &AppState,
    t: &'a i18n::Texts,
    tx: &Transaction,
    (tx_id, user_id): (&str, UserId),
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
    let intro = match mfa::texted_phone(state, user_id).await? {
        Some((masked, _)) if !setup => format!("{} {masked}", t.sms_intro),
        _ => String::new(),
    };
    Ok((spec, intro))
}

async fn sms_page(page: OwedPage<SmsMfa>) -> Response {
    let (state, browser, tx_id, tx, at, locale) = page.into_parts();
    let t = i18n::texts(&locale);
    let verified = match mfa::verified_phone(&state, at.user().id).await {
        Ok(phone) => phone.is_some(),
        Err(err) => return page_error(&state, &locale, err),
    };
    // The first visit texts the code to a verified number; reloads do not send another.
    let sent = match verified {
        true => match mfa::sms_code_pending(&state, &tx_id, &tx).await {
            Ok(true) => Ok(()),
            Ok(false) => mfa::send_sms_code(&state, &tx_id, &tx, browser.meta()).await,
            Err(err) => return page_error(&state, &locale, err),
        },
        false => Ok(()),
    };
    let (mut spec, intro) = match sms_spec(&state, t, &tx, (&tx_id, at.user().id), !verified).await
    {
        Ok(shown) => shown,
        Err(err) => return page_error(&state, &locale, err),
    };
    if !intro.is_empty() {
        spec.intro = &intro;
    }
    form_after(
        (&state, &browser, &locale),
        tx.branding.as_ref(),
        spec,
        sent,
    )
}

async fn sms_submit(post: OwedPost<SmsMfa, CodeForm>) -> Response {
    let (state, browser, form, tx, at, locale) = post.into_parts();
    let user_id = at.user().id;
    let page = (&state, &browser, locale.as_str());
    let meta = browser.meta();
    let sent = match form.stage.as_str() {
        "setup" => mfa::setup_sms(&state, &form.tx, &tx, &form.phone_number, meta).await,
        "resend" => mfa::send_sms_code(&state, &form.tx, &tx, meta).await,
        _ => {
            let verified_code = mfa::verify_sms_code(
                StepCall::new(&state, &form.tx, tx.clone(), at, meta),
                &form.code,
            )
            .await;
            return match verified_code {
                Ok(outcome) => verified(page, &form, (user_id, MfaType::Sms), outcome).await,
                Err(err) => {
                    refused_again(&state, &locale, err, |refusal| {
                        code_page(page, &tx, (&form.tx, user_id), Some(refusal))
                    })
                    .await
                }
            };
        }
    };
    match sent {
        Ok(()) => code_page(page, &tx, (&form.tx, user_id), None).await,
        // A number that could not be set up is asked for again.
        Err(err) if form.stage == "setup" => {
            refused_again(&state, &locale, err, |refusal| {
                let t = i18n::texts(&locale);
                let spec = async {
                    sms_spec(&state, t, &tx, (&form.tx, user_id), true)
                        .await
                        .map(|(s, _)| s)
                };
                spec_page(page, &tx, spec, Some(refusal))
            })
            .await
        }
        Err(err) => {
            refused_again(&state, &locale, err, |refusal| {
                code_page(page, &tx, (&form.tx, user_id), Some(refusal))
            })
            .await
        }
    }
}

/// The SMS code form (after a setup or a resend, or with a refusal), naming the number texted.
async fn code_page(
    page: (&AppState, &Browser, &str),
    tx: &Transaction,
    (tx_id, user_id): (&str, UserId),
    refusal: Option<Refusal>,
) -> Response {
    let t = i18n::texts(page.2);
    let (mut spec, intro) = match sms_spec(page.0, t, tx, (tx_id, user_id), false).await {
        Ok(shown) => shown,
        Err(err) => return page_error(page.0, page.2, err),
    };
    if !intro.is_empty() {
        spec.intro = &intro;
    }
    spec_page(page, tx, async { Ok(spec) }, refusal).await
}
