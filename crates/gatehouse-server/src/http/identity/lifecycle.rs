//! The pages of the account lifecycle: verify an email (during a sign-up, or from the emailed
//! link), reset a password, change the email (a policy), accept an invitation.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Form;
use gatehouse_core::signin::{SignInError, Step};
use serde::Deserialize;

use super::browser::Browser;
use super::forms::{ResetForm, VerifyEmailForm};
use super::pages::{message, render, Chrome, StepFormPage};
use super::step::{OwedPage, PostedTx, Refusal, TxPage};
use super::{
    check_form_origin, form_error, i18n, page_error, page_locale, posted_transaction, refused_post,
    respond, sign_in_url, sign_in_view, transaction,
};
use crate::error::ServiceError;
use crate::services::signin::Outcome;
use crate::services::signin::TxCall;
use crate::services::{lifecycle, signin};
use crate::state::AppState;

const VERIFY_PATH: &str = "/identity/v1/view/verify-email";
const RESET_PATH: &str = "/identity/v1/view/reset-password";

#[derive(Debug, Deserialize)]
pub(super) struct LifecycleQuery {
    pub(super) tx: Option<String>,
    /// The user's `authId` (the emailed verification link).
    id: Option<String>,
    pub(super) token: Option<String>,
    /// Melody's invitation links land on the verify-email view with this.
    #[serde(rename = "invitationToken")]
    invitation_token: Option<String>,
    pub(super) locale: Option<String>,
    #[serde(rename = "signinUrl")]
    pub(super) signin_url: Option<String>,
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

    /// Asks for the code emailed to `email` (shown under `email_label`): the form posts `stage`
    /// with the code, and the resend link posts `resend_stage` for a new one.
    pub(super) fn for_emailed_code(
        mut self,
        tx_id: &str,
        (email, email_label): (&str, &'a str),
        (stage, resend_stage): (&str, &str),
    ) -> Self {
        let fields = |stage: &str| {
            vec![
                ("tx", tx_id.to_owned()),
                ("stage", stage.to_owned()),
                ("email", email.to_owned()),
            ]
        };
        self.hidden = fields(stage);
        self.resend = Some(fields(resend_stage));
        self.email_label = email_label;
        self.ask_code = true;
        self
    }
}

#[allow(clippy::too_many_arguments)]
/// A step's form as first shown: no refusal, no notice.
pub(super) fn owed_form_page<P>(page: &OwedPage<P>, spec: FormSpec<'_>) -> Response {
    form_page(
        &page.state,
        &page.browser,
        &page.locale,
        page.tx.branding.as_ref(),
        spec,
        None,
        None,
    )
}

pub(super) fn form_page(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    branding: Option<&signin::Branding>,
    spec: FormSpec<'_>,
    error: Option<Refusal>,
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

/// A refused form shown again with the refusal, or the error page for failures a form cannot
/// show.
pub(super) fn form_or_refusal(
    state: &AppState,
    browser: &Browser,
    locale: &str,
    branding: Option<&signin::Branding>,
    spec: FormSpec<'_>,
    err: ServiceError,
) -> Response {
    match form_error(state, locale, err) {
        Ok(error) => form_page(state, browser, locale, branding, spec, Some(error), None),
        Err(page) => *page,
    }
}

/// A form shown after `sent` (a code sent on the page's first visit): as it is, or with the
/// refusal.
pub(super) fn form_after(
    (state, browser, locale): (&AppState, &Browser, &str),
    branding: Option<&signin::Branding>,
    spec: FormSpec<'_>,
    sent: Result<(), ServiceError>,
) -> Response {
    match sent {
        Ok(()) => form_page(state, browser, locale, branding, spec, None, None),
        Err(err) => form_or_refusal(state, browser, locale, branding, spec, err),
    }
}

/// A code form's answer: on with the outcome, the form again after a new code was sent (with
/// that notice), or the form with the refusal.
pub(super) fn code_form_answer(
    (state, browser, locale): (&AppState, &Browser, &str),
    (tx_id, branding): (&str, Option<&signin::Branding>),
    spec: FormSpec<'_>,
    result: Result<Option<Outcome>, ServiceError>,
) -> Response {
    match result {
        Ok(Some(outcome)) => respond::outcome(&state.config, tx_id, locale, outcome),
        Ok(None) => {
            let notice = Some(i18n::texts(locale).code_resent);
            form_page(state, browser, locale, branding, spec, None, notice)
        }
        Err(err) => form_or_refusal(state, browser, locale, branding, spec, err),
    }
}

pub(super) fn supported_locale(state: &AppState, locale: Option<&str>) -> String {
    gatehouse_core::authorize::pick_locale(locale, &state.config.supported_locales)
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            VERIFY_PATH,
            get(verify_email_page).post(verify_email_submit),
        )
        .route(RESET_PATH, get(reset_page).post(reset_submit))
}

// --- Email verification -------------------------------------------------------------------

fn verify_spec<'a>(t: &'a i18n::Texts, hidden: (&'a str, String)) -> FormSpec<'a> {
    let mut spec = FormSpec::new(
        t.verify_email_title,
        t.verify_email_intro,
        VERIFY_PATH,
        t.verify_button,
    );
    spec.resend = Some(vec![hidden.clone(), ("stage", "resend".into())]);
    spec.hidden = vec![hidden];
    spec.email_label = t.email;
    spec.ask_code = true;
    spec
}

/// The verification form of the emailed link: no sign-in to resend a code within.
fn verify_link_spec<'a>(t: &'a i18n::Texts, id: String, locale: &str) -> FormSpec<'a> {
    let mut spec = verify_spec(t, ("id", id));
    spec.hidden.push(("locale", locale.to_owned()));
    spec.resend = None;
    spec
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
        return super::invitations::invitation_page(State(state), browser, Query(q)).await;
    }
    let fallback = supported_locale(&state, q.locale.as_deref());
    if q.tx.is_some() {
        let tx = match transaction(&state, &browser, q.tx.as_deref()).await {
            Ok(tx) if tx.user().is_some() && !tx.proof().progress().is_done(Step::VerifyEmail) => {
                tx
            }
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
            &i18n::refusal(
                &fallback,
                &SignInError::FeatureOff("Email verification").into(),
            ),
        );
    }
    let spec = verify_link_spec(t, q.id.unwrap_or_default(), &fallback);
    form_page(&state, &browser, &fallback, None, spec, None, None)
}

