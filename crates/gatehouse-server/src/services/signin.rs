//! The sign-in transaction: started by `/authorize` (or the embedded API's `initiate`), advanced
//! by each page, finished with an authorization code. It lives in the shared cache, so any
//! instance can serve any step.

use std::time::Duration;

use gatehouse_core::authorize::{
    AuthorizationRequest, AuthorizeSettings, ClientFacts, ResponseMode,
};
use gatehouse_core::grant::authorization_code::IssuedCode;
use gatehouse_core::signin::{AtStep, FirstFactor, Proof, SignInError, Step, Subject};
use gatehouse_store::{AccountStore, App};
use serde::{Deserialize, Serialize};

use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::services::sessions;
use crate::services::step_facts::KnownFactors;
use crate::state::AppState;

pub(crate) use crate::services::password_check::{check_password, PasswordLockout};
pub use crate::services::sign_up::{
    resend_sign_up_code, sign_up, sign_up_attributes, sign_up_open, verify_sign_up_email,
    SignUpInput,
};

const TRANSACTION_PREFIX: &str = "TX-";
const CODE_PREFIX: &str = "AC-";

/// Policies this version serves as pages.
pub const KNOWN_POLICIES: &[&str] = &[
    "change_password",
    "manage_recovery_code",
    "manage_passkey",
    "change_email",
    "reset_mfa",
    "update_info",
    "change_org",
];

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
    /// The requested organization's look, when orgs are on and `org` names one.
    #[serde(default)]
    pub branding: Option<Branding>,
    /// Passwordless sign-in: the email the code went to, until the code proves it.
    #[serde(default)]
    pub passwordless_email: Option<String>,
    /// Recovery codes being shown (enrollment or regeneration), until the user confirms.
    #[serde(default)]
    pub recovery_codes: Option<Vec<String>>,
    /// An ePass connect sign-in: ends with the sauce instead of an authorization code.
    #[serde(default)]
    pub connect: Option<crate::services::connect::ConnectTarget>,
    /// A sign-in (or policy) for the user's own account page: ends back there.
    #[serde(default)]
    pub account_page: bool,
    /// A provider identity waiting for an account's password to be linked to it.
    #[serde(default)]
    pub pending_link: Option<crate::services::account_linking::PendingLink>,
}

/// An organization's branding for the sign-in pages; empty fields keep the server's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub logo_url: String,
    pub font_family: String,
    pub font_url: String,
    pub layout_color: String,
    pub label_color: String,
    pub primary_button_color: String,
    pub primary_button_label_color: String,
    pub primary_button_border_color: String,
    pub secondary_button_color: String,
    pub secondary_button_label_color: String,
    pub secondary_button_border_color: String,
    pub critical_indicator_color: String,
    pub terms_link: String,
    pub privacy_policy_link: String,
    /// Whether people may sign up through this organization's pages.
    pub allow_sign_up: bool,
}

impl From<gatehouse_store::OrgRecord> for Branding {
    fn from(o: gatehouse_store::OrgRecord) -> Self {
        Self {
            logo_url: o.company_logo_url,
            font_family: o.font_family,
            font_url: o.font_url,
            layout_color: o.layout_color,
            label_color: o.label_color,
            primary_button_color: o.primary_button_color,
            primary_button_label_color: o.primary_button_label_color,
            primary_button_border_color: o.primary_button_border_color,
            secondary_button_color: o.secondary_button_color,
            secondary_button_label_color: o.secondary_button_label_color,
            secondary_button_border_color: o.secondary_button_border_color,
            critical_indicator_color: o.critical_indicator_color,
            terms_link: o.terms_link,
            privacy_policy_link: o.privacy_policy_link,
            allow_sign_up: o.allow_public_registration,
        }
    }
}

