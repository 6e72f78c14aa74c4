//! The sign-in transaction: started by `/authorize` (or the embedded API's `initiate`), advanced
//! by each page, finished with an authorization code. It lives in the shared cache, so any
//! instance can serve any step.

use std::time::Duration;

use gatehouse_core::authorize::{
    AuthorizationRequest, AuthorizeSettings, ClientFacts, ResponseMode,
};
use gatehouse_core::signin::{AtStep, FirstFactor, Proof, SignInError, Step, Subject};
use gatehouse_store::App;
use serde::{Deserialize, Serialize};

use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

pub(crate) use crate::services::password_check::PasswordLockout;
pub use crate::services::sign_up::{
    resend_sign_up_code, sign_up, sign_up_attributes, sign_up_open, verify_sign_up_email,
    SignUpInput,
};

mod advance;
mod branding;
mod consent;
mod first_factor;
mod org_switch;

pub use advance::{advance, at_step, complete_step, passed, signed_in, start_over, Passed};
use branding::org_branding;
pub use branding::Branding;
pub use consent::{answer_consent, consent_scopes, scopes_needing_consent, ConsentScope};
pub use first_factor::{password_sign_in_on, sign_in_with_password, sign_in_with_session};
pub use org_switch::{org_choices, org_switch_on, switch_org, OrgChoices};

const TRANSACTION_PREFIX: &str = "TX-";
const CODE_PREFIX: &str = "AC-";

/// The account a transaction has signed in.
pub type SignedInUser = Subject;

/// One sign-in in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub request: AuthorizationRequest,
    pub app_id: i64,
    pub app_name: String,
    /// SHA-256 of the browser's CSRF cookie: only that browser may continue. `None` for the
    /// embedded API, whose session id is the only handle.
    pub browser_key: Option<String>,
    /// Who signed in and what they passed: changed only through this module's first-factor
    /// and step functions, which the core's rules govern.
    #[serde(flatten)]
    proof: Proof,
    pub session_id: Option<i64>,
    /// The methods the resumed session's sign-in passed (RFC 8176), when it is known.
    #[serde(default)]
    pub session_methods: Option<Vec<String>>,
    /// The requested organization's look, when orgs are on and `org` names one.
    pub branding: Option<Branding>,
    /// Passwordless sign-in: the email the code went to, until the code proves it.
    pub passwordless_email: Option<String>,
    /// Recovery codes being shown (enrollment or regeneration), until the user confirms.
    pub recovery_codes: Option<Vec<String>>,
    /// An ePass connect sign-in: ends with the sauce instead of an authorization code.
    pub connect: Option<crate::services::connect::ConnectTarget>,
    /// A sign-in approving a device (RFC 8628): ends with the approval instead of a code.
    #[serde(default)]
    pub device: Option<crate::services::device_flow::DeviceTarget>,
    /// A sign-in (or policy) for the user's own account page: ends back there.
    #[serde(default)]
    pub account_page: bool,
    /// A provider identity waiting for an account's password to be linked to it.
    pub pending_link: Option<crate::services::account_linking::PendingLink>,
}

/// Facts about the request that are not in the transaction.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: i64,
    /// The browser's remember-device cookie (`<device id>.<secret>`), if any.
    pub device: Option<&'a str>,
}

/// A submission to a sign-in transaction: the transaction and its id and the request's facts.
/// The services that answer one take it whole.
pub struct TxCall<'a> {
    pub state: &'a AppState,
    pub id: &'a str,
    pub tx: Transaction,
    pub meta: RequestMeta<'a>,
}

impl<'a> TxCall<'a> {
    pub fn new(state: &'a AppState, id: &'a str, tx: Transaction, meta: RequestMeta<'a>) -> Self {
        Self {
            state,
            id,
            tx,
            meta,
        }
    }

    /// The parts, for a service that uses them one by one.
    pub fn into_parts(self) -> (&'a AppState, &'a str, Transaction, RequestMeta<'a>) {
        (self.state, self.id, self.tx, self.meta)
    }
}

/// A submission at a sign-in step: the transaction's submission and the step it began at (see
/// [`at_step`]). Every step's service takes one.
pub struct StepCall<'a> {
    pub call: TxCall<'a>,
    pub at: AtStep,
}

