//! The pages of the account lifecycle: verify an email (during a sign-up, or from the emailed
//! link), reset a password, change the email (a policy), accept an invitation.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use axum::Form;
use gatehouse_core::signin::{SignInError, Step};
use serde::Deserialize;

use super::browser::Browser;
use super::pages::{message, render, Chrome, StepFormPage};
use super::{
    at_policy, form_error, i18n, page_error, page_locale, posted_transaction, refused_post,
    respond, sign_in_view, transaction, StepForm,
};
use crate::error::ServiceError;
use crate::services::{lifecycle, signin};
use crate::state::AppState;

const VERIFY_PATH: &str = "/identity/v1/view/verify-email";
const RESET_PATH: &str = "/identity/v1/view/reset-password";
const CHANGE_EMAIL_PATH: &str = "/identity/v1/view/change-email";
const INVITATION_PATH: &str = "/identity/v1/view/accept-invitation";
const PASSWORDLESS_PATH: &str = "/identity/v1/view/passwordless";
const MAGIC_LINK_PATH: &str = "/identity/v1/view/magic-link";

#[derive(Debug, Deserialize)]
pub(super) struct LifecycleQuery {
    tx: Option<String>,
    /// The user's `authId` (the emailed verification link).
    id: Option<String>,
    token: Option<String>,
    /// Melody's invitation links land on the verify-email view with this.
    #[serde(rename = "invitationToken")]
    invitation_token: Option<String>,
    locale: Option<String>,
    /// The code a magic link carries.
    otp: Option<String>,
    #[serde(rename = "signinUrl")]
    signin_url: Option<String>,
}

