//! Tokens for users: the authorization-code and refresh-token grants, revocation, and reading
//! an access token back (userinfo, logout).

use std::sync::Arc;

use chrono::DateTime;
use gatehouse_core::client_assertion::ClientAssertionError;
use gatehouse_core::grant::AppType;
use gatehouse_core::ids::UserId;
use gatehouse_core::jwt::Confirmation;
use gatehouse_core::pkce::left_half_hash;
use gatehouse_core::resource::{ResourceAccessTokenClaims, ACCESS_TOKEN_TYP};
use gatehouse_core::tokens::{
    id_token_claims, user_access_token_claims, IdTokenProfile, IdTokenShape, UserTokenFacts,
};
use gatehouse_core::TokenError;
use gatehouse_store::{
    AccountStore, App, AttributeAudience, NewRefreshToken, RefreshTokenStore, ResourceServerRecord,
    Store, UserRecord, UserStore,
};
use serde::Serialize;

use crate::crypto::{random_hex, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::keys::KeyRing;
use crate::state::AppState;

mod code_exchange;
mod impersonation;
mod introspection;
mod refresh;
mod revocation;
mod token_exchange;

pub use code_exchange::{exchange_code, CodeProof};
pub(crate) use code_exchange::{sign_in_tokens, FinishedSignIn};
pub use impersonation::{impersonate, ImpersonationTokens};
pub use introspection::introspect;
pub use refresh::refresh;
pub use revocation::{access_token_revoked, read_access_token, revoke, revoke_own_refresh_token};
pub use token_exchange::{exchange_token, ExchangeRequest, ExchangedToken};

/// Who the client says it is at the token or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct PresentedClient {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// A signed JWT (`private_key_jwt`, RFC 7523) and its `client_assertion_type`.
    pub assertion: Option<(String, String)>,
}

/// A client identified (and, for confidential apps, authenticated).
#[derive(Debug, Clone)]
pub struct IdentifiedClient {
    pub app: Arc<App>,
    pub authenticated: bool,
}

/// The token endpoint's answer for users (melody.md §3.2 field names).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserTokens {
    pub access_token: String,
    /// Seconds.
    pub expires_in: u64,
    /// Unix time, seconds.
    pub expires_on: i64,
    pub not_before: i64,
    /// `Bearer`, or `DPoP` for a DPoP-bound token.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    pub scope: String,
    /// With `offline_access`; after a refresh, only when the app rotates refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_on: Option<i64>,
    /// With `openid`, when a sign-in is exchanged (not on refresh).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
/// Identifies the client from Basic auth, the form or a signed assertion. Public apps name
/// themselves; confidential ones must prove their secret, or sign an assertion with their key
/// when they authenticate with `private_key_jwt`. `endpoint` is the path the request came to
/// (an assertion may name its URL as audience).
pub async fn identify_client(
    state: &AppState,
    presented: &PresentedClient,
    endpoint: &str,
) -> Result<Option<IdentifiedClient>, ServiceError> {
    if let Some((assertion_type, assertion)) = &presented.assertion {
        let app =
            key_authenticated_app(state, presented, assertion_type, assertion, endpoint).await?;
        return Ok(Some(IdentifiedClient {
            app,
            authenticated: true,
        }));
    }
    let Some(client_id) = presented.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let app = state
        .clients
        .app(client_id)
        .await?
        .ok_or(TokenError::UnknownClient)?;
    if app.security.fapi2_security_profile {
        return Err(gatehouse_core::fapi::FapiError::KeyAuthenticationRequired.into());
    }
    if app.security.token_endpoint_auth_method.is_some() {
        return Err(ClientAssertionError::AssertionRequired.into());
    }
    let secret = presented.client_secret.as_deref().filter(|s| !s.is_empty());
    let authenticated = match (app.app_type, secret) {
        (AppType::Spa, _) => false,
        (_, None) => return Err(TokenError::ConfidentialClientMustAuthenticate.into()),
        (_, Some(secret)) => {
            if !crate::services::clients::secret_matches(&app, secret) {
                return Err(TokenError::WrongClientSecret.into());
            }
            true
        }
    };
    if !app.is_active {
        return Err(TokenError::AppDisabled.into());
    }
    Ok(Some(IdentifiedClient { app, authenticated }))
}

/// The `token_endpoint_auth_method` of apps that sign assertions with their keys.
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";
/// The `token_endpoint_auth_method` of apps that make assertions with their secret (an HMAC).
pub const CLIENT_SECRET_JWT: &str = "client_secret_jwt";

