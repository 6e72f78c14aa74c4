//! Accepting an invitation: the emailed link, a password, an active and verified account.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Form;

use super::browser::Browser;
use super::forms::InvitationForm;
use super::lifecycle::{form_page, supported_locale, FormSpec, LifecycleQuery};
use super::pages::message;
use super::{check_form_origin, form_error, i18n, refused_post};
use crate::services::lifecycle;
use crate::state::AppState;

const INVITATION_PATH: &str = "/identity/v1/view/accept-invitation";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        INVITATION_PATH,
        get(invitation_page).post(invitation_submit),
    )
}

/// The page an accepted invitation links on to: only an absolute http(s) URL.
fn sign_in_link(url: Option<&str>) -> Option<String> {
    url.map(str::trim)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .filter(|u| !u.contains(['"', '<', '>', ' ']))
        .map(str::to_owned)
}

fn invitation_spec<'a>(
    t: &'a i18n::Texts,
    token: &str,
    locale: &str,
    signin_url: Option<&str>,
) -> FormSpec<'a> {
    let mut spec = FormSpec::new(
        t.invitation_title,
        t.invitation_intro,
        INVITATION_PATH,
        t.accept_invitation,
    );
    spec.hidden = vec![("token", token.to_owned()), ("locale", locale.to_owned())];
    if let Some(url) = signin_url {
        spec.hidden.push(("signinUrl", url.to_owned()));
    }
    spec.email_label = t.email;
    spec.ask_password = true;
    spec
}

pub(super) async fn invitation_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<LifecycleQuery>,
) -> Response {
    let locale = supported_locale(&state, q.locale.as_deref());
    let t = i18n::texts(&locale);
    let token = q.token.unwrap_or_default();
    if let Err(err) = lifecycle::invitation(&state, &token).await {
        return match form_error(&state, &locale, err) {
            Ok((status, text)) => message(&state.config, &locale, status, t.error_title, &text),
            Err(page) => *page,
        };
    }
    let spec = invitation_spec(t, &token, &locale, q.signin_url.as_deref());
    form_page(&state, &browser, &locale, None, spec, None, None)
}

async fn invitation_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<InvitationForm>,
) -> Response {
    let locale = supported_locale(&state, form.locale.as_deref());
    let t = i18n::texts(&locale);
    if let Err(err) = check_form_origin(&browser, &form) {
        return refused_post(&state, err);
    }
    let token = &form.token;
    let signin_url = form.signin_url.as_deref();
    match lifecycle::accept_invitation(&state, token, &form.password).await {
        Ok(_) => {
            let mut response = message(
                &state.config,
                &locale,
                StatusCode::OK,
                t.invitation_title,
                t.invitation_done,
            );
            if let Some(link) = sign_in_link(signin_url) {
                response = super::pages::message_with_link(
                    &state.config,
                    &locale,
                    t.invitation_title,
                    t.invitation_done,
                    link,
                );
            }
            response
        }
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) if error.0 == StatusCode::NOT_FOUND => {
                message(&state.config, &locale, error.0, t.error_title, &error.1)
            }
            Ok(error) => {
                let spec = invitation_spec(t, token, &locale, signin_url);
                form_page(&state, &browser, &locale, None, spec, Some(error), None)
            }
            Err(page) => *page,
        },
    }
}
