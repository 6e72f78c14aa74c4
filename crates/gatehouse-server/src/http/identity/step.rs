//! The extractors every sign-in step handler starts from. A handler that takes [`OwedPage`] or
//! [`OwedPost`] cannot run unless the transaction was loaded for this browser and the core says
//! its step is the one owed now (and, for a post, the form came from this browser's page): the
//! check is in the type, not in each handler's memory.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Form;
use gatehouse_core::signin::{AtStep, SignInError, Step};

use super::browser::Browser;
use super::{at_step, load_error, page_locale, posted_at_step, refused_post, PageQuery, StepForm};
use crate::services::signin::Transaction;
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

/// A form posted for a transaction owing one of `P::STEPS` now, from this browser's page: a
/// foreign `Origin` is refused before the body is read, the CSRF token after.
pub struct OwedPost<P> {
    pub state: AppState,
    pub browser: Browser,
    pub form: StepForm,
    pub tx: Transaction,
    pub at: AtStep,
    /// The sign-in's language.
    pub locale: String,
    page: PhantomData<P>,
}

impl<P: StepPage> FromRequest<AppState> for OwedPost<P> {
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
        let Form(form) = Form::<StepForm>::from_request(Request::from_parts(parts, body), state)
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