/// What differs between the forms built on [`StepFormPage`].
pub(super) struct FormSpec<'a> {
    pub(super) title: &'a str,
    pub(super) intro: &'a str,
    pub(super) action: &'a str,
    pub(super) hidden: Vec<(&'a str, String)>,
    pub(super) ask_email: Option<&'a str>,
    pub(super) email_label: &'a str,
    pub(super) ask_code: bool,
    pub(super) ask_password: bool,
    pub(super) submit: &'a str,
    pub(super) resend: Option<Vec<(&'a str, String)>>,
    pub(super) back_url: Option<String>,
    pub(super) qr_svg: Option<String>,
    pub(super) secret: Option<String>,
    pub(super) choices: Vec<(&'a str, &'a str)>,
    pub(super) remember: bool,
    pub(super) alt_link: Option<(&'a str, String)>,
    pub(super) codes: Vec<String>,
    pub(super) ask_recovery: bool,
    pub(super) ask_phone: bool,
    pub(super) captcha: Option<crate::services::captcha::Widget>,
}

impl<'a> FormSpec<'a> {
    /// A form with a title, an intro and a submit button; the rest off.
    pub(super) fn new(title: &'a str, intro: &'a str, action: &'a str, submit: &'a str) -> Self {
        Self {
            title,
            intro,
            action,
            hidden: Vec::new(),
            ask_email: None,
            email_label: "",
            ask_code: false,
            ask_password: false,
            submit,
            resend: None,
            back_url: None,
            qr_svg: None,
            secret: None,
            choices: Vec::new(),
            remember: false,
            alt_link: None,
            codes: Vec::new(),
            ask_recovery: false,
            ask_phone: false,
            captcha: None,
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn form_page(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    branding: Option<&signin::Branding>,
    spec: FormSpec<'_>,
    error: Option<(StatusCode, String)>,
    notice: Option<&str>,
) -> Response {
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let nonce = crate::crypto::random_token::<16>();
    let spec_captcha = spec.captcha.clone();
    let mut response = render(
        status,
        &StepFormPage {
            c: Chrome::new(&state.config, locale, None).branded(branding),
            title: spec.title,
            intro: spec.intro,
            action: spec.action,
            hidden: spec.hidden,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            ask_email: spec.ask_email,
            email_label: spec.email_label,
            ask_code: spec.ask_code,
            ask_password: spec.ask_password,
            submit: spec.submit,
            error,
            notice,
            resend: spec.resend,
            back_url: spec.back_url,
            qr_svg: spec.qr_svg,
            secret: spec.secret,
            choices: spec.choices,
            remember: spec.remember,
            alt_link: spec.alt_link,
            codes: spec.codes,
            ask_recovery: spec.ask_recovery,
            ask_phone: spec.ask_phone,
            captcha: spec.captcha.clone(),
            nonce: &nonce,
        },
        Some(&nonce),
    );
    super::pages::allow_captcha(&mut response, spec_captcha.as_ref(), &nonce);
    browser.set_csrf_cookie(state, &mut response);
    response
}

fn supported_locale(state: &AppState, locale: Option<&str>) -> String {
    gatehouse_core::authorize::pick_locale(locale, &state.config.supported_locales)
}

/// A form posted without a transaction (the emailed verification link, an invitation) must
/// still come from a page this browser loaded.
fn check_form_origin(browser: &Browser, form: &StepForm) -> Result<(), ServiceError> {
    if browser.foreign_origin || !browser.csrf_matches(&form.csrf_token) {
        return Err(SignInError::CsrfMismatch.into());
    }
    Ok(())
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            VERIFY_PATH,
            get(verify_email_page).post(verify_email_submit),
        )
        .route(RESET_PATH, get(reset_page).post(reset_submit))
        .route(CHANGE_EMAIL_PATH, change_email_route())
        .route(
            INVITATION_PATH,
            get(invitation_page).post(invitation_submit),
        )
        .route(
            PASSWORDLESS_PATH,
            get(passwordless_page).post(passwordless_submit),
        )
        .route(MAGIC_LINK_PATH, get(magic_link))
}

// --- Email verification -------------------------------------------------------------------

fn verify_spec<'a>(t: &'a i18n::Texts, hidden: (&'a str, String)) -> FormSpec<'a> {
    let mut resend = vec![hidden.clone()];
    resend.push(("stage", "resend".into()));
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
        title: t.verify_email_title,
        intro: t.verify_email_intro,
        action: VERIFY_PATH,
        hidden: vec![hidden],
        ask_email: None,
        email_label: t.email,
        ask_code: true,
        ask_password: false,
        submit: t.verify_button,
        resend: Some(resend),
        back_url: None,
    }
}

async fn verify_email_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<LifecycleQuery>,
) -> Response {
    if q.invitation_token.is_some() {
        let q = LifecycleQuery {
            token: q.invitation_token.clone(),
            ..q
        };
        return invitation_page(State(state), browser, Query(q)).await;
    }
    let fallback = supported_locale(&state, q.locale.as_deref());
    if q.tx.is_some() {
        let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
            Ok(tx) if tx.user.is_some() && !tx.progress.is_done(Step::VerifyEmail) => tx,
            Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
            Err(err) => return page_error(&state, &fallback, err),
        };
        let locale = page_locale(&state, q.locale.as_deref(), &tx);
        let t = i18n::texts(&locale);
        let tx_id = q.tx.unwrap_or_default();
        return form_page(
            &state,
            &browser,
            &locale,
            tx.branding.as_ref(),
            verify_spec(t, ("tx", tx_id)),
            None,
            None,
        );
    }
    let t = i18n::texts(&fallback);
    if !lifecycle::verification_on(&state) {
        return message(
            &state.config,
            &fallback,
            StatusCode::BAD_REQUEST,
            t.error_title,
            &SignInError::FeatureOff("Email verification").to_string(),
        );
    }
    let id = q.id.unwrap_or_default();
    let mut spec = verify_spec(t, ("id", id));
    spec.hidden.push(("locale", fallback.clone()));
    // The emailed link has no sign-in to resend within.
    spec.resend = None;
    form_page(&state, &browser, &fallback, None, spec, None, None)
}

async fn verify_email_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    if !form.tx.is_empty() {
        return verify_sign_up_submit(state, browser, form).await;
    }
    let locale = supported_locale(&state, form.rest.get("locale").map(String::as_str));
    let t = i18n::texts(&locale);
    if let Err(err) = check_form_origin(&browser, &form) {
        return refused_post(&state, err);
    }
    let id = form.rest.get("id").cloned().unwrap_or_default();
    match lifecycle::verify_email(&state, &id, &form.code, browser.ip.as_deref()).await {
        Ok(()) => message(
            &state.config,
            &locale,
            StatusCode::OK,
            t.email_verified_title,
            t.email_verified_text,
        ),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => {
                let mut spec = verify_spec(t, ("id", id));
                spec.hidden.push(("locale", locale.clone()));
                spec.resend = None;
                form_page(&state, &browser, &locale, None, spec, Some(error), None)
            }
            Err(page) => *page,
        },
    }
}

