//! Sign-in through a configured OpenID Connect provider, as a first factor of the transaction.
//!
//! The state, nonce and PKCE verifier sent to the provider are kept in the cache (`OIDCS-<state>`,
//! `oidc_code_verifier_expires_in`), bound to the transaction, which is bound to the browser; the
//! callback takes that record once, so a replayed or foreign `state` is refused. After the
//! provider the transaction goes on through its normal steps (consent, MFA, …).

use std::time::Duration;

use gatehouse_core::federation::{
    authorization_url, check_claims, select_key, AuthorizationRedirect, Expected, FederationError,
    IdTokenClaims,
};
use gatehouse_core::jwt::split;
use gatehouse_core::signin::{FirstFactor, SignInError};
use gatehouse_core::social_profiles::ExternalProfile;
use gatehouse_store::{NewSocialUser, SocialAccountStore, StoreError, UserRecord};
use serde::{Deserialize, Serialize};

use crate::config::OidcProviderConfig;
use crate::crypto::jws;
use crate::crypto::random_token;
use crate::error::ServiceError;
use crate::services::account_linking::{self, PendingLink};
use crate::services::signin::{advance, Outcome, RequestMeta, SignedInUser, Transaction};
use crate::state::AppState;

const PENDING_PREFIX: &str = "OIDCS-";

/// What the callback needs to finish what [`start`] began.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub tx_id: String,
    pub provider: String,
    pub(crate) nonce: String,
    pub(crate) code_verifier: Option<String>,
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProviderAnswer {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub state: String,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Names posted beside the answer (Apple's `user` field, on the first authorization only),
    /// kept by this server; never read from the request itself.
    #[serde(skip)]
    pub posted_names: PostedNames,
}

/// A first and last name a provider posted outside its ID token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedNames {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

const POSTED_NAMES_PREFIX: &str = "OIDCN-";

/// Keeps the names posted with the answer for `answer_state` until its callback reads them.
pub async fn keep_posted_names(
    state: &AppState,
    answer_state: &str,
    names: &PostedNames,
) -> Result<(), ServiceError> {
    if answer_state.is_empty() || (names.first_name.is_none() && names.last_name.is_none()) {
        return Ok(());
    }
    let ttl = Duration::from_secs(state.config.oidc_code_verifier_expires_in);
    state
        .cache
        .set_json(&format!("{POSTED_NAMES_PREFIX}{answer_state}"), names, ttl)
        .await?;
    Ok(())
}

/// The names kept for `answer_state`, once; none when nothing (readable) was kept.
pub async fn take_posted_names(
    state: &AppState,
    answer_state: &str,
) -> Result<PostedNames, ServiceError> {
    if answer_state.is_empty() {
        return Ok(PostedNames::default());
    }
    let raw = state
        .cache
        .take(&format!("{POSTED_NAMES_PREFIX}{answer_state}"))
        .await?;
    Ok(raw
        .and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or_default())
}

/// The configured provider called `name`.
pub fn provider<'a>(
    state: &'a AppState,
    name: &str,
) -> Result<&'a OidcProviderConfig, ServiceError> {
    state
        .federation
        .providers()
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| SignInError::UnknownProvider(name.to_owned()).into())
}

/// The redirect URI registered at the provider.
pub fn callback_uri(state: &AppState, provider: &OidcProviderConfig) -> String {
    match provider.form_post_path {
        Some(path) => format!("{}{path}", state.config.issuer),
        None => format!(
            "{}/identity/v1/authorize-oidc/{}",
            state.config.issuer, provider.name
        ),
    }
}

/// The providers that show a button on the sign-in page.
pub fn buttons(state: &AppState) -> impl Iterator<Item = &OidcProviderConfig> {
    state
        .federation
        .providers()
        .iter()
        .filter(|p| p.enable_sign_in_button)
}

/// What Melody's `GET /identity/v1/authorize-oidc-configs` tells a page about a configured
/// `[[oidc_auth_providers]]` provider: public facts only, never its secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicProviderConfig {
    pub client_id: String,
    pub issuer: String,
    pub authorize_endpoint: String,
    pub token_endpoint: String,
    pub jwks_endpoint: String,
    pub enable_sign_in_button: bool,
    /// `policy=oidc_sso_<name>` on `/authorize` goes straight to every configured provider.
    pub enable_sign_in_redirect: bool,
}

