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
use super::forms::{Posted, Protected, TxForm};
use super::{
    check_form_origin, form_error, load_error, page_locale, refused_post, respond, transaction,
    PageQuery,
};
use crate::error::ServiceError;
use crate::services::signin::{self, Outcome, StepCall, Transaction};
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
    SwitchOrg: SwitchOrg;
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

/// A page load for a transaction of this browser, at whatever step.
pub struct TxPage {
    pub state: AppState,
    pub browser: Browser,
    pub tx_id: String,
    pub tx: Transaction,
    /// The page's language: the query's, else the sign-in's.
    pub locale: String,
}

impl FromRequestParts<AppState> for TxPage {
    /// The expired page.
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
        let tx = transaction(state, &browser, q.tx.as_deref())
            .await
            .map_err(|err| load_error(state, &fallback, err))?;
        let locale = page_locale(state, q.locale.as_deref(), &tx);
        Ok(Self {
            state: state.clone(),
            browser,
            tx_id: q.tx.unwrap_or_default(),
            tx,
            locale,
        })
    }
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
        let TxPage {
            state,
            browser,
            tx_id,
            tx,
            locale,
        } = TxPage::from_request_parts(parts, state).await?;
        let at = signin::at_step(&state, &tx, P::STEPS, browser.meta())
            .await
            .map_err(|err| load_error(&state, &locale, err))?;
        Ok(Self {
            state,
            browser,
            tx_id,
            tx,
            at,
            locale,
            page: PhantomData,
        })
    }
}

/// A form `F` posted from this browser's own page: a foreign `Origin` is refused before the
/// body is read, a CSRF token other than the browser's after. A handler that takes one cannot
/// run for a forged post.
pub struct SameSitePost<F> {
    pub state: AppState,
    pub browser: Browser,
    pub form: F,
}

impl<F: Protected> FromRequest<AppState> for SameSitePost<F> {
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
        check_form_origin(&browser, &form).map_err(|err| refused_post(state, err))?;
        Ok(Self {
            state: state.clone(),
            browser,
            form,
        })
    }
}

/// A form `F` posted for a transaction of this browser, from this browser's page
/// ([`SameSitePost`], then the transaction).
pub struct PostedTx<F> {
    pub state: AppState,
    pub browser: Browser,
    pub form: F,
    pub tx: Transaction,
    /// The sign-in's language.
    pub locale: String,
}

impl<F: Posted> FromRequest<AppState> for PostedTx<F> {
    /// The refusal page.
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let SameSitePost {
            state,
            browser,
            form,
        } = SameSitePost::<F>::from_request(req, state).await?;
        let tx = transaction(&state, &browser, Some(form.tx()))
            .await
            .map_err(|err| refused_post(&state, err))?;
        let locale = tx.request.locale.clone();
        Ok(Self {
            state,
            browser,
            form,
            tx,
            locale,
        })
    }
}

/// A form `F` posted for a transaction owing one of `P::STEPS` now ([`PostedTx`], then the step).
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
        let PostedTx {
            state,
            browser,
            form,
            tx,
            locale,
        } = PostedTx::from_request(req, state).await?;
        let at = signin::at_step(&state, &tx, P::STEPS, browser.meta())
            .await
            .map_err(|err| refused_post(&state, err))?;
        Ok(Self {
            state,
            browser,
            form,
            tx,
            at,
            locale,
            page: PhantomData,
        })
    }
}

// The handlers take their extractor apart in one line; the field order is fixed here once.

impl TxPage {
    /// `(state, browser, tx_id, tx, locale)`.
    pub fn into_parts(self) -> (AppState, Browser, String, Transaction, String) {
        (self.state, self.browser, self.tx_id, self.tx, self.locale)
    }
}

impl<P> OwedPage<P> {
    /// `(state, browser, tx_id, tx, at, locale)`.
    pub fn into_parts(self) -> (AppState, Browser, String, Transaction, AtStep, String) {
        (
            self.state,
            self.browser,
            self.tx_id,
            self.tx,
            self.at,
            self.locale,
        )
    }
}

impl<F> PostedTx<F> {
    /// `(state, browser, form, tx, locale)`.
    pub fn into_parts(self) -> (AppState, Browser, F, Transaction, String) {
        (self.state, self.browser, self.form, self.tx, self.locale)
    }
}

impl<P, F: Posted> OwedPost<P, F> {
    /// `(state, browser, form, tx, at, locale)`.
    pub fn into_parts(self) -> (AppState, Browser, F, Transaction, AtStep, String) {
        (
            self.state,
            self.browser,
            self.form,
            self.tx,
            self.at,
            self.locale,
        )
    }

    /// Records the step done and sends the browser on; a refusal is the error page.
    pub async fn complete(self) -> Response {
        let (state, browser, form, tx, at, locale) = self.into_parts();
        let done =
            signin::complete_step(StepCall::new(&state, form.tx(), tx, at, browser.meta())).await;
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
