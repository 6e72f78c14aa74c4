//! The extractors every sign-in step handler starts from, and the answers they end with. A
//! handler that takes [`OwedPage`] or [`OwedPost`] cannot run unless the transaction was loaded
//! for this browser and the core says its step is the one owed now (and, for a post, the form
//! came from this browser's page): the check is in the type, not in each handler's memory. The
//! embedded API's `OwedSession` serves the same [`StepPage`] markers.

use std::future::Future;
use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use gatehouse_core::signin::{AtStep, SignInError, Step};

use super::browser::Browser;
use super::forms::{Posted, TxForm};
use super::{
    at_step, form_error, load_error, page_locale, posted_at_step, refused_post, respond, PageQuery,
};
use crate::error::ServiceError;
use crate::services::signin::{self, Outcome, Transaction};
use crate::state::AppState;

/// A page of the sign-in: the steps it serves.
pub trait StepPage: Send + Sync + 'static {
    const STEPS: &'static [Step];
}

/// Declares the pages: `Page: Step | Step;` makes a marker type serving those steps.
macro_rules! step_pages {
    ($($(#[$doc:meta])* $page:ident: $($step:ident)|+;)+) => {$(
        $(#[$doc])*
        pub struct $page;

        impl StepPage for $page {
            const STEPS: &'static [Step] = &[$(Step::$step),+];
        }
    )+};
}

step_pages! {
    ConfirmIdentity: ConfirmIdentity;
    ChangePassword: ChangePassword;
    UpdateInfo: UpdateInfo;
    ChangeOrg: ChangeOrg;
    ChangeEmail: ChangeEmail;
    MfaEnroll: MfaEnroll;
    OtpSetup: OtpSetup;
    OtpMfa: OtpMfa;
    /// A TOTP code posted from either page: the setup page's code proves TOTP as well.
    Otp: OtpSetup | OtpMfa;
    SmsMfa: SmsMfa;
    ResetMfa: ResetMfa;
    RecoveryCodeEnroll: RecoveryCodeEnroll;
    ManageRecoveryCode: ManageRecoveryCode;
    PasskeyEnroll: PasskeyEnroll;
    ManagePasskey: ManagePasskey;
    /// An emailed code: the email step, or the TOTP or SMS step it stands in for where the app
    /// allows the email backup ([`email_code_owed`]).
    EmailCode: EmailMfa | OtpMfa | SmsMfa;
    Consent: Consent;
}

/// A page load for a transaction owing one of `P::STEPS` now.
pub struct OwedPage<P> {
    pub state: AppState,
    pub browser: Browser,
    pub tx_id: String,
    pub tx: Transaction,
    pub at: AtStep,
    /// The page's language: the query's, else the sign-in's.
    pub locale: String,
    page: PhantomData<P>,
}

impl<P: StepPage> FromRequestParts<AppState> for OwedPage<P> {
    /// The expired page, or the refusal of a step not owed.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let browser = match Browser::from_request_parts(parts, state).await {
            Ok(browser) => browser,
            Err(never) => match never {},
        };
        let Query(q) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fallback = gatehouse_core::authorize::pick_locale(
            q.locale.as_deref(),
            &state.config.supported_locales,
        );
        let (tx, at) = at_step(state, &browser, q.tx.as_deref(), P::STEPS)
            .await
            .map_err(|err| load_error(state, &fallback, err))?;
        let locale = page_locale(state, q.locale.as_deref(), &tx);
        Ok(Self {
            state: state.clone(),
            browser,
            tx_id: q.tx.unwrap_or_default(),
            tx,
            at,
            locale,
            page: PhantomData,
        })
    }
}

/// A form `F` posted for a transaction owing one of `P::STEPS` now, from this browser's page: a
/// foreign `Origin` is refused before the body is read, the CSRF token after.
pub struct OwedPost<P, F = TxForm> {
    pub state: AppState,
    pub browser: Browser,
    pub form: F,
    pub tx: Transaction,
    pub at: AtStep,
    /// The sign-in's language.
    pub locale: String,
    page: PhantomData<P>,
}

impl<P: StepPage, F: Posted> FromRequest<AppState> for OwedPost<P, F> {
    /// The refusal page.
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let browser = match Browser::from_request_parts(&mut parts, state).await {
            Ok(browser) => browser,
            Err(never) => match never {},
        };
        if browser.foreign_origin {
            return Err(refused_post(state, SignInError::CsrfMismatch.into()));
        }
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (tx, at) = posted_at_step(state, &browser, &form, P::STEPS)
            .await
            .map_err(|err| refused_post(state, err))?;
        let locale = tx.request.locale.clone();
        Ok(Self {
            state: state.clone(),
            browser,
            form,
            tx,
            at,
            locale,
            page: PhantomData,
        })
    }
}

impl<P, F: Posted> OwedPost<P, F> {
    /// Records the step done and sends the browser on; a refusal is the error page.
    pub async fn complete(self) -> Response {
        let Self {
            state,
            browser,
            form,
            tx,
            at,
            locale,
            ..
        } = self;
        let done = signin::complete_step(&state, form.tx(), tx, at, browser.meta()).await;
        match done {
            Ok(outcome) => respond::outcome(&state.config, form.tx(), &locale, outcome),
            Err(err) => refused_post(&state, err),
        }
    }
}

/// Whether an email code may answer the step owed: the email step, or the TOTP or SMS step
/// when the app allows the email backup (an app that cannot be read allows what the server
/// does). The page and the embedded API both ask this.
pub async fn email_code_owed(state: &AppState, tx: &Transaction, at: &AtStep) -> bool {
    if at.step() == Step::EmailMfa {
        return true;
    }
    let app = state
        .clients
        .app(&tx.request.client_id)
        .await
        .ok()
        .flatten();
    crate::services::mfa::email_backup_allowed(state, app.as_deref())
}

/// A refusal a form shows, with the status it is answered with.
pub type Refusal = (StatusCode, String);

/// The page a failed submission shows: its form `again` with the refusal, or the error page
/// for failures a form cannot show.
pub async fn refused_again<Fut: Future<Output = Response>>(
    state: &AppState,
    locale: &str,
    err: ServiceError,
    again: impl FnOnce(Refusal) -> Fut,
) -> Response {
    match form_error(state, locale, err) {
        Ok(refusal) => again(refusal).await,
        Err(page) => *page,
    }
}

/// Where a submission leads: on to the next step or the client, or back to its form.
pub async fn answered<Fut: Future<Output = Response>>(
    state: &AppState,
    (tx_id, locale): (&str, &str),
    result: Result<Outcome, ServiceError>,
    again: impl FnOnce(Refusal) -> Fut,
) -> Response {
    match result {
        Ok(outcome) => respond::outcome(&state.config, tx_id, locale, outcome),
        Err(err) => refused_again(state, locale, err, again).await,
    }
}