async fn verify_sign_up_submit(state: AppState, browser: Browser, form: StepForm) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) if tx.user.is_some() && !tx.progress.is_done(Step::VerifyEmail) => tx,
        Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let branding = tx.branding.clone();
    let spec = || verify_spec(t, ("tx", form.tx.clone()));
    if form.stage == "resend" {
        let result = signin::resend_sign_up_code(&state, &tx, browser.meta()).await;
        return match result {
            Ok(()) => form_page(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                spec(),
                None,
                Some(t.code_resent),
            ),
            Err(err) => match form_error(&state, &locale, err) {
                Ok(error) => form_page(
                    &state,
                    &browser,
                    &locale,
                    branding.as_ref(),
                    spec(),
                    Some(error),
                    None,
                ),
                Err(page) => *page,
            },
        };
    }
    match signin::verify_sign_up_email(&state, &form.tx, tx, &form.code, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => form_page(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                spec(),
                Some(error),
                None,
            ),
            Err(page) => *page,
        },
    }
}

// --- Password reset -----------------------------------------------------------------------

fn reset_request_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &'a str) -> FormSpec<'a> {
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
        title: t.reset_title,
        intro: t.reset_intro,
        action: RESET_PATH,
        hidden: vec![("tx", tx_id.to_owned()), ("stage", "request".into())],
        ask_email: Some(email),
        email_label: t.email,
        ask_code: false,
        ask_password: false,
        submit: t.send_code,
        resend: None,
        back_url: Some(format!(
            "/identity/v1/view/authorize?tx={tx_id}&locale={}",
            t.lang
        )),
    }
}

/// The reset request form with the captcha widget, when the server asks for one there.
fn with_captcha<'a>(state: &AppState, mut spec: FormSpec<'a>) -> FormSpec<'a> {
    spec.captcha = crate::services::captcha::widget(
        state,
        crate::services::captcha::CaptchaPage::PasswordReset,
    );
    spec
}

/// Under a captcha a new code is asked for from the request form (which carries the widget).
fn without_resend_under_captcha<'a>(state: &AppState, mut spec: FormSpec<'a>) -> FormSpec<'a> {
    if crate::services::captcha::widget(state, crate::services::captcha::CaptchaPage::PasswordReset)
        .is_some()
    {
        spec.resend = None;
    }
    spec
}

fn reset_code_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &str) -> FormSpec<'a> {
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
        title: t.reset_title,
        intro: t.reset_code_intro,
        action: RESET_PATH,
        hidden: vec![
            ("tx", tx_id.to_owned()),
            ("stage", "reset".into()),
            ("email", email.to_owned()),
        ],
        ask_email: None,
        email_label: t.email,
        ask_code: true,
        ask_password: true,
        submit: t.reset_button,
        resend: Some(vec![
            ("tx", tx_id.to_owned()),
            ("stage", "request".into()),
            ("email", email.to_owned()),
        ]),
        back_url: Some(format!(
            "/identity/v1/view/authorize?tx={tx_id}&locale={}",
            t.lang
        )),
    }
}

async fn reset_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<LifecycleQuery>,
) -> Response {
    let fallback = supported_locale(&state, q.locale.as_deref());
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) => tx,
        Err(err) => return page_error(&state, &fallback, err),
    };
    let locale = page_locale(&state, q.locale.as_deref(), &tx);
    let t = i18n::texts(&locale);
    if !lifecycle::reset_on(&state) {
        return message(
            &state.config,
            &locale,
            StatusCode::BAD_REQUEST,
            t.error_title,
            &SignInError::FeatureOff("Password reset").to_string(),
        );
    }
    let hint = tx.request.login_hint.clone().unwrap_or_default();
    let tx_id = q.tx.unwrap_or_default();
    form_page(
        &state,
        &browser,
        &locale,
        tx.branding.as_ref(),
        with_captcha(&state, reset_request_spec(t, &tx_id, &hint)),
        None,
        None,
    )
}