/// The app a `private_key_jwt` assertion authenticates (RFC 7523 §3): its claims name it, its
/// keys verify it, this server is its audience, and its `jti` has not been seen while it is valid.
async fn key_authenticated_app(
    state: &AppState,
    presented: &PresentedClient,
    assertion_type: &str,
    assertion: &str,
    endpoint: &str,
) -> Result<Arc<App>, ServiceError> {
    use gatehouse_core::client_assertion::{self, ASSERTION_TYPE};
    if assertion_type != ASSERTION_TYPE {
        return Err(ClientAssertionError::WrongType.into());
    }
    if presented.client_secret.is_some() {
        return Err(TokenError::TwoClientAuthentications.into());
    }
    let jwt = gatehouse_core::jwt::split(assertion).map_err(|_| ClientAssertionError::Malformed)?;
    let unverified = client_assertion::read_claims(&jwt)?;
    // RFC 7521 §4.2: a client_id beside the assertion must be the one it names.
    if presented
        .client_id
        .as_deref()
        .is_some_and(|id| id != unverified.sub)
    {
        return Err(TokenError::TwoClientAuthentications.into());
    }
    let app = state
        .clients
        .app(&unverified.sub)
        .await?
        .ok_or(TokenError::UnknownClient)?;
    let claims: client_assertion::AssertionClaims =
        match app.security.token_endpoint_auth_method.as_deref() {
            Some(PRIVATE_KEY_JWT) => state.client_keys.verify(&app, assertion, &jwt).await?,
            Some(CLIENT_SECRET_JWT) => secret_signed_claims(state, &app, assertion)?,
            _ => return Err(ClientAssertionError::AssertionNotAllowed.into()),
        };
    if app.security.fapi2_security_profile {
        let alg = gatehouse_core::federation::JwsAlgorithm::parse(&jwt.header.alg)
            .map_err(|_| ClientAssertionError::UnsupportedAlgorithm(jwt.header.alg.clone()))?;
        gatehouse_core::fapi::algorithm_allowed(alg)?;
    }
    let issuer = state.config.issuer.as_str();
    let endpoint_url = format!("{issuer}{endpoint}");
    let now = chrono::Utc::now().timestamp();
    client_assertion::check_claims(&claims, &app.client_id, &[issuer, &endpoint_url], now)?;
    if !app.is_active {
        return Err(TokenError::AppDisabled.into());
    }
    // Remembered while the assertion could still be accepted.
    let remembered = (claims.exp - now + client_assertion::CLOCK_LEEWAY).max(1) as u64;
    let key = format!("CA-{}-{}", app.client_id, sha256_hex(claims.jti.as_bytes()));
    let first_use = state
        .cache
        .set_if_absent(&key, "1", std::time::Duration::from_secs(remembered))
        .await?;
    if !first_use {
        return Err(ClientAssertionError::Replayed.into());
    }
    Ok(app)
}

/// The claims of a `client_secret_jwt` assertion made with the app's (sealed) secret.
fn secret_signed_claims(
    state: &AppState,
    app: &App,
    assertion: &str,
) -> Result<gatehouse_core::client_assertion::AssertionClaims, ServiceError> {
    let sealed = app
        .security
        .secret_sealed
        .as_deref()
        .ok_or(ClientAssertionError::BadSecretSignature)?;
    let context = crate::services::apps::secret_context(&app.client_id);
    let secret = state.keys.open_secret(sealed, &context)?;
    crate::crypto::jws::verify_hmac(assertion, &secret)
        .ok_or_else(|| ClientAssertionError::BadSecretSignature.into())
}

/// The app a grant is for: the identified client, or (public apps only) the one named by the
/// code or token. Confidential apps must have authenticated; S2S apps have no users.
async fn app_for_grant(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    client_id: &str,
    grant: &'static str,
) -> Result<Arc<App>, ServiceError> {
    let app = match client {
        Some(c) => Arc::clone(&c.app),
        None => state
            .clients
            .app(client_id)
            .await?
            .ok_or(TokenError::InvalidAuthCode)?,
    };
    match app.app_type {
        AppType::S2s => return Err(TokenError::GrantNotAllowed(grant).into()),
        AppType::Web if !client.is_some_and(|c| c.authenticated) => {
            return Err(TokenError::ConfidentialClientMustAuthenticate.into())
        }
        _ => {}
    }
    if !app.is_active {
        return Err(TokenError::AppDisabled.into());
    }
    Ok(app)
}

/// The scopes a grant for `app` may carry: the app's, and those the resource server defines
/// when the token is for one (only then is a list made).
pub fn held_scopes<'a>(
    app: &'a App,
    resource: Option<&ResourceServerRecord>,
) -> std::borrow::Cow<'a, [String]> {
    match resource {
        None => std::borrow::Cow::Borrowed(&app.scopes),
        Some(rs) => {
            let mut held = app.scopes.clone();
            held.extend(rs.scope_names());
            std::borrow::Cow::Owned(held)
        }
    }
}

