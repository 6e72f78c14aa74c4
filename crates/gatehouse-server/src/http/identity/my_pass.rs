//! The user's own account page, `/i` ("my pass" in ePass): names, links to the self-service
//! policies (password, email, MFA, passkeys, recovery codes), sessions and consented apps to
//! revoke, sign-out. Reached with the browser's single sign-on session; without one, the usual
//! sign-in comes first and ends back here.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Form;
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::SignInError;
use gatehouse_store::{AccountStore, BrowserSession};
use serde::Deserialize;

use super::browser::Browser;
use super::forms::{NamesForm, Posted, TxForm};
use super::i18n;
use super::pages::{message, render, Chrome, MyPassPage};
use super::respond::{outcome, see_other};
use crate::error::ServiceError;
use crate::services::signin::{self, TxCall, ACCOUNT_PAGE};
use crate::services::{lifecycle, mfa, passkeys, users};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct MyPassQuery {
    locale: Option<String>,
    /// Set after the names were saved.
    saved: Option<String>,
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(ACCOUNT_PAGE, get(page))
        .route("/i/policy/{policy}", get(policy))
        .route("/i/names", post(save_names))
        .route("/i/sessions/{id}/end", post(end_session))
        .route("/i/apps/{id}/revoke", post(revoke_app))
        .route("/i/sign-out", post(sign_out))
}

/// The signed-in browser's session, if any.
async fn session(
    state: &AppState,
    browser: &Browser,
) -> Result<Option<BrowserSession>, ServiceError> {
    state
        .sessions()
        .resume(browser.session.as_deref(), browser.now)
        .await
}

/// Sends a browser without a session through sign-in (and `policy`, if any), back to `/i`.
async fn sign_in_first(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    policy: Option<&str>,
) -> Response {
    let title = i18n::texts(locale).my_pass_title;
    let id = signin::begin_account(
        state,
        locale.to_owned(),
        policy.map(str::to_owned),
        title,
        browser.csrf.as_deref(),
    )
    .await;
    let mut response = match id {
        Ok(id) => see_other(&format!(
            "/identity/v1/view/authorize?tx={id}&locale={locale}"
        )),
        Err(err) => return crate::http::error::page_internal_error(&state.config, locale, &err),
    };
    browser.set_csrf_cookie(state, &mut response);
    response
}

/// The self-service flows this server offers, as (policy, label).
pub(super) fn policies(
    state: &AppState,
    t: &'static i18n::Texts,
) -> Vec<(&'static str, &'static str)> {
    let config = &state.config;
    let mut list = Vec::new();
    if config.enable_password_reset && !config.enable_passwordless_sign_in {
        list.push(("change_password", t.change_password_title));
    }
    if lifecycle::change_email_on(state) {
        list.push(("change_email", t.change_email_title));
    }
    if passkeys::passkeys_on(state) {
        list.push(("manage_passkey", t.manage_passkey_title));
    }
    if mfa::recovery_codes_on(state) {
        list.push(("manage_recovery_code", t.recovery_codes_title));
    }
    list.push(("reset_mfa", t.reset_mfa_title));
    list.retain(|(p, _)| !config.blocked_policies.iter().any(|b| b == p));
    list
}

async fn view(
    state: &AppState,
    browser: &Browser,
    user_id: UserId,
    locale: &str,
    notice: Option<&str>,
) -> Result<Response, ServiceError> {
    let t = i18n::texts(locale);
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let listed = users::active_sessions(&state.store, &user.auth_id).await?;
    let mut session_rows: Vec<(String, String)> = listed
        .browser_sessions
        .iter()
        .map(|s| {
            let agent: String = s
                .user_agent
                .clone()
                .unwrap_or_default()
                .chars()
                .take(60)
                .collect();
            (
                format!("{}{}", users::BROWSER_SESSION_PREFIX, s.id),
                format!(
                    "{} · {} · {}",
                    s.last_seen_at.format("%Y-%m-%d %H:%M"),
                    s.ip.clone().unwrap_or_default(),
                    agent
                ),
            )
        })
        .collect();
    session_rows.extend(listed.token_sessions.iter().map(|s| {
        (
            s.family_id.clone(),
            format!(
                "{} · {}",
                s.client_id,
                s.expires_at.format("%Y-%m-%d %H:%M")
            ),
        )
    }));
    let apps = users::consented_apps(&state.store, &user.auth_id).await?;
    let response = render(
        StatusCode::OK,
        &MyPassPage {
            c: Chrome::new(&state.config, locale, Some(&format!("{ACCOUNT_PAGE}?"))),
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email: user.email.as_deref().unwrap_or_default(),
            names: state.config.enable_names,
            first_name: user.first_name.as_deref().unwrap_or_default(),
            last_name: user.last_name.as_deref().unwrap_or_default(),
            policies: policies(state, t),
            sessions: session_rows,
            apps,
            notice,
            error: None,
        },
        None,
    );
    Ok(browser.with_csrf_cookie(state, response))
}

