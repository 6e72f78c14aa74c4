//! Tokens for users: the authorization-code and refresh-token grants, revocation, and reading
//! an access token back (userinfo, logout).

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use gatehouse_core::grant::authorization_code::{check_exchange, Exchange, IssuedCode};
use gatehouse_core::grant::refresh_token::{self, RefreshAction, StoredRefreshToken};
use gatehouse_core::grant::AppType;
use gatehouse_core::jwt::{self, AccessTokenClaims};
use gatehouse_core::lockout::failed_verifier_key;
use gatehouse_core::pkce::left_half_hash;
use gatehouse_core::scope::grant_scopes;
use gatehouse_core::tokens::{
    id_token_claims, user_access_token_claims, IdTokenProfile, UserTokenFacts,
};
use gatehouse_core::TokenError;
use gatehouse_store::{
    AccountStore, App, NewRefreshToken, RefreshTokenStore, UserRecord, UserStore,
};
use serde::{Deserialize, Serialize};

use crate::crypto::{constant_time_eq, random_hex, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::services::signin::code_key;
use crate::state::AppState;

/// Marks a redeemed code; a replay finds it and revokes what the code gave.
const USED_CODE_PREFIX: &str = "ACU-";
/// A revoked access token's `jti`, kept until the token would have expired anyway.
const REVOKED_ACCESS_PREFIX: &str = "RAT-";

/// Who the client says it is at the token or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct PresentedClient {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// A client identified (and, for confidential apps, authenticated).
#[derive(Debug, Clone)]
pub struct IdentifiedClient {
    pub app: Arc<App>,
    pub authenticated: bool,
}

/// The token endpoint's answer for users (melody.md §3.2 field names).
#[derive(Debug, Serialize)]
pub struct UserTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub expires_on: i64,
    pub not_before: i64,
    pub token_type: &'static str,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_on: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RedeemedCode {
    family_id: Option<String>,
    jti: String,
    exp: i64,
}