async fn active_user(state: &AppState, user_id: UserId) -> Result<UserRecord, ServiceError> {
    state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| TokenError::DisabledAccount.into())
}

struct Mint<'a> {
    app: &'a App,
    user: &'a UserRecord,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: i64,
    session_id: Option<i64>,
    /// Start a new refresh family, continue one, or issue none.
    refresh: RefreshPlan,
    /// The admin acting as this user (tokens minted from an impersonation refresh token).
    impersonated_by: Option<String>,
    /// The API the access token is for (RFC 8707); `None`: this server (Melody's tokens).
    resource: Option<&'a ResourceServerRecord>,
    /// How the user proved themselves (RFC 8176); empty when not known.
    amr: &'a [String],
    /// Whether the answer carries an ID token (when `openid` is granted). A refresh answers
    /// without one, so it must not spend a signature on it.
    id_token: bool,
    /// Claims the authorization's `claims` parameter asked for in the ID token and at userinfo.
    id_token_claims: &'a [String],
    userinfo_claims: &'a [String],
    /// The thumbprint of the DPoP key the request proved, to which the access token is bound.
    dpop: Option<&'a str>,
    now: i64,
}

enum RefreshPlan {
    None,
    NewFamily,
    /// A rotation: the family goes on, bound to the key it was bound to.
    Continue {
        family_id: String,
        expires_at: i64,
        dpop_jkt: Option<String>,
    },
}

/// The lifetimes and switches minting reads from the configuration.
#[derive(Debug, Clone, Copy)]
struct TokenSettings<'a> {
    issuer: &'a str,
    access_lifetime: u64,
    id_token_lifetime: u64,
    refresh_lifetime: u64,
    /// Whether ID tokens carry the user's attributes (`enable_user_attribute`).
    attributes: bool,
}

/// What minting user tokens reads and writes: roles and attributes, refresh tokens, the
/// signing keys and the token settings.
struct TokenIssuer<'a, S> {
    store: &'a S,
    keys: &'a KeyRing,
    settings: TokenSettings<'a>,
}

impl AppState {
    fn token_issuer(&self) -> TokenIssuer<'_, Store> {
        let config = &self.config;
        TokenIssuer {
            store: &self.store,
            keys: &self.keys,
            settings: TokenSettings {
                issuer: &config.issuer,
                access_lifetime: config.spa_access_token_expires_in,
                id_token_lifetime: config.id_token_expires_in,
                refresh_lifetime: config.spa_refresh_token_expires_in,
                attributes: config.enable_user_attribute,
            },
        }
    }
}