async fn reset_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) => tx,
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let ip = browser.ip.as_deref();
    let branding = tx.branding.as_ref();
    if form.stage == "reset" {
        let result =
            lifecycle::reset_password(&state, &form.email, &form.code, &form.password, ip).await;
        return match result {
            Ok(()) => {
                sign_in_view(
                    &state,
                    &browser,
                    &form.tx,
                    &tx,
                    &locale,
                    &form.email,
                    None,
                    Some(t.reset_done),
                )
                .await
            }
            Err(err) => match form_error(&state, &locale, err) {
                Ok(error) => form_page(
                    &state,
                    &browser,
                    &locale,
                    branding,
                    without_resend_under_captcha(&state, reset_code_spec(t, &form.tx, &form.email)),
                    Some(error),
                    None,
                ),
                Err(page) => *page,
            },
        };
    }
    let token = form
        .rest
        .get(crate::services::captcha::response_field(
            &state.config.captcha_provider,
        ))
        .map(String::as_str);
    let checked = crate::services::captcha::check(
        &state,
        crate::services::captcha::CaptchaPage::PasswordReset,
        token,
        ip,
    )
    .await;
    let requested = match checked {
        Ok(()) => lifecycle::request_password_reset(&state, &form.email, &locale, ip).await,
        Err(err) => Err(err),
    };
    match requested {
        Ok(()) => form_page(
            &state,
            &browser,
            &locale,
            branding,
            without_resend_under_captcha(&state, reset_code_spec(t, &form.tx, form.email.trim())),
            None,
            None,
        ),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => form_page(
                &state,
                &browser,
                &locale,
                branding,
                with_captcha(&state, reset_request_spec(t, &form.tx, &form.email)),
                Some(error),
                None,
            ),
            Err(page) => *page,
        },
    }
}

// --- Change email (a policy) --------------------------------------------------------------

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

fn change_email_route() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, browser: Browser, Query(q): Query<LifecycleQuery>| async move {
            let fallback = supported_locale(&state, q.locale.as_deref());
            let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
                Ok(tx) if at_policy(&tx, Step::ChangeEmail) => tx,
                Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
                Err(err) => return page_error(&state, &fallback, err),
            };
            let locale = page_locale(&state, q.locale.as_deref(), &tx);
            let t = i18n::texts(&locale);
            let tx_id = q.tx.unwrap_or_default();
            form_page(
                &state,
                &browser,
                &locale,
                tx.branding.as_ref(),
                change_email_spec(t, &tx_id, ""),
                None,
                None,
            )
        },
    )
    .post(
        |State(state): State<AppState>, browser: Browser, Form(form): Form<StepForm>| async move {
            change_email_submit(state, browser, form).await
        },
    )
}

async fn change_email_submit(state: AppState, browser: Browser, form: StepForm) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) if at_policy(&tx, Step::ChangeEmail) => tx,
        Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let user_id = tx.user.as_ref().map_or(0, |u| u.id);
    let branding = tx.branding.clone();
    let email = form.email.trim().to_owned();
    if form.stage == "confirm" {
        let ip = browser.ip.as_deref();
        if let Err(err) = lifecycle::change_email(&state, user_id, &email, &form.code, ip).await {
            return match form_error(&state, &locale, err) {
                Ok(error) => form_page(
                    &state,
                    &browser,
                    &locale,
                    branding.as_ref(),
                    change_email_code_spec(t, &form.tx, &email),
                    Some(error),
                    None,
                ),
                Err(page) => *page,
            };
        }
        return match signin::complete_step(&state, &form.tx, tx, Step::ChangeEmail, browser.meta())
            .await
        {
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
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => form_page(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                change_email_spec(t, &form.tx, &email),
                Some(error),
                None,
            ),
            Err(page) => *page,
        },
    }
}

// --- Invitations --------------------------------------------------------------------------

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
    let mut hidden = vec![("token", token.to_owned()), ("locale", locale.to_owned())];
    if let Some(url) = signin_url {
        hidden.push(("signinUrl", url.to_owned()));
    }
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
        title: t.invitation_title,
        intro: t.invitation_intro,
        action: INVITATION_PATH,
        hidden,
        ask_email: None,
        email_label: t.email,
        ask_code: false,
        ask_password: true,
        submit: t.accept_invitation,
        resend: None,
        back_url: None,
    }
}

