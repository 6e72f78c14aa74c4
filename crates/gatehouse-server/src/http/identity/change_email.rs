//! The `change_email` policy: a code sent to the new address proves it before the change.

use axum::response::Response;
use axum::routing::get;

use super::forms::ChangeEmailForm;
use super::i18n;
use super::lifecycle::{form_or_refusal, form_page, owed_form_page, FormSpec};
use super::step::{ChangeEmail, OwedPage, OwedPost};
use crate::services::lifecycle;
use crate::state::AppState;

const CHANGE_EMAIL_PATH: &str = "/identity/v1/view/change-email";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        CHANGE_EMAIL_PATH,
        get(change_email_page).post(change_email_submit),
    )
}

fn change_email_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &'a str) -> FormSpec<'a> {
    let mut spec = FormSpec::new(t.change_email_title, "", CHANGE_EMAIL_PATH, t.send_code);
    spec.hidden = vec![("tx", tx_id.to_owned()), ("stage", "send".into())];
    spec.ask_email = Some(email);
    spec.email_label = t.new_email;
    spec
}

fn change_email_code_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &str) -> FormSpec<'a> {
    FormSpec::new(
        t.change_email_title,
        t.change_email_code_intro,
        CHANGE_EMAIL_PATH,
        t.confirm,
    )
    .for_emailed_code(tx_id, (email, t.new_email), ("confirm", "send"))
}

async fn change_email_page(page: OwedPage<ChangeEmail>) -> Response {
    let t = i18n::texts(&page.locale);
    owed_form_page(&page, change_email_spec(t, &page.tx_id, ""))
}

async fn change_email_submit(post: OwedPost<ChangeEmail, ChangeEmailForm>) -> Response {
    let (state, browser, locale) = (&post.state, &post.browser, post.locale.as_str());
    let t = i18n::texts(locale);
    let user_id = post.at.user().id;
    let (tx_id, email) = (post.form.tx.as_str(), post.form.email.trim());
    let branding = post.tx.branding.as_ref();
    if post.form.stage == "confirm" {
        let (code, ip) = (&post.form.code, browser.ip.as_deref());
        if let Err(err) = lifecycle::change_email(state, user_id, email, code, ip).await {
            let spec = change_email_code_spec(t, tx_id, email);
            return form_or_refusal(state, browser, locale, branding, spec, err);
        }
        return post.complete().await;
    }
    match lifecycle::send_change_email_code(state, user_id, email, locale).await {
        Ok(()) => {
            let spec = change_email_code_spec(t, tx_id, email);
            form_page(state, browser, locale, branding, spec, None, None)
        }
        Err(err) => {
            let spec = change_email_spec(t, tx_id, email);
            form_or_refusal(state, browser, locale, branding, spec, err)
        }
    }
}