/// The branding of the organization a request names (`org`), when orgs are on.
async fn org_branding(
    state: &AppState,
    org: Option<&str>,
) -> Result<Option<Branding>, ServiceError> {
    use gatehouse_store::OrgStore;
    let slug = org.map(str::trim).filter(|s| !s.is_empty());
    match slug {
        Some(slug) if state.config.enable_org => {
            Ok(state.store.org_by_slug(slug).await?.map(Branding::from))
        }
        _ => Ok(None),
    }
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

/// The server's rules for authorization requests; `known_policies` are those the caller
/// serves (pages serve [`KNOWN_POLICIES`], the embedded API none).
pub fn authorize_settings<'a>(
    config: &'a crate::config::Config,
    known_policies: &'a [&'a str],
) -> AuthorizeSettings<'a> {
    AuthorizeSettings {
        allow_plain_pkce: config.enable_plain_pkce_method,
        embedded_origins: &config.embedded_auth_origins,
        supported_locales: &config.supported_locales,
        known_policies,
        blocked_policies: &config.blocked_policies,
        // Only the pages can send a browser to a provider.
        federated_providers: if known_policies.is_empty() {
            Vec::new()
        } else {
            config
                .oidc_auth_providers
                .iter()
                .map(|p| p.name.as_str())
                .collect()
        },
        saml_sso: !known_policies.is_empty() && config.enable_saml_sso_as_sp,
    }
}

/// What the authorization checks need to know of an app.
pub fn client_facts(app: &App) -> ClientFacts<'_> {
    ClientFacts {
        app_type: app.kind(),
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
        None,
        false,
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
    use gatehouse_core::authorize::{Prompt, ResponseMode};
    let request = AuthorizationRequest {
        client_id: "gatehouse:account".into(),
        redirect_uri: ACCOUNT_PAGE.into(),
        state: String::new(),
        challenge: None,
        scopes: Vec::new(),
        nonce: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        response_mode: ResponseMode::Query,
        locale,
        policy,
        org: None,
    };
    begin_for(state, request, (0, title), browser_token, None, true).await
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
        Some(target),
        false,
    )
    .await
}

async fn begin_for(
    state: &AppState,
    request: AuthorizationRequest,
    (app_id, app_name): (i64, &str),
    browser_token: Option<&str>,
    connect: Option<crate::services::connect::ConnectTarget>,
    account_page: bool,
) -> Result<String, ServiceError> {
    let branding = org_branding(state, request.org.as_deref()).await?;
    let tx = Transaction {
        request,
        app_id,
        app_name: app_name.to_owned(),
        browser_key: browser_token.map(|t| sha256_hex(t.as_bytes())),
        proof: Proof::default(),
        session_id: None,
        branding,
        passwordless_email: None,
        recovery_codes: None,
        connect,
        account_page,
        pending_link: None,
    };
    let id = random_token::<32>();
    save(state, &id, &tx).await?;
    Ok(id)
}