async fn page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<MyPassQuery>,
) -> Response {
    let locale = browser.locale(&state, None, q.locale.as_deref());
    match session(&state, &browser).await {
        Ok(Some(s)) => {
            let notice = q
                .saved
                .is_some()
                .then_some(i18n::texts(&locale).names_saved);
            match view(&state, &browser, s.user_id, &locale, notice).await {
                Ok(response) => response,
                Err(err) => crate::http::error::page_internal_error(&state.config, &locale, &err),
            }
        }
        Ok(None) => sign_in_first(&state, &browser, &locale, None).await,
        Err(err) => crate::http::error::page_internal_error(&state.config, &locale, &err),
    }
}

/// Starts a self-service flow: the policy page, after sign-in when needed, then back to `/i`.
async fn policy(
    State(state): State<AppState>,
    browser: Browser,
    Path(policy): Path<String>,
    Query(q): Query<MyPassQuery>,
) -> Response {
    let locale = browser.locale(&state, None, q.locale.as_deref());
    let t = i18n::texts(&locale);
    let Some((policy, _)) = policies(&state, t).into_iter().find(|(p, _)| *p == policy) else {
        return message(
            &state.config,
            &locale,
            StatusCode::NOT_FOUND,
            t.error_title,
            "This account setting is not offered here",
        );
    };
    let session = match session(&state, &browser).await {
        Ok(Some(s)) => s,
        Ok(None) => return sign_in_first(&state, &browser, &locale, Some(policy)).await,
        Err(err) => return crate::http::error::page_internal_error(&state.config, &locale, &err),
    };
    let started = async {
        let id = signin::begin_account(
            &state,
            locale.clone(),
            Some(policy.to_owned()),
            t.my_pass_title,
            browser.csrf.as_deref(),
        )
        .await?;
        let tx = signin::load(&state, &id, browser.csrf.as_deref()).await?;
        let next =
            signin::sign_in_with_session(TxCall::new(&state, &id, tx, browser.meta()), &session)
                .await?;
        Ok::<_, ServiceError>((id, next))
    }
    .await;
    let mut response = match started {
        Ok((id, next)) => outcome(&state.config, &id, &locale, next),
        Err(err) => return crate::http::error::page_internal_error(&state.config, &locale, &err),
    };
    browser.set_csrf_cookie(&state, &mut response);
    response
}

/// A posted form of this page: from this browser, with a live session.
async fn posted(
    state: &AppState,
    browser: &Browser,
    form: &impl Posted,
) -> Result<BrowserSession, ServiceError> {
    super::check_form_origin(browser, form)?;
    session(state, browser)
        .await?
        .ok_or_else(|| SignInError::UnknownTransaction.into())
}

/// The session's user, by the id the management services take.
async fn auth_id_of(state: &AppState, session: &BrowserSession) -> Result<String, ServiceError> {
    Ok(state
        .store
        .user_by_id(session.user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?
        .auth_id)
}

fn back(notice: bool) -> Response {
    see_other(if notice { "/i?saved=1" } else { ACCOUNT_PAGE })
}

fn refused(state: &AppState, err: ServiceError) -> Response {
    super::refused_post(state, err)
}

async fn save_names(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<NamesForm>,
) -> Response {
    let session = match posted(&state, &browser, &form).await {
        Ok(s) => s,
        Err(err) => return refused(&state, err),
    };
    match users::update_own_names(
        &state,
        session.user_id,
        form.first_name.as_deref(),
        form.last_name.as_deref(),
    )
    .await
    {
        Ok(()) => back(true),
        Err(err) => refused(&state, err),
    }
}

/// The account a posted form of this page acts on, by the id the management services take.
async fn posted_account(
    state: &AppState,
    browser: &Browser,
    form: &TxForm,
) -> Result<String, ServiceError> {
    let session = posted(state, browser, form).await?;
    auth_id_of(state, &session).await
}

/// Back to the account page once `done`, else the refusal.
fn back_or_refused(state: &AppState, done: Result<(), ServiceError>) -> Response {
    match done {
        Ok(()) => back(false),
        Err(err) => refused(state, err),
    }
}

async fn end_session(
    State(state): State<AppState>,
    browser: Browser,
    Path(id): Path<String>,
    Form(form): Form<TxForm>,
) -> Response {
    let ended = match posted_account(&state, &browser, &form).await {
        Ok(auth_id) => users::end_session(&state, &auth_id, &id).await,
        Err(err) => Err(err),
    };
    back_or_refused(&state, ended)
}

async fn revoke_app(
    State(state): State<AppState>,
    browser: Browser,
    Path(id): Path<i64>,
    Form(form): Form<TxForm>,
) -> Response {
    let revoked = match posted_account(&state, &browser, &form).await {
        Ok(auth_id) => users::revoke_consent(&state.store, &auth_id, id).await,
        Err(err) => Err(err),
    };
    back_or_refused(&state, revoked)
}

async fn sign_out(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<TxForm>,
) -> Response {
    if let Err(err) = posted(&state, &browser, &form).await {
        return refused(&state, err);
    }
    if let Err(err) = state
        .sessions()
        .end(browser.session.as_deref(), browser.now)
        .await
    {
        return refused(&state, err);
    }
    let mut response = super::logout::signed_out_page(&state, "en");
    super::logout::forget_session(&state, &mut response);
    response
}