/// The configured OpenID Connect providers (not the built-in Google and Apple), by name, with
/// their endpoints (from discovery where configured so).
pub async fn public_configs(
    state: &AppState,
) -> Result<Vec<(String, PublicProviderConfig)>, ServiceError> {
    let configured = &state.config.oidc_auth_providers;
    if configured.is_empty() {
        return Err(SignInError::FeatureOff("OpenID Connect sign-in").into());
    }
    let mut configs = Vec::with_capacity(configured.len());
    for listed in configured {
        let provider = provider(state, &listed.name)?;
        let endpoints = state.federation.endpoints(&state.http, provider).await?;
        configs.push((
            provider.name.clone(),
            PublicProviderConfig {
                client_id: provider.client_id.clone(),
                issuer: endpoints.issuer.clone(),
                authorize_endpoint: endpoints.authorization_endpoint.clone(),
                token_endpoint: endpoints.token_endpoint.clone(),
                jwks_endpoint: endpoints.jwks_uri.clone(),
                enable_sign_in_button: provider.enable_sign_in_button,
                enable_sign_in_redirect: true,
            },
        ));
    }
    Ok(configs)
}

/// Begins sign-in through `name` for the transaction; returns the provider's authorization URL.
pub async fn start(
    state: &AppState,
    tx_id: &str,
    tx: &Transaction,
    name: &str,
) -> Result<String, ServiceError> {
    let provider = provider(state, name)?;
    tx.expect_first_factor()?;
    let endpoints = state.federation.endpoints(&state.http, provider).await?;
    let (pending_state, pending) =
        remember(state, tx_id, &provider.name, provider.use_pkce).await?;
    let redirect_uri = callback_uri(state, provider);
    Ok(authorization_url(&AuthorizationRedirect {
        authorization_endpoint: &endpoints.authorization_endpoint,
        client_id: &provider.client_id,
        redirect_uri: &redirect_uri,
        scopes: &provider.scopes,
        state: &pending_state,
        nonce: &pending.nonce,
        code_verifier: pending.code_verifier.as_deref(),
        form_post: provider.form_post_path.is_some(),
    }))
}

/// Keeps a new state (with a nonce and, with `pkce`, a verifier) for `provider`, pointing at the
/// transaction; returns the state and what it keeps.
pub(crate) async fn remember(
    state: &AppState,
    tx_id: &str,
    provider: &str,
    pkce: bool,
) -> Result<(String, PendingSignIn), ServiceError> {
    let pending_state = random_token::<32>();
    let pending = PendingSignIn {
        tx_id: tx_id.to_owned(),
        provider: provider.to_owned(),
        nonce: random_token::<32>(),
        code_verifier: pkce.then(random_token::<32>),
    };
    let ttl = Duration::from_secs(state.config.oidc_code_verifier_expires_in);
    state
        .cache
        .set_json(&format!("{PENDING_PREFIX}{pending_state}"), &pending, ttl)
        .await?;
    Ok((pending_state, pending))
}

/// Begins sign-in through `name` for a transaction just started (the `oidc_sso_<name>` policy).
pub async fn begin_at(
    state: &AppState,
    tx_id: &str,
    name: &str,
    browser_token: Option<&str>,
) -> Result<String, ServiceError> {
    let tx = crate::services::signin::load(state, tx_id, browser_token).await?;
    start(state, tx_id, &tx, name).await
}

/// Takes the sign-in a callback's `state` names, once. Unknown, used or expired states, and
/// states begun for another provider, are all an unknown sign-in.
pub async fn take_pending(
    state: &AppState,
    name: &str,
    answer: &ProviderAnswer,
) -> Result<PendingSignIn, ServiceError> {
    if answer.state.is_empty() {
        return Err(SignInError::UnknownTransaction.into());
    }
    let raw = state
        .cache
        .take(&format!("{PENDING_PREFIX}{}", answer.state))
        .await?
        .ok_or(SignInError::UnknownTransaction)?;
    let pending: PendingSignIn =
        serde_json::from_str(&raw).map_err(|_| SignInError::UnknownTransaction)?;
    if pending.provider != name {
        return Err(SignInError::UnknownTransaction.into());
    }
    Ok(pending)
}

pub(crate) fn refused(provider: &str, reason: impl Into<String>) -> ServiceError {
    SignInError::ExternalRefused {
        provider: provider.to_owned(),
        reason: reason.into(),
    }
    .into()
}