impl<'a> StepCall<'a> {
    pub fn new(
        state: &'a AppState,
        id: &'a str,
        tx: Transaction,
        at: AtStep,
        meta: RequestMeta<'a>,
    ) -> Self {
        let call = TxCall::new(state, id, tx, meta);
        Self { call, at }
    }

    /// The parts, for a service that uses them one by one.
    pub fn into_parts(self) -> (&'a AppState, &'a str, Transaction, AtStep, RequestMeta<'a>) {
        let (state, id, tx, meta) = self.call.into_parts();
        (state, id, tx, self.at, meta)
    }
}

/// The authorization response the client is owed.
#[derive(Debug, Clone)]
pub struct Completion {
    pub redirect_uri: String,
    pub code: String,
    pub state: String,
    pub response_mode: ResponseMode,
    pub locale: String,
    pub org: Option<String>,
    /// A new single sign-on cookie to set, if a session was started.
    pub session_cookie: Option<String>,
    /// No code was issued: an ePass connect sign-in (the app's URL with the sauce) or the
    /// user's own account page.
    pub direct_redirect: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The transaction stopped at a page.
    Step(Step),
    Done(Completion),
}

fn transaction_key(id: &str) -> String {
    format!("{TRANSACTION_PREFIX}{id}")
}

pub fn code_key(code: &str) -> String {
    format!("{CODE_PREFIX}{code}")
}

/// Where an authorization request arrives: the pages serve policy pages and can send a browser
/// to an outside provider; the embedded API does neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSurface {
    Pages,
    EmbeddedApi,
}

/// The server's rules for authorization requests arriving on `surface`.
pub fn authorize_settings(
    config: &crate::config::Config,
    surface: RequestSurface,
) -> AuthorizeSettings<'_> {
    let pages = surface == RequestSurface::Pages;
    AuthorizeSettings {
        allow_plain_pkce: config.enable_plain_pkce_method,
        embedded_origins: &config.embedded_auth_origins,
        supported_locales: &config.supported_locales,
        policy_pages: pages,
        spa_only: surface == RequestSurface::EmbeddedApi,
        blocked_policies: &config.blocked_policies,
        // Only the pages can send a browser to a provider.
        federated_providers: if pages {
            config
                .oidc_auth_providers
                .iter()
                .map(|p| p.name.as_str())
                .collect()
        } else {
            Vec::new()
        },
        saml_sso: pages && config.enable_saml_sso_as_sp,
    }
}

/// What the authorization checks need to know of an app.
pub fn client_facts(app: &App) -> ClientFacts<'_> {
    ClientFacts {
        app_type: app.app_type,
        is_active: app.is_active,
        redirect_uris: &app.redirect_uris,
        scopes: &app.scopes,
    }
}

/// Starts a transaction for a checked request; returns its id.
pub async fn begin(
    state: &AppState,
    request: AuthorizationRequest,
    app: &App,
    browser_token: Option<&str>,
) -> Result<String, ServiceError> {
    begin_for(
        state,
        request,
        (app.id, &app.name),
        browser_token,
        Ending::Code,
    )
    .await
}

/// The user's own account page ("my pass").
pub const ACCOUNT_PAGE: &str = "/i";

/// Starts a sign-in for the account page, or one of its policies (`policy`).
pub async fn begin_account(
    state: &AppState,
    locale: String,
    policy: Option<String>,
    title: &str,
    browser_token: Option<&str>,
) -> Result<String, ServiceError> {
    let request = AuthorizationRequest {
        policy,
        ..AuthorizationRequest::started_by_server(
            "gatehouse:account".into(),
            ACCOUNT_PAGE.into(),
            Vec::new(),
            locale,
        )
    };
    begin_for(
        state,
        request,
        (0, title),
        browser_token,
        Ending::AccountPage,
    )
    .await
}

/// Starts an ePass connect sign-in for `app` (shown by `display_name`).
pub async fn begin_connect(
    state: &AppState,
    request: AuthorizationRequest,
    display_name: &str,
    target: crate::services::connect::ConnectTarget,
    browser_token: Option<&str>,
) -> Result<String, ServiceError> {
    begin_for(
        state,
        request,
        (0, display_name),
        browser_token,
        Ending::Connect(target),
    )
    .await
}