async fn verify_email_submit(
    State(state): State<AppState>,
    browser: Browser,
    Form(form): Form<VerifyEmailForm>,
) -> Response {
    if !form.tx.is_empty() {
        return verify_sign_up_submit(state, browser, form).await;
    }
    let locale = supported_locale(&state, form.locale.as_deref());
    let t = i18n::texts(&locale);
    if let Err(err) = check_form_origin(&browser, &form) {
        return refused_post(&state, err);
    }
    match lifecycle::verify_email(&state, &form.id, &form.code, browser.ip.as_deref()).await {
        Ok(()) => message(
            &state.config,
            &locale,
            StatusCode::OK,
            t.email_verified_title,
            t.email_verified_text,
        ),
        Err(err) => {
            let spec = verify_link_spec(t, form.id.clone(), &locale);
            form_or_refusal(&state, &browser, &locale, None, spec, err)
        }
    }
}

async fn verify_sign_up_submit(
    state: AppState,
    browser: Browser,
    form: VerifyEmailForm,
) -> Response {
    let tx = match posted_transaction(&state, &browser, &form).await {
        Ok(tx) if tx.user().is_some() && !tx.proof().progress().is_done(Step::VerifyEmail) => tx,
        Ok(_) => return refused_post(&state, SignInError::WrongStep.into()),
        Err(err) => return refused_post(&state, err),
    };
    let locale = tx.request.locale.clone();
    let t = i18n::texts(&locale);
    let branding = tx.branding.clone();
    let spec = || verify_spec(t, ("tx", form.tx.clone()));
    let meta = browser.meta();
    let result = if form.stage == "resend" {
        signin::resend_sign_up_code(&state, &tx, meta)
            .await
            .map(|()| None)
    } else {
        signin::verify_sign_up_email(TxCall::new(&state, &form.tx, tx, meta), &form.code)
            .await
            .map(Some)
    };
    let page = (&state, &browser, locale.as_str());
    code_form_answer(page, (&form.tx, branding.as_ref()), spec(), result)
}

// --- Password reset -----------------------------------------------------------------------

fn reset_request_spec<'a>(t: &'a i18n::Texts, tx_id: &str, email: &'a str) -> FormSpec<'a> {
    let mut spec = FormSpec::new(t.reset_title, t.reset_intro, RESET_PATH, t.send_code);
    spec.hidden = vec![("tx", tx_id.to_owned()), ("stage", "request".into())];
    spec.ask_email = Some(email);
    spec.email_label = t.email;
    spec.back_url = Some(sign_in_url(tx_id, t.lang));
    spec
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
    let mut spec = FormSpec::new(
        t.reset_title,
        t.reset_code_intro,
        RESET_PATH,
        t.reset_button,
    )
    .for_emailed_code(tx_id, (email, t.email), ("reset", "request"));
    spec.ask_password = true;
    spec.back_url = Some(sign_in_url(tx_id, t.lang));
    spec
}

async fn reset_page(page: TxPage) -> Response {
    let (state, browser, tx_id, tx, locale) = page.into_parts();
    let t = i18n::texts(&locale);
    if !lifecycle::reset_on(&state) {
        return message(
            &state.config,
            &locale,
            StatusCode::BAD_REQUEST,
            t.error_title,
            &i18n::refusal(&locale, &SignInError::FeatureOff("Password reset").into()),
        );
    }
    let hint = tx.request.login_hint.clone().unwrap_or_default();
    let spec = with_captcha(&state, reset_request_spec(t, &tx_id, &hint));
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

async fn reset_submit(post: PostedTx<ResetForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
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
            Err(err) => form_or_refusal(
                &state,
                &browser,
                &locale,
                branding,
                without_resend_under_captcha(&state, reset_code_spec(t, &form.tx, &form.email)),
                err,
            ),
        };
    }
    let token = form
        .extra
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
        Err(err) => form_or_refusal(
            &state,
            &browser,
            &locale,
            branding,
            with_captcha(&state, reset_request_spec(t, &form.tx, &form.email)),
            err,
        ),
    }
}
