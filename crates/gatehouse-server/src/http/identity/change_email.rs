//! The `change_email` policy: a code sent to the new address proves it before the change.

use axum::response::Response;
use axum::routing::get;

use super::lifecycle::{form_or_refusal, form_page, FormSpec};
use super::step::{ChangeEmail, OwedPage, OwedPost};
use super::{i18n, refused_post, respond};
use crate::services::{lifecycle, signin};
use crate::state::AppState;

const CHANGE_EMAIL_PATH: &str = "/identity/v1/view/change-email";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        CHANGE_EMAIL_PATH,
        get(change_email_page).post(change_email_submit),
    )
}

fn change_email_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &'a str) -> FormSpec<'a> {
    FormSpec {
        captcha: None,
        codes: Vec::new(),
        ask_recovery: false,
        ask_phone: false,
        qr_svg: None,
        secret: None,
        choices: Vec::new(),
        remember: false,
        alt_link: None,
        title: t.change_email_title,
        intro: "",
        action: CHANGE_EMAIL_PATH,
        hidden: vec![("tx", tx_id.to_owned()), ("stage", "send".into())],
        ask_email: Some(email),
        email_label: t.new_email,
        ask_code: false,
        ask_password: false,
        submit: t.send_code,
        resend: None,
        back_url: None,
    }
}

fn change_email_code_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &str) -> FormSpec<'a> {
    let fields = |stage: &str| {
        vec![
            ("tx", tx_id.to_owned()),
            ("stage", stage.to_owned()),
            ("email", email.to_owned()),
        ]
    };
    FormSpec {
        captcha: None,
        codes: Vec::new(),
        ask_recovery: false,
        ask_phone: false,
        qr_svg: None,
        secret: None,
        choices: Vec::new(),
        remember: false,
        alt_link: None,
        title: t.change_email_title,
        intro: t.change_email_code_intro,
        action: CHANGE_EMAIL_PATH,
        hidden: fields("confirm"),
        ask_email: None,
        email_label: t.new_email,
        ask_code: true,
        ask_password: false,
        submit: t.confirm,
        resend: Some(fields("send")),
        back_url: None,
    }
}

async fn change_email_page(page: OwedPage<ChangeEmail>) -> Response {
    let t = i18n::texts(&page.locale);
    form_page(
        &page.state,
        &page.browser,
        &page.locale,
        page.tx.branding.as_ref(),
        change_email_spec(t, &page.tx_id, ""),
        None,
        None,
    )
}

async fn change_email_submit(post: OwedPost<ChangeEmail>) -> Response {
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
    let email = form.email.trim().to_owned();
    if form.stage == "confirm" {
        let ip = browser.ip.as_deref();
        if let Err(err) = lifecycle::change_email(&state, user_id, &email, &form.code, ip).await {
            return form_or_refusal(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                change_email_code_spec(t, &form.tx, &email),
                err,
            );
        }
        return match signin::complete_step(&state, &form.tx, tx, at, browser.meta()).await {
            Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
            Err(err) => refused_post(&state, err),
        };
    }
    match lifecycle::send_change_email_code(&state, user_id, &email, &locale).await {
        Ok(()) => form_page(
            &state,
            &browser,
            &locale,
            branding.as_ref(),
            change_email_code_spec(t, &form.tx, &email),
            None,
            None,
        ),
        Err(err) => form_or_refusal(
            &state,
            &browser,
            &locale,
            branding.as_ref(),
            change_email_spec(t, &form.tx, &email),
            err,
        ),
    }
}