impl<S> TokenIssuer<'_, S>
where
    S: UserStore + AccountStore + RefreshTokenStore + Sync,
{
    /// Signs the access token (and, with `openid`, the ID token) and stores a refresh token when
    /// the plan and `offline_access` call for one; returns the tokens, the refresh family and
    /// the access token's `jti`.
    async fn mint(
        &self,
        m: Mint<'_>,
    ) -> Result<(UserTokens, Option<String>, String), ServiceError> {
        let config = self.settings;
        crate::services::dpop::check_required(m.app, m.dpop)?;
        let roles = self.store.user_role_names(m.user.id).await?;
        let jti = random_hex::<16>();
        let facts = UserTokenFacts {
            issuer: config.issuer,
            client_id: &m.app.client_id,
            auth_id: &m.user.auth_id,
            scopes: &m.scopes,
            roles: &roles,
            now: m.now,
            access_lifetime: config.access_lifetime as i64,
            jti: jti.clone(),
            impersonated_by: m.impersonated_by.clone(),
            id_token_shape: IdTokenShape {
                standard: m.app.standard_claims,
                requested: m.id_token_claims,
            },
            userinfo_claims: m.userinfo_claims,
        };
        let mut access = user_access_token_claims(&facts);
        access.cnf = m.dpop.map(Confirmation::of);
        let (access_token, expires_in) = match m.resource {
            None => (self.keys.sign(&access)?, config.access_lifetime),
            Some(rs) => {
                let lifetime = rs
                    .access_token_expires_in
                    .map_or(config.access_lifetime, |l| l.unsigned_abs());
                let mut claims = resource_access_token_claims(&facts, rs, m.auth_time, lifetime);
                (claims.acr, claims.amr) = authentication_context(m.amr);
                claims.cnf = access.cnf.clone();
                let alg = rs.signing_algorithm.as_deref();
                let token = self.keys.sign_for(alg, &claims, ACCESS_TOKEN_TYP).await?;
                (token, lifetime)
            }
        };
        let id_token = if m.id_token && m.scopes.iter().any(|s| s == "openid") {
            let profile = profile_of(m.user);
            let mut claims = id_token_claims(
                &facts,
                &profile,
                config.id_token_lifetime as i64,
                m.auth_time,
                m.nonce,
                left_half_hash(&access_token),
                m.session_id.map(|s| s.to_string()),
            );
            (claims.acr, claims.amr) = authentication_context(m.amr);
            if config.attributes {
                let shared = self
                    .store
                    .shared_attributes(m.user.id, AttributeAudience::IdToken)
                    .await?;
                claims.attributes = Some(shared.into_iter().collect());
            }
            let alg = m.app.id_token_signed_response_alg.as_deref();
            Some(self.keys.sign_for(alg, &claims, "JWT").await?)
        } else {
            None
        };
        let offline = m.scopes.iter().any(|s| s == "offline_access");
        // A public client's refresh tokens are bound to its DPoP key (RFC 9449 §5): only the
        // key's holder can use them. A confidential client's are bound to its authentication.
        let new_binding = m.dpop.filter(|_| m.app.app_type == AppType::Spa);
        let (family_id, expires_at, dpop_jkt) = match m.refresh {
            RefreshPlan::None => (None, 0, None),
            RefreshPlan::NewFamily if offline => (
                Some(random_hex::<16>()),
                m.now + config.refresh_lifetime as i64,
                new_binding.map(str::to_owned),
            ),
            RefreshPlan::NewFamily => (None, 0, None),
            RefreshPlan::Continue {
                family_id,
                expires_at,
                dpop_jkt,
            } => (Some(family_id), expires_at, dpop_jkt),
        };
        let refresh_token = match &family_id {
            Some(family_id) => {
                let token = random_token::<48>();
                let roles_json = serde_json::Value::from(roles.clone()).to_string();
                self.store
                    .insert_refresh_token(&NewRefreshToken {
                        token_hash: &sha256_hex(token.as_bytes()),
                        family_id,
                        user_id: m.user.id,
                        app_id: m.app.id,
                        session_id: m.session_id,
                        scope: &m.scopes.join(" "),
                        roles: &roles_json,
                        impersonated_by: m.impersonated_by.as_deref(),
                        resource: m.resource.map(|rs| rs.identifier.as_str()),
                        amr: m.amr,
                        userinfo_claims: m.userinfo_claims,
                        dpop_jkt: dpop_jkt.as_deref(),
                        expires_at: DateTime::from_timestamp(expires_at, 0)
                            .unwrap_or_default()
                            .naive_utc(),
                    })
                    .await?;
                Some(token)
            }
            None => None,
        };
        let tokens = UserTokens {
            access_token,
            expires_in,
            expires_on: m.now + expires_in as i64,
            not_before: m.now,
            token_type: crate::services::client_credentials::token_type(m.dpop),
            scope: access.scope,
            refresh_token_expires_in: refresh_token.as_ref().map(|_| expires_at - m.now),
            refresh_token_expires_on: refresh_token.as_ref().map(|_| expires_at),
            refresh_token,
            id_token,
        };
        Ok((tokens, family_id, jti))
    }
}

/// An RFC 9068 access token's claims for `rs`, from the same facts as this server's own.
fn resource_access_token_claims(
    facts: &UserTokenFacts<'_>,
    rs: &ResourceServerRecord,
    auth_time: i64,
    lifetime: u64,
) -> ResourceAccessTokenClaims {
    ResourceAccessTokenClaims {
        iss: facts.issuer.to_owned(),
        sub: facts.auth_id.to_owned(),
        aud: rs.identifier.clone(),
        client_id: facts.client_id.to_owned(),
        scope: facts.scopes.join(" "),
        iat: facts.now,
        exp: facts.now + lifetime as i64,
        jti: facts.jti.clone(),
        auth_time,
        acr: None,
        amr: None,
        act: None,
        cnf: None,
    }
}

/// The profile claims of a user (ID token and userinfo): the phone number counts as verified
/// when it is the number the user proved by SMS.
pub fn profile_of(user: &UserRecord) -> IdTokenProfile {
    let phone_number_verified = user.sms_phone_number_verified
        && user.phone_number.is_some()
        && user.phone_number == user.sms_phone_number;
    IdTokenProfile {
        email: user.email.clone(),
        email_verified: user.email_verified,
        locale: user.locale.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        phone_number: user.phone_number.clone(),
        phone_number_verified,
        address: user.postal_address(),
    }
}

/// `acr` and `amr` claims for a sign-in's methods; none when they are not known.
fn authentication_context(amr: &[String]) -> (Option<String>, Option<Vec<String>>) {
    if amr.is_empty() {
        return (None, None);
    }
    let level = gatehouse_core::signin::context::level(amr);
    (Some(level.to_owned()), Some(amr.to_vec()))
}

#[cfg(test)]
mod tests;