/// Finishes the provider's part: the code for an ID token, the token checked, the user found or
/// made; then the transaction moves on.
pub async fn sign_in_with_provider(
    state: &AppState,
    pending: &PendingSignIn,
    tx: Transaction,
    answer: &ProviderAnswer,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    let provider = provider(state, &pending.provider)?;
    check_answer(&provider.name, answer, &tx)?;
    let endpoints = state.federation.endpoints(&state.http, provider).await?;
    let id_token = exchange_code(
        state,
        provider,
        pending,
        &endpoints.token_endpoint,
        &answer.code,
    )
    .await?;
    let claims = verify_id_token(
        state,
        provider,
        &endpoints,
        (&pending.nonce, false),
        &id_token,
        meta.now,
    )
    .await?;
    // The ID token says who signed in; posted names only fill what it leaves out.
    let mut profile = ExternalProfile::from(&claims);
    let posted = answer.posted_names.clone();
    profile.first_name = profile.first_name.or(posted.first_name);
    profile.last_name = profile.last_name.or(posted.last_name);
    sign_in_as(state, &provider.name, &pending.tx_id, tx, &profile, meta).await
}

/// The provider's own refusal (`error`), or an answer without a code, stops here.
pub(crate) fn check_answer(
    provider: &str,
    answer: &ProviderAnswer,
    tx: &Transaction,
) -> Result<(), ServiceError> {
    if let Some(error) = &answer.error {
        let detail = answer.error_description.as_deref().unwrap_or_default();
        return Err(refused(
            provider,
            format!("the provider answered `{error}` {detail}")
                .trim_end()
                .to_owned(),
        ));
    }
    if answer.code.is_empty() || tx.user().is_some() {
        return Err(SignInError::WrongStep.into());
    }
    Ok(())
}

/// The person the provider vouched for signs the transaction in, and it moves on.
pub(crate) async fn sign_in_as(
    state: &AppState,
    provider: &str,
    tx_id: &str,
    mut tx: Transaction,
    profile: &ExternalProfile,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.expect_first_factor()?;
    let user = match find_or_create_user(state, provider, &tx, profile).await? {
        ProviderUser::Found(user) => *user,
        ProviderUser::LinkOffered(link) => {
            // Nobody is signed in yet: the account's password comes first.
            tx.await_first_factor(None)?;
            tx.pending_link = Some(link);
            return advance(state, tx_id, tx, meta).await;
        }
    };
    tx.pending_link = None;
    let user = SignedInUser {
        id: user.id,
        auth_id: user.auth_id,
    };
    crate::services::signin::signed_in(state, tx_id, tx, user, FirstFactor::External, meta).await
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
}

/// RFC 6749 §2.3.1: the Basic credentials are form-encoded first.
pub(crate) fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn exchange_code(
    state: &AppState,
    provider: &OidcProviderConfig,
    pending: &PendingSignIn,
    token_endpoint: &str,
    code: &str,
) -> Result<String, ServiceError> {
    let redirect_uri = callback_uri(state, provider);
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect_uri),
    ];
    if let Some(verifier) = &pending.code_verifier {
        form.push(("code_verifier", verifier));
    }
    let secret = provider.client_secret.expose();
    let mut request = state.http.post(token_endpoint);
    match provider.token_endpoint_auth_method.as_str() {
        "client_secret_basic" => {
            request =
                request.basic_auth(form_encode(&provider.client_id), Some(form_encode(secret)));
        }
        "client_secret_post" => {
            form.push(("client_id", &provider.client_id));
            form.push(("client_secret", secret));
        }
        _ => form.push(("client_id", &provider.client_id)),
    }
    let response = request.form(&form).send().await.map_err(|e| {
        tracing::warn!(provider = %provider.name, error = %e, "the token endpoint is unreachable");
        SignInError::ProviderUnavailable(provider.name.clone())
    })?;
    let status = response.status();
    let answer: Option<TokenAnswer> = response.json().await.ok();
    match answer {
        Some(TokenAnswer {
            id_token: Some(token),
            ..
        }) if status.is_success() => Ok(token),
        Some(TokenAnswer {
            error: Some(error), ..
        }) => Err(refused(
            &provider.name,
            format!("the provider refused the code (`{error}`)"),
        )),
        _ if status.is_success() => Err(refused(&provider.name, "the provider sent no ID token")),
        _ => {
            tracing::warn!(provider = %provider.name, %status, "the token endpoint failed");
            Err(SignInError::ProviderUnavailable(provider.name.clone()).into())
        }
    }
}

