//! Revoking refresh and access tokens, and reading an access token back only while it stands.

use std::time::Duration;

use gatehouse_core::grant::AppType;
use gatehouse_core::jwt::{self, AccessTokenClaims};
use gatehouse_core::resource::ResourceAccessTokenClaims;
use gatehouse_core::TokenError;
use gatehouse_store::{AccountStore, DenialKind, RefreshTokenStore};

use super::IdentifiedClient;
use crate::crypto::sha256_hex;
use crate::error::ServiceError;
use crate::state::AppState;

/// A revoked access token's `jti`, kept until the token would have expired anyway.
const REVOKED_ACCESS_PREFIX: &str = "RAT-";

/// Revokes the access token with this `jti` until it would have expired anyway: in the shared
/// cache, where every request reads it, and held in the database, so a cache that loses its
/// contents gets it back rather than accepting the token again.
pub(super) async fn revoke_access_jti(
    state: &AppState,
    jti: &str,
    exp: i64,
) -> Result<(), ServiceError> {
    let left = exp - chrono::Utc::now().timestamp();
    if left > 0 {
        let key = format!("{REVOKED_ACCESS_PREFIX}{jti}");
        let left = Duration::from_secs(left as u64);
        state
            .held_denials()
            .hold(DenialKind::RevokedAccessToken, &key, jti, left)
            .await?;
        state.cache.set(&key, "1", left).await?;
    }
    state.revocations.insert(jti, true);
    Ok(())
}

/// Whether the access token with this `jti` was revoked. The deny-list lives in the shared
/// cache, so every instance sees a revocation: this one at once, another within
/// `revocation_check_ttl` (its copy of the last reading).
pub async fn access_token_revoked(state: &AppState, jti: &str) -> Result<bool, ServiceError> {
    if let Some(revoked) = state.revocations.get(jti) {
        return Ok(revoked);
    }
    let revoked = state
        .held_denials()
        .read(&format!("{REVOKED_ACCESS_PREFIX}{jti}"))
        .await?
        .is_some();
    state.revocations.insert(jti, revoked);
    Ok(revoked)
}

/// An access token this server signed, as read back.
pub(super) enum ReadToken {
    /// This server's own shape: a user's or an S2S app's, `aud` the issuer.
    Own(AccessTokenClaims),
    /// A user's token for a resource server (RFC 9068).
    Resource(ResourceAccessTokenClaims),
}

impl ReadToken {
    /// Either kind in this server's shape: a resource server's token keeps its `aud` and gets
    /// no roles, so nothing that wants a token for this server takes it.
    pub(super) fn into_claims(self) -> AccessTokenClaims {
        match self {
            ReadToken::Own(claims) => claims,
            ReadToken::Resource(rs) => AccessTokenClaims {
                iss: rs.iss,
                sub: rs.sub,
                azp: rs.client_id,
                aud: rs.aud,
                scope: rs.scope,
                iat: rs.iat,
                exp: rs.exp,
                jti: rs.jti,
                roles: None,
                impersonated_by: None,
                userinfo_claims: None,
                cnf: rs.cnf,
            },
        }
    }
}

/// Verifies an access token of either kind: signature, issuer, audience (the issuer for this
/// server's own, anything else for a resource server's), expiry, not revoked.
pub(super) async fn read_token(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Option<ReadToken>, ServiceError> {
    let Ok(payload) = state.keys.verify(token) else {
        return Ok(None);
    };
    let issuer = &state.config.issuer;
    let read = match serde_json::from_slice::<AccessTokenClaims>(&payload) {
        Ok(own) if jwt::check_access_token(&own, issuer, now).is_ok() => ReadToken::Own(own),
        Ok(_) => return Ok(None),
        Err(_) => match serde_json::from_slice::<ResourceAccessTokenClaims>(&payload) {
            Ok(rs) if rs.iss == *issuer && rs.exp > now && rs.aud != *issuer => {
                ReadToken::Resource(rs)
            }
            _ => return Ok(None),
        },
    };
    let jti = match &read {
        ReadToken::Own(own) => &own.jti,
        ReadToken::Resource(rs) => &rs.jti,
    };
    if access_token_revoked(state, jti).await? {
        return Ok(None);
    }
    Ok(Some(read))
}

/// [`read_token`], in this server's shape.
pub(super) async fn read_any_access_token(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Option<AccessTokenClaims>, ServiceError> {
    Ok(read_token(state, token, now)
        .await?
        .map(ReadToken::into_claims))
}

/// Verifies a user access token: signature, issuer, expiry, not revoked, a user subject.
pub async fn read_access_token(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Option<AccessTokenClaims>, ServiceError> {
    // A resource server's token (no roles, another audience) is no good here.
    Ok(read_any_access_token(state, token, now)
        .await?
        .filter(|claims| claims.roles.is_some() && claims.aud == state.config.issuer))
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
    if client.app.app_type == AppType::Web && !client.authenticated {
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