/// Starts the sign-in that approves the device `pending` names, on this browser.
pub async fn begin_device(
    state: &AppState,
    pending: &crate::services::device_flow::PendingDevice,
    locale: String,
    browser_token: &str,
) -> Result<String, ServiceError> {
    let app = &pending.app;
    // The pages' refusals (a denied consent) land back on the verification page.
    let back = format!("{}?locale={locale}", crate::services::device_flow::PAGE);
    let scopes = pending.grant.scopes.clone();
    let request =
        AuthorizationRequest::started_by_server(app.client_id.clone(), back, scopes, locale);
    let ending = Ending::Device(pending.target.clone());
    begin_for(
        state,
        request,
        (app.id, &app.name),
        Some(browser_token),
        ending,
    )
    .await
}

/// How a new transaction ends once the user is signed in.
enum Ending {
    /// An authorization code for the client.
    Code,
    Connect(crate::services::connect::ConnectTarget),
    Device(crate::services::device_flow::DeviceTarget),
    AccountPage,
}

async fn begin_for(
    state: &AppState,
    request: AuthorizationRequest,
    (app_id, app_name): (i64, &str),
    browser_token: Option<&str>,
    ending: Ending,
) -> Result<String, ServiceError> {
    let account_page = matches!(ending, Ending::AccountPage);
    let (connect, device) = match ending {
        Ending::Connect(target) => (Some(target), None),
        Ending::Device(target) => (None, Some(target)),
        Ending::Code | Ending::AccountPage => (None, None),
    };
    let branding = org_branding(state, request.org.as_deref()).await?;
    let tx = Transaction {
        request,
        app_id,
        app_name: app_name.to_owned(),
        browser_key: browser_token.map(|t| sha256_hex(t.as_bytes())),
        proof: Proof::default(),
        session_id: None,
        session_methods: None,
        branding,
        passwordless_email: None,
        recovery_codes: None,
        connect,
        device,
        account_page,
        pending_link: None,
    };
    let id = random_token::<32>();
    save(state, &id, &tx).await?;
    Ok(id)
}

/// Stores the transaction as it is now (also when a page keeps something for its next request).
pub async fn save(state: &AppState, id: &str, tx: &Transaction) -> Result<(), ServiceError> {
    let ttl = Duration::from_secs(state.config.sign_in_expires_in);
    state.cache.set_json(&transaction_key(id), tx, ttl).await?;
    Ok(())
}

/// The transaction `id`, if it exists and this browser (by its CSRF cookie) started it.
pub async fn load(
    state: &AppState,
    id: &str,
    browser_token: Option<&str>,
) -> Result<Transaction, ServiceError> {
    let raw = state
        .cache
        .get(&transaction_key(id))
        .await?
        .ok_or(SignInError::UnknownTransaction)?;
    let tx: Transaction =
        serde_json::from_str(&raw).map_err(|_| SignInError::UnknownTransaction)?;
    if let Some(expected) = &tx.browser_key {
        let presented = browser_token.map(|t| sha256_hex(t.as_bytes()));
        if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) {
            return Err(SignInError::CsrfMismatch.into());
        }
    }
    Ok(tx)
}

/// Forgets a transaction (denied consent, cancelled).
pub async fn discard(state: &AppState, id: &str) -> Result<(), ServiceError> {
    state.cache.delete(&transaction_key(id)).await?;
    Ok(())
}

impl Transaction {
    /// Who signed in and what they passed.
    pub fn proof(&self) -> &Proof {
        &self.proof
    }

    /// The signed-in account, if any.
    pub fn user(&self) -> Option<&SignedInUser> {
        self.proof.user()
    }

    pub fn first_factor(&self) -> Option<FirstFactor> {
        self.proof.first_factor()
    }

    /// Refuses once an account is signed in (see [`Proof::expect_first_factor`]).
    pub fn expect_first_factor(&self) -> Result<(), SignInError> {
        self.proof.expect_first_factor()
    }

    /// A first factor under way that names no account yet (see [`Proof::await_first_factor`]).
    pub fn await_first_factor(&mut self, factor: Option<FirstFactor>) -> Result<(), SignInError> {
        self.proof.await_first_factor(factor)
    }
}