/// Identifies the client from Basic auth or the form. Public apps name themselves; confidential
/// ones must prove their secret.
pub async fn identify_client(
    state: &AppState,
    presented: &PresentedClient,
) -> Result<Option<IdentifiedClient>, ServiceError> {
    let Some(client_id) = presented.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let app = state
        .clients
        .app(client_id)
        .await?
        .ok_or(TokenError::UnknownClient)?;
    let secret = presented.client_secret.as_deref().filter(|s| !s.is_empty());
    let authenticated = match (app.kind(), secret) {
        (AppType::Spa, _) => false,
        (_, None) => return Err(TokenError::ConfidentialClientMustAuthenticate.into()),
        (_, Some(secret)) => {
            let ok = app.secret_hash.as_deref().is_some_and(|stored| {
                constant_time_eq(sha256_hex(secret.as_bytes()).as_bytes(), stored.as_bytes())
            });
            if !ok {
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

/// The app a grant is for: the identified client, or (public apps only) the one named by the
/// code or token. Confidential apps must have authenticated; S2S apps have no users.
async fn app_for_grant(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    client_id: &str,
    grant: &'static str,
) -> Result<Arc<App>, ServiceError> {
    let app = match client {
        Some(c) => c.app.clone(),
        None => state
            .clients
            .app(client_id)
            .await?
            .ok_or(TokenError::InvalidAuthCode)?,
    };
    match app.kind() {
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

async fn active_user(state: &AppState, user_id: i64) -> Result<UserRecord, ServiceError> {
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
    now: i64,
}

enum RefreshPlan {
    None,
    NewFamily,
    Continue { family_id: String, expires_at: i64 },
}

async fn mint(
    state: &AppState,
    m: Mint<'_>,
) -> Result<(UserTokens, Option<String>, String), ServiceError> {
    let config = &state.config;
    let roles = state.store.user_role_names(m.user.id).await?;
    let jti = random_hex::<16>();
    let facts = UserTokenFacts {
        issuer: &config.issuer,
        client_id: &m.app.client_id,
        auth_id: &m.user.auth_id,
        scopes: &m.scopes,
        roles: &roles,
        now: m.now,
        access_lifetime: config.spa_access_token_expires_in as i64,
        jti: jti.clone(),
        impersonated_by: m.impersonated_by.clone(),
    };
    let access = user_access_token_claims(&facts);
    let access_token = state.keys.sign(&access)?;
    let id_token = if m.scopes.iter().any(|s| s == "openid") {
        let profile = IdTokenProfile {
            email: m.user.email.clone(),
            email_verified: m.user.email_verified,
            locale: m.user.locale.clone(),
            first_name: m.user.first_name.clone(),
            last_name: m.user.last_name.clone(),
        };
        let mut claims = id_token_claims(
            &facts,
            &profile,
            config.id_token_expires_in as i64,
            m.auth_time,
            m.nonce,
            left_half_hash(&access_token),
            m.session_id.map(|s| s.to_string()),
        );
        if config.enable_user_attribute {
            use gatehouse_store::{AccountStore, AttributeAudience};
            let shared = state
                .store
                .shared_attributes(m.user.id, AttributeAudience::IdToken)
                .await?;
            claims.attributes = Some(shared.into_iter().collect());
        }
        Some(state.keys.sign(&claims)?)
    } else {
        None
    };
    let offline = m.scopes.iter().any(|s| s == "offline_access");
    let (family_id, expires_at) = match m.refresh {
        RefreshPlan::None => (None, 0),
        RefreshPlan::NewFamily if offline => (
            Some(random_hex::<16>()),
            m.now + config.spa_refresh_token_expires_in as i64,
        ),
        RefreshPlan::NewFamily => (None, 0),
        RefreshPlan::Continue {
            family_id,
            expires_at,
        } => (Some(family_id), expires_at),
    };
    let refresh_token = match &family_id {
        Some(family_id) => {
            let token = random_token::<48>();
            let roles_json = serde_json::Value::from(roles.clone()).to_string();
            state
                .store
                .insert_refresh_token(&NewRefreshToken {
                    token_hash: &sha256_hex(token.as_bytes()),
                    family_id,
                    user_id: m.user.id,
                    app_id: m.app.id,
                    session_id: m.session_id,
                    scope: &m.scopes.join(" "),
                    roles: &roles_json,
                    impersonated_by: m.impersonated_by.as_deref(),
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
        expires_in: config.spa_access_token_expires_in,
        expires_on: access.exp,
        not_before: m.now,
        token_type: "Bearer",
        scope: access.scope,
        refresh_token_expires_in: refresh_token.as_ref().map(|_| expires_at - m.now),
        refresh_token_expires_on: refresh_token.as_ref().map(|_| expires_at),
        refresh_token,
        id_token,
    };
    Ok((tokens, family_id, jti))
}

/// How long wrong PKCE verifiers are counted (Melody: 30 minutes).
const VERIFIER_LOCKOUT_SECS: u64 = 30 * 60;

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    ip: Option<&str>,
    now: i64,
) -> Result<UserTokens, ServiceError> {
    if code.is_empty() {
        return Err(TokenError::MissingParameter("code").into());
    }
    let Some(raw) = state.cache.take(&code_key(code)).await? else {
        revoke_replayed_code(state, code).await?;
        return Err(TokenError::InvalidAuthCode.into());
    };
    let issued: IssuedCode = serde_json::from_str(&raw).map_err(|_| TokenError::InvalidAuthCode)?;
    let app = app_for_grant(state, client, &issued.client_id, "authorization_code").await?;
    // AUTH_CODE_VERIFIER_THRESHOLD: wrong verifiers per user and IP, counted across codes (each
    // code is spent by its first exchange, right or wrong).
    let verifier_key = failed_verifier_key(issued.user_id, ip);
    let threshold = state.config.auth_code_verifier_threshold.filter(|t| *t > 0);
    if let Some(threshold) = threshold {
        if state.cache.counter(&verifier_key).await? >= i64::from(threshold) {
            return Err(TokenError::VerifierLockout.into());
        }
    }
    let checked = check_exchange(
        &issued,
        &Exchange {
            client_id: client.map(|c| c.app.client_id.as_str()),
            client_type: Some(app.kind()),
            redirect_uri,
            code_verifier,
            now,
        },
    );
    if let (Err(TokenError::InvalidCodeVerifier), Some(_)) = (&checked, threshold) {
        state
            .cache
            .increment(&verifier_key, Duration::from_secs(VERIFIER_LOCKOUT_SECS))
            .await?;
    }
    checked?;
    let user = active_user(state, issued.user_id).await?;
    let scopes = grant_scopes(&issued.scopes, &app.scopes);
    let (tokens, family_id, jti) = mint(
        state,
        Mint {
            app: &app,
            user: &user,
            scopes,
            nonce: issued.nonce.clone(),
            auth_time: issued.auth_time,
            session_id: issued.session_id,
            refresh: RefreshPlan::NewFamily,
            impersonated_by: None,
            now,
        },
    )
    .await?;
    let redeemed = RedeemedCode {
        family_id,
        jti,
        exp: tokens.expires_on,
    };
    let ttl = Duration::from_secs(state.config.spa_access_token_expires_in);
    let json =
        serde_json::to_string(&redeemed).map_err(|e| ServiceError::Internal(e.to_string()))?;
    state
        .cache
        .set(&format!("{USED_CODE_PREFIX}{code}"), &json, ttl)
        .await?;
    record_sign_in(state, user.id, app.id, ip);
    state.metrics.token_issued("authorization_code");
    Ok(tokens)
}

/// A code used twice means it leaked: end what its first use gave (RFC 6749 §4.1.2).
async fn revoke_replayed_code(state: &AppState, code: &str) -> Result<(), ServiceError> {
    let Some(raw) = state
        .cache
        .take(&format!("{USED_CODE_PREFIX}{code}"))
        .await?
    else {
        return Ok(());
    };
    let Ok(redeemed) = serde_json::from_str::<RedeemedCode>(&raw) else {
        return Ok(());
    };
    tracing::warn!("an authorization code was replayed; revoking the tokens it gave");
    if let Some(family) = &redeemed.family_id {
        state.store.revoke_refresh_family(family).await?;
    }
    revoke_access_jti(state, &redeemed.jti, redeemed.exp).await
}

/// Counts the sign-in and logs it, off the request path.
fn record_sign_in(state: &AppState, user_id: i64, app_id: i64, ip: Option<&str>) {
    let state = state.clone();
    let ip = ip.map(str::to_owned);
    tokio::spawn(async move {
        if let Err(err) = state.store.increment_login_count(user_id).await {
            tracing::warn!(error = %err, "could not count a sign-in");
        }
        if state.config.enable_sign_in_log {
            let detail = serde_json::json!({ "appId": app_id }).to_string();
            if let Err(err) = state
                .store
                .insert_sign_in_log(user_id, ip.as_deref(), &detail)
                .await
            {
                tracing::warn!(error = %err, "could not write the sign-in log");
            }
        }
    });
}

/// `grant_type=refresh_token`: rotation with reuse detection unless the app turned it off;
/// the app, the user and the user's roles are checked again.
pub async fn refresh(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    token: &str,
    now: i64,
) -> Result<UserTokens, ServiceError> {
    if token.is_empty() {
        return Err(TokenError::MissingParameter("refresh_token").into());
    }
    let stored = state
        .store
        .refresh_token_by_hash(&sha256_hex(token.as_bytes()))
        .await?;
    let app = match &stored {
        Some(record) => {
            Some(app_for_grant(state, client, &record.client_id, "refresh_token").await?)
        }
        None => None,
    };
    let decision = refresh_token::decide(
        stored.as_ref().map(|r| StoredRefreshToken {
            client_id: &r.client_id,
            expires_at: r.expires_at.and_utc().timestamp(),
            used: r.used_at.is_some(),
            revoked: r.revoked_at.is_some(),
        }),
        client.map(|c| c.app.client_id.as_str()),
        app.as_ref().is_none_or(|a| a.rotate_refresh_tokens),
        now,
    );
    let (record, app) = match (decision, stored, app) {
        (Ok(action), Some(record), Some(app)) => ((action, record), app),
        (Err((err, revoke_family)), stored, _) => {
            if let (true, Some(record)) = (revoke_family, stored) {
                tracing::warn!("a rotated refresh token was reused; revoking its family");
                state.store.revoke_refresh_family(&record.family_id).await?;
            }
            return Err(err.into());
        }
        _ => return Err(TokenError::InvalidRefreshToken.into()),
    };
    let (action, record) = record;
    let user = active_user(state, record.user_id).await?;
    let requested: Vec<String> = record.scope.split(' ').map(str::to_owned).collect();
    let scopes = grant_scopes(&requested, &app.scopes);
    let refresh = match action {
        RefreshAction::Rotate => {
            let stamp = DateTime::from_timestamp(now, 0)
                .unwrap_or_default()
                .naive_utc();
            if !state
                .store
                .mark_refresh_token_used(record.id, stamp)
                .await?
            {
                // Another request rotated it first: treat as reuse.
                state.store.revoke_refresh_family(&record.family_id).await?;
                return Err(TokenError::InvalidRefreshToken.into());
            }
            RefreshPlan::Continue {
                family_id: record.family_id.clone(),
                expires_at: record.expires_at.and_utc().timestamp(),
            }
        }
        RefreshAction::Reuse => RefreshPlan::None,
    };
    let (mut tokens, _, _) = mint(
        state,
        Mint {
            app: &app,
            user: &user,
            scopes,
            nonce: None,
            auth_time: now,
            session_id: record.session_id,
            refresh,
            impersonated_by: record.impersonated_by.clone(),
            now,
        },
    )
    .await?;
    // A refresh answers with an access token (and its successor refresh token); no ID token.
    tokens.id_token = None;
    state.metrics.token_issued("refresh_token");
    Ok(tokens)
}

/// What userinfo shows beside the user's own fields.
pub struct UserInfoExtras {
    /// The linked account with its roles, when there is one.
    pub linked: Option<(UserRecord, Vec<String>)>,
    /// Attributes flagged for userinfo (`enable_user_attribute`).
    pub attributes: Option<Vec<(String, String)>>,
}

pub async fn userinfo_extras(
    state: &AppState,
    user: &UserRecord,
) -> Result<UserInfoExtras, ServiceError> {
    use gatehouse_store::{AccountStore, AttributeAudience, UserStore};
    let linked = match user.linked_auth_id.as_deref() {
        Some(auth_id) => match state.store.user_by_auth_id(auth_id).await? {
            Some(other) => {
                let roles = state.store.user_role_names(other.id).await?;
                Some((other, roles))
            }
            None => None,
        },
        None => None,
    };
    let attributes = if state.config.enable_user_attribute {
        Some(
            state
                .store
                .shared_attributes(user.id, AttributeAudience::UserInfo)
                .await?,
        )
    } else {
        None
    };
    Ok(UserInfoExtras { linked, attributes })
}

/// What an impersonation hands the admin panel: a refresh token acting as the user.
#[derive(Debug, Serialize)]
pub struct ImpersonationTokens {
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
    pub refresh_token_expires_on: i64,
}

/// Lets an admin (the holder of `impersonator_token`, a user access token whose user holds an
/// impersonation role now) act as the user `auth_id` in the SPA app `app_id`.
pub async fn impersonate(
    state: &AppState,
    auth_id: &str,
    app_id: i64,
    impersonator_token: &str,
    now: i64,
) -> Result<ImpersonationTokens, ServiceError> {
    use gatehouse_core::admin::{check_impersonation, AdminRuleError, IMPERSONATION_SCOPES};
    use gatehouse_store::{AccountStore, AppStore, UserStore};
    if impersonator_token.trim().is_empty() {
        return Err(AdminRuleError::ImpersonatorTokenRequired.into());
    }
    let claims = read_access_token(state, impersonator_token.trim(), now)
        .await?
        .ok_or(AdminRuleError::InvalidImpersonatorToken)?;
    let impersonator = state
        .store
        .user_by_auth_id(&claims.sub)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AdminRuleError::InvalidImpersonatorToken)?;
    let target = state
        .store
        .user_by_auth_id(auth_id)
        .await?
        .ok_or(ServiceError::NotFound("No user found"))?;
    let app = state
        .store
        .app_by_id(app_id)
        .await?
        .ok_or(ServiceError::NotFound("No app found"))?;
    let impersonator_roles = state.store.user_role_names(impersonator.id).await?;
    let consented = state.store.consented_scopes(target.id, app.id).await?;
    check_impersonation(
        &impersonator_roles,
        &state.config.impersonation_roles,
        app.kind() == AppType::Spa,
        state.config.enable_user_app_consent,
        &consented,
    )?;
    let roles = state.store.user_role_names(target.id).await?;
    let lifetime = state.config.impersonation_refresh_token_expires_in;
    let expires_on = now + lifetime as i64;
    let token = random_token::<48>();
    state
        .store
        .insert_refresh_token(&NewRefreshToken {
            token_hash: &sha256_hex(token.as_bytes()),
            family_id: &random_hex::<16>(),
            user_id: target.id,
            app_id: app.id,
            session_id: None,
            scope: &IMPERSONATION_SCOPES.join(" "),
            roles: &serde_json::Value::from(roles).to_string(),
            impersonated_by: Some(&impersonator.auth_id),
            expires_at: DateTime::from_timestamp(expires_on, 0)
                .unwrap_or_default()
                .naive_utc(),
        })
        .await?;
    tracing::info!(impersonator = %impersonator.auth_id, target = %target.auth_id, "impersonation started");
    Ok(ImpersonationTokens {
        refresh_token: token,
        refresh_token_expires_in: lifetime,
        refresh_token_expires_on: expires_on,
    })
}

async fn revoke_access_jti(state: &AppState, jti: &str, exp: i64) -> Result<(), ServiceError> {
    let left = exp - chrono::Utc::now().timestamp();
    if left > 0 {
        state
            .cache
            .set(
                &format!("{REVOKED_ACCESS_PREFIX}{jti}"),
                "1",
                Duration::from_secs(left as u64),
            )
            .await?;
    }
    Ok(())
}

/// Whether the access token with this `jti` was revoked (the deny-list lives in the shared
/// cache, so every instance sees a revocation).
pub async fn access_token_revoked(state: &AppState, jti: &str) -> Result<bool, ServiceError> {
    Ok(state
        .cache
        .get(&format!("{REVOKED_ACCESS_PREFIX}{jti}"))
        .await?
        .is_some())
}

/// Verifies an access token of any kind (a user's or an S2S app's): signature, issuer, expiry,
/// not revoked.
async fn read_any_access_token(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Option<AccessTokenClaims>, ServiceError> {
    let Ok(payload) = state.keys.verify(token) else {
        return Ok(None);
    };
    let Ok(claims) = serde_json::from_slice::<AccessTokenClaims>(&payload) else {
        return Ok(None);
    };
    if jwt::check_access_token(&claims, &state.config.issuer, now).is_err()
        || access_token_revoked(state, &claims.jti).await?
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// Verifies a user access token: signature, issuer, expiry, not revoked, a user subject.
pub async fn read_access_token(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Option<AccessTokenClaims>, ServiceError> {
    Ok(read_any_access_token(state, token, now)
        .await?
        .filter(|claims| claims.roles.is_some()))
}

/// RFC 7009: revokes a refresh token (its whole family) or an access token. Unknown tokens
/// are not an error; a token of another client is.
pub async fn revoke(
    state: &AppState,
    client: &IdentifiedClient,
    token: &str,
    now: i64,
) -> Result<(), ServiceError> {
    if token.is_empty() {
        return Err(TokenError::MissingParameter("token").into());
    }
    if client.app.kind() == AppType::Web && !client.authenticated {
        return Err(TokenError::ConfidentialClientMustAuthenticate.into());
    }
    if let Some(record) = state
        .store
        .refresh_token_by_hash(&sha256_hex(token.as_bytes()))
        .await?
    {
        if record.client_id != client.app.client_id {
            return Err(TokenError::InvalidRefreshToken.into());
        }
        state.store.revoke_refresh_family(&record.family_id).await?;
        return Ok(());
    }
    // An S2S app's own tokens too: the management API's guard reads the same deny-list.
    if let Some(claims) = read_any_access_token(state, token, now).await? {
        if claims.azp != client.app.client_id {
            return Err(TokenError::InvalidRefreshToken.into());
        }
        revoke_access_jti(state, &claims.jti, claims.exp).await?;
    }
    Ok(())
}

/// Melody's `/identity/v1/logout`: ends the refresh token when it belongs to the caller.
pub async fn revoke_own_refresh_token(
    state: &AppState,
    auth_id: &str,
    token: &str,
) -> Result<Option<String>, ServiceError> {
    let Some(record) = state
        .store
        .refresh_token_by_hash(&sha256_hex(token.as_bytes()))
        .await?
    else {
        return Ok(None);
    };
    let owner = state.store.user_by_id(record.user_id).await?;
    if owner.is_none_or(|u| u.auth_id != auth_id) {
        return Ok(None);
    }
    state.store.revoke_refresh_family(&record.family_id).await?;
    Ok(Some(record.client_id))
}

/// The user an access token names, with roles, for userinfo.
pub async fn user_for_token(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<Option<(UserRecord, Vec<String>)>, ServiceError> {
    let Some(user) = state.store.user_by_auth_id(&claims.sub).await? else {
        return Ok(None);
    };
    let roles = state.store.user_role_names(user.id).await?;
    Ok(Some((user, roles)))
}