/// Stores the transaction as it is now (also when a page keeps something for its next request).
pub async fn save(state: &AppState, id: &str, tx: &Transaction) -> Result<(), ServiceError> {
    let json = serde_json::to_string(tx).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let ttl = Duration::from_secs(state.config.sign_in_expires_in);
    state.cache.set(&transaction_key(id), &json, ttl).await?;
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

/// Email + password. Unknown email and wrong password answer alike, in the same time.
pub async fn sign_in_with_password(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    email: &str,
    password: &str,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    if !password_sign_in_on(state) {
        return Err(SignInError::FeatureOff("Password sign-in").into());
    }
    tx.expect_first_factor()?;
    let account = check_password(state, email, password, meta.ip).await?;
    let known = KnownFactors {
        user_id: account.id,
        mfa_types: account.mfa_types,
        otp_verified: account.otp_verified,
    };
    let user = SignedInUser {
        id: account.id,
        auth_id: account.auth_id,
    };
    tx.proof.sign_in(user, FirstFactor::Password, meta.now)?;
    tx.session_id = None;
    advance_knowing(state, id, tx, meta, Some(known)).await
}

/// Whether accounts sign in with their password on this server.
pub fn password_sign_in_on(state: &AppState) -> bool {
    state.config.enable_password_sign_in && !state.config.enable_passwordless_sign_in
}

/// A scope the user is asked to consent to, with what describes it.
pub struct ConsentScope {
    pub name: String,
    /// The scope's note (empty for unknown scopes).
    pub note: String,
    /// `(locale, text)` pairs.
    pub locales: Vec<(String, String)>,
}

/// The scopes still needing consent, with their stored descriptions.
pub async fn consent_scopes(
    state: &AppState,
    tx: &Transaction,
) -> Result<Vec<ConsentScope>, ServiceError> {
    use gatehouse_store::ScopeStore;
    let wanted = scopes_needing_consent(state, tx).await?;
    let records = state.store.list_scopes().await?;
    let mut scopes = Vec::with_capacity(wanted.len());
    for name in wanted {
        let (note, locales) = match records.iter().find(|r| r.name == name) {
            Some(record) => (
                record.note.clone(),
                state
                    .store
                    .scope_locales(record.id)
                    .await?
                    .into_iter()
                    .map(|l| (l.locale, l.value))
                    .collect(),
            ),
            None => (String::new(), Vec::new()),
        };
        scopes.push(ConsentScope {
            name,
            note,
            locales,
        });
    }
    Ok(scopes)
}

/// A browser whose single sign-on session is still valid skips the sign-in page.
pub async fn sign_in_with_session(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    session: &gatehouse_store::BrowserSession,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.expect_first_factor()?;
    let user = state
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or(SignInError::DisabledAccount)?;
    let user = SignedInUser {
        id: user.id,
        auth_id: user.auth_id,
    };
    let auth_time = session.auth_time.and_utc().timestamp();
    tx.proof.sign_in(user, FirstFactor::Session, auth_time)?;
    tx.session_id = Some(session.id);
    advance(state, id, tx, meta).await
}

/// The user's answer on the consent page. `Ok(None)`: consent denied (transaction ended).
pub async fn answer_consent(
    state: &AppState,
    id: &str,
    tx: Transaction,
    accept: bool,
    meta: RequestMeta<'_>,
) -> Result<Option<Outcome>, ServiceError> {
    let at = at_step(state, &tx, &[Step::Consent], meta).await?;
    if !accept {
        discard(state, id).await?;
        return Ok(None);
    }
    state
        .store
        .grant_consent(at.user().id, tx.app_id, &tx.request.scopes)
        .await?;
    complete_step(state, id, tx, at, meta).await.map(Some)
}

/// Requested scopes the user has not granted this app yet.
pub async fn scopes_needing_consent(
    state: &AppState,
    tx: &Transaction,
) -> Result<Vec<String>, ServiceError> {
    let Some(user) = tx.user() else {
        return Ok(tx.request.scopes.clone());
    };
    if tx.request.prompt.consent {
        return Ok(tx.request.scopes.clone());
    }
    let granted = state.store.consented_scopes(user.id, tx.app_id).await?;
    Ok(tx
        .request
        .scopes
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect())
}

/// A submission may begin: the transaction is signed in and owes one of `steps` now. The
/// answer names the account and is what [`complete_step`] records.
pub async fn at_step(
    state: &AppState,
    tx: &Transaction,
    steps: &[Step],
    meta: RequestMeta<'_>,
) -> Result<AtStep, ServiceError> {
    let owned = crate::services::step_facts::facts_for(state, tx, meta, None).await?;
    Ok(tx.proof.at(steps, &owned.facts())?)
}

/// Moves the transaction on: to its next page, or to the authorization code.
pub async fn advance(
    state: &AppState,
    id: &str,
    tx: Transaction,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    advance_knowing(state, id, tx, meta, None).await
}

/// `advance`, with the signed-in user's second factors when the caller has just read them.
async fn advance_knowing(
    state: &AppState,
    id: &str,
    tx: Transaction,
    meta: RequestMeta<'_>,
    known: Option<KnownFactors>,
) -> Result<Outcome, ServiceError> {
    let owned = crate::services::step_facts::facts_for(state, &tx, meta, known).await?;
    let facts = owned.facts();
    if let Some(step) = tx.proof.owed(&facts) {
        save(state, id, &tx).await?;
        return Ok(Outcome::Step(step));
    }
    tx.proof
        .secured(&facts)
        .map_err(gatehouse_core::TokenError::from)?;
    finish(state, id, tx, meta).await.map(Outcome::Done)
}

/// Records the step a submission began at (see [`at_step`]: asked before the submission
/// changes anything, since what it changes may change what is owed) and moves on.
pub async fn complete_step(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    at: AtStep,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.proof.complete(at)?;
    advance(state, id, tx, meta).await
}

/// The account proved itself again at the confirm step: the sign-in is fresh from `meta.now`.
pub async fn reconfirmed(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    at: AtStep,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.proof.reconfirm(at, meta.now)?;
    advance(state, id, tx, meta).await
}

/// The same request as a new sign-in with nothing proven (the browser's session is not used
/// for it); the old transaction ends. Returns the new transaction's id.
pub async fn start_over(
    state: &AppState,
    id: &str,
    tx: Transaction,
    browser_token: Option<&str>,
) -> Result<String, ServiceError> {
    let fresh = Transaction {
        browser_key: browser_token.map(|t| sha256_hex(t.as_bytes())),
        proof: Proof::default(),
        session_id: None,
        passwordless_email: None,
        recovery_codes: None,
        pending_link: None,
        ..tx
    };
    let new_id = random_token::<32>();
    save(state, &new_id, &fresh).await?;
    discard(state, id).await?;
    Ok(new_id)
}

/// An emailed code passed at `at`: the email step, or the TOTP or SMS step it stands in for.
pub async fn complete_by_email(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    at: AtStep,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.proof.complete_by_email(at)?;
    advance(state, id, tx, meta).await
}

/// The first factor proved `user`: the transaction is signed in and moves on. Refused once
/// the transaction has an account (first factors also ask [`Transaction::expect_first_factor`]
/// before they check anything, so a refused post changes nothing).
pub async fn signed_in(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    user: SignedInUser,
    factor: FirstFactor,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.proof.sign_in(user, factor, meta.now)?;
    tx.session_id = None;
    advance(state, id, tx, meta).await
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

async fn finish(
    state: &AppState,
    id: &str,
    tx: Transaction,
    meta: RequestMeta<'_>,
) -> Result<Completion, ServiceError> {
    let user = tx.proof.user().cloned().ok_or(SignInError::WrongStep)?;
    let auth_time = tx.proof.auth_time().unwrap_or(meta.now);
    let mut session_id = tx.session_id;
    let mut session_cookie = None;
    // Browser sign-ins start a single sign-on session; the embedded API has no browser.
    if session_id.is_none() && tx.browser_key.is_some() {
        if let Some((sid, cookie)) = sessions::start(
            state,
            user.id,
            auth_time,
            meta.ip,
            meta.user_agent,
            meta.now,
        )
        .await?
        {
            session_id = Some(sid);
            session_cookie = Some(cookie);
        }
    }
    if tx.account_page {
        discard(state, id).await?;
        return Ok(Completion {
            redirect_uri: ACCOUNT_PAGE.to_owned(),
            code: String::new(),
            state: String::new(),
            response_mode: tx.request.response_mode,
            locale: tx.request.locale.clone(),
            org: None,
            session_cookie,
            direct_redirect: Some(format!("{ACCOUNT_PAGE}?locale={}", tx.request.locale)),
        });
    }
    if let Some(target) = &tx.connect {
        let redirect =
            crate::services::connect::sauce_redirect(state, target, user.id, meta.now).await?;
        discard(state, id).await?;
        return Ok(Completion {
            redirect_uri: redirect.clone(),
            code: String::new(),
            state: String::new(),
            response_mode: tx.request.response_mode,
            locale: tx.request.locale,
            org: None,
            session_cookie,
            direct_redirect: Some(redirect),
        });
    }
    let code = random_token::<32>();
    let issued = IssuedCode {
        client_id: tx.request.client_id.clone(),
        redirect_uri: tx.request.redirect_uri.clone(),
        challenge: tx.request.challenge.clone(),
        scopes: tx.request.scopes.clone(),
        nonce: tx.request.nonce.clone(),
        user_id: user.id,
        auth_id: user.auth_id,
        auth_time,
        session_id,
        expires_at: meta.now + state.config.authorization_code_expires_in as i64,
    };
    let json = serde_json::to_string(&issued).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let ttl = Duration::from_secs(state.config.authorization_code_expires_in);
    state.cache.set(&code_key(&code), &json, ttl).await?;
    discard(state, id).await?;
    Ok(Completion {
        redirect_uri: tx.request.redirect_uri,
        code,
        state: tx.request.state,
        response_mode: tx.request.response_mode,
        locale: tx.request.locale,
        org: tx.request.org,
        session_cookie,
        direct_redirect: None,
    })
}