/// `expected` is the nonce, and whether the issuer may come without its scheme.
pub(crate) async fn verify_id_token(
    state: &AppState,
    provider: &OidcProviderConfig,
    endpoints: &crate::services::oidc_metadata::Endpoints,
    (nonce, bare_issuer_too): (&str, bool),
    token: &str,
    now: i64,
) -> Result<IdTokenClaims, ServiceError> {
    let refuse = |e: FederationError| {
        tracing::info!(provider = %provider.name, error = %e, "refused an ID token");
        refused(&provider.name, e.to_string())
    };
    // The header names the algorithm and the key; our allow-list and the provider's key set
    // decide on them before the token is verified.
    let header = split(token)
        .map_err(|_| refuse(FederationError::Malformed))?
        .header;
    let keys = |stale| {
        state
            .federation
            .keys(&state.http, provider, &endpoints.jwks_uri, stale)
    };
    let cached = keys(false).await?;
    let refetched;
    let (algorithm, key) = match select_key(&cached, &header) {
        // A key published since we last looked (a rotation at the provider).
        Err(FederationError::UnknownKey) => {
            refetched = keys(true).await?;
            select_key(&refetched, &header).map_err(refuse)?
        }
        other => other.map_err(refuse)?,
    };
    let claims: IdTokenClaims = jws::verify(token, algorithm, key).map_err(refuse)?;
    let expected = Expected {
        issuer: &endpoints.issuer,
        bare_issuer_too,
        client_id: &provider.client_id,
        nonce,
    };
    check_claims(&claims, expected, now).map_err(refuse)?;
    Ok(claims)
}

/// At most `max` characters (the columns' limits), or nothing for an empty value.
fn bounded(value: Option<&str>, max: usize) -> Option<String> {
    let value = value?.trim();
    (!value.is_empty()).then(|| value.chars().take(max).collect())
}

/// Who a provider identity signs in as.
enum ProviderUser {
    Found(Box<UserRecord>),
    /// No user yet, and a password account with the same verified email may take the identity.
    LinkOffered(PendingLink),
}

async fn find_or_create_user(
    state: &AppState,
    provider: &str,
    tx: &Transaction,
    profile: &ExternalProfile,
) -> Result<ProviderUser, ServiceError> {
    if let Some(user) = state.store.social_user(provider, &profile.subject).await? {
        if !user.is_active {
            return Err(SignInError::DisabledAccount.into());
        }
        return Ok(ProviderUser::Found(Box::new(user)));
    }
    // Joining an existing account is no sign-up, so a closed sign-up does not stop it.
    if let Some(link) = account_linking::offer(state, provider, profile).await? {
        return Ok(ProviderUser::LinkOffered(link));
    }
    if tx.branding.as_ref().is_some_and(|b| !b.allow_sign_up) {
        return Err(SignInError::NoUserFound.into());
    }
    let email = profile
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| gatehouse_core::admin::email_address(e).is_ok());
    let new_user = NewSocialUser {
        auth_id: uuid::Uuid::new_v4().to_string(),
        provider: provider.to_owned(),
        subject: profile.subject.clone(),
        email_verified: email.is_some() && profile.email_verified,
        email,
        first_name: bounded(profile.first_name.as_deref(), 50),
        last_name: bounded(profile.last_name.as_deref(), 50),
        locale: tx.request.locale.clone(),
    };
    let change = crate::services::audit::user_created(
        &new_user.auth_id,
        new_user.email.as_deref(),
        new_user.first_name.as_deref(),
        new_user.last_name.as_deref(),
        gatehouse_core::webhooks::USER_SIGNED_UP,
    );
    let insert = state.store.insert_social_user(&new_user);
    match gatehouse_store::changes::recording(change, insert).await {
        Ok(user) => Ok(ProviderUser::Found(Box::new(user))),
        // Another request made the same identity's user a moment ago.
        Err(StoreError::Conflict(_)) => state
            .store
            .social_user(provider, &profile.subject)
            .await?
            .map(|user| ProviderUser::Found(Box::new(user)))
            .ok_or_else(|| ServiceError::Internal("a conflicting social user vanished".into())),
        Err(other) => Err(other.into()),
    }
}