async fn invitation_page(
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
    Form(form): Form<StepForm>,
) -> Response {
    let locale = supported_locale(&state, form.rest.get("locale").map(String::as_str));
    let t = i18n::texts(&locale);
    if let Err(err) = check_form_origin(&browser, &form) {
        return refused_post(&state, err);
    }
    let token = form.rest.get("token").cloned().unwrap_or_default();
    let signin_url = form.rest.get("signinUrl").map(String::as_str);
    match lifecycle::accept_invitation(&state, &token, &form.password).await {
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
                let spec = invitation_spec(t, &token, &locale, signin_url);
                form_page(&state, &browser, &locale, None, spec, Some(error), None)
            }
            Err(page) => *page,
        },
    }
}

// --- Passwordless sign-in -----------------------------------------------------------------

fn at_passwordless(tx: &signin::Transaction) -> bool {
    tx.first_factor == Some(gatehouse_core::signin::FirstFactor::Passwordless)
        && !tx.progress.is_done(Step::PasswordlessVerify)
}

fn passwordless_spec<'a>(state: &AppState, t: &'a i18n::Texts, tx_id: &str) -> FormSpec<'a> {
    let magic_link = state.config.use_passwordless_as_magic_link;
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
        title: t.sign_in_title,
        intro: if magic_link {
            t.magic_link_sent
        } else {
            t.passwordless_intro
        },
        action: PASSWORDLESS_PATH,
        hidden: vec![("tx", tx_id.to_owned())],
        ask_email: None,
        email_label: t.email,
        ask_code: !magic_link,
        ask_password: false,
        submit: if magic_link {
            t.resend_code
        } else {
            t.submit_sign_in
        },
        resend: (!magic_link).then(|| vec![("tx", tx_id.to_owned()), ("stage", "resend".into())]),
        back_url: Some(format!(
            "/identity/v1/view/authorize?tx={tx_id}&locale={}",
            t.lang
        )),
    }
}

async fn passwordless_page(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<LifecycleQuery>,
) -> Response {
    let fallback = supported_locale(&state, q.locale.as_deref());
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) if at_passwordless(&tx) => tx,
        Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
        Err(err) => return page_error(&state, &fallback, err),
    };
    let locale = page_locale(&state, q.locale.as_deref(), &tx);
    let t = i18n::texts(&locale);
    let tx_id = q.tx.unwrap_or_default();
    let spec = passwordless_spec(&state, t, &tx_id);
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

async fn passwordless_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<StepForm>,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) if at_passwordless(&tx) => tx,
        Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let branding = tx.branding.clone();
    // The magic-link page's only button asks for a new link.
    let resend = form.stage == "resend" || state.config.use_passwordless_as_magic_link;
    let result = if resend {
        signin::send_passwordless_code(&state, &form.tx, &tx, browser.meta())
            .await
            .map(|()| None)
    } else {
        signin::verify_passwordless(&state, &form.tx, tx, &form.code, browser.meta())
            .await
            .map(Some)
    };
    match result {
        Ok(Some(outcome)) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Ok(None) => form_page(
            &state,
            &browser,
            &locale,
            branding.as_ref(),
            passwordless_spec(&state, t, &form.tx),
            None,
            Some(t.code_resent),
        ),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => form_page(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                passwordless_spec(&state, t, &form.tx),
                Some(error),
                None,
            ),
            Err(page) => *page,
        },
    }
}

/// The emailed magic link: only the browser that asked for it can use it (the transaction is
/// bound to that browser's cookie), so a forwarded or scanned link signs nobody in.
async fn magic_link(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<LifecycleQuery>,
) -> Response {
    let fallback = supported_locale(&state, q.locale.as_deref());
    if !state.config.use_passwordless_as_magic_link {
        return page_error(&state, &fallback, SignInError::UnknownTransaction.into());
    }
    let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
        Ok(tx) if at_passwordless(&tx) => tx,
        Ok(_) => return page_error(&state, &fallback, SignInError::UnknownTransaction.into()),
        Err(err) => return page_error(&state, &fallback, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let tx_id = q.tx.unwrap_or_default();
    let code = q.otp.unwrap_or_default();
    let branding = tx.branding.clone();
    match signin::verify_passwordless(&state, &tx_id, tx, &code, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &tx_id, &locale, outcome),
        Err(err) => match form_error(&state, &locale, err) {
            Ok(error) => form_page(
                &state,
                &browser,
                &locale,
                branding.as_ref(),
                passwordless_spec(&state, t, &tx_id),
                Some(error),
                None,
            ),
            Err(page) => *page,
        },
    }
}
