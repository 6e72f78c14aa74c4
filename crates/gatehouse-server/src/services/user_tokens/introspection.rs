//! Token introspection (RFC 7662): finds the token and the state of its app and user; what the
//! caller may learn is decided in `gatehouse_core::introspection`.

use gatehouse_core::grant::refresh_token::StoredRefreshToken;
use gatehouse_core::grant::AppType;
use gatehouse_core::introspection::{self, FoundToken, Introspection, StoredRefresh, TokenHint};
use gatehouse_core::jwt::AccessTokenClaims;
use gatehouse_core::TokenError;
use gatehouse_store::{
    AccountStore, RefreshTokenRecord, RefreshTokenStore, ResourceServerStore, UserStore,
};

use super::revocation::read_any_access_token;
use super::IdentifiedClient;
use crate::crypto::sha256_hex;
use crate::error::ServiceError;
use crate::state::AppState;

/// Answers `client`'s question about `token`. Only apps that authenticated with their secret
/// (S2S and web) may ask; nothing is changed by asking (a rotated-out refresh token is reported
/// inactive, its family is not revoked).
pub async fn introspect(
    state: &AppState,
    client: &IdentifiedClient,
    token: &str,
    hint: Option<&str>,
    now: i64,
) -> Result<Introspection, ServiceError> {
    if client.app.app_type == AppType::Spa || !client.authenticated {
        return Err(TokenError::PublicClientCannotIntrospect.into());
    }
    if token.is_empty() {
        return Err(TokenError::MissingParameter("token").into());
    }
    // The hint only orders the lookups: a token not found as one kind is looked for as the
    // other (RFC 7662 §2.1).
    let kinds = match TokenHint::parse(hint) {
        Some(TokenHint::RefreshToken) => [TokenHint::RefreshToken, TokenHint::AccessToken],
        _ => [TokenHint::AccessToken, TokenHint::RefreshToken],
    };
    for kind in kinds {
        let looked = match kind {
            TokenHint::AccessToken => find_access(state, client, token, now).await?,
            TokenHint::RefreshToken => find_refresh(state, token).await?,
        };
        if let Some(looked) = looked {
            return Ok(introspection::introspect(
                &client.app.client_id,
                &state.config.issuer,
                Some(looked.found()),
                now,
            ));
        }
    }
    Ok(Introspection::INACTIVE)
}

/// A token found, with whether its app and user still stand (and, for an access token, whether
/// the caller stands for its audience).
enum Looked {
    Access(AccessTokenClaims, bool, bool),
    Refresh(RefreshTokenRecord, String, bool),
}

impl Looked {
    fn found(&self) -> FoundToken<'_> {
        match self {
            Looked::Access(claims, holders_active, serves) => FoundToken::Access {
                claims,
                holders_active: *holders_active,
                caller_serves_audience: *serves,
            },
            Looked::Refresh(record, subject, holders_active) => FoundToken::Refresh {
                stored: stored_refresh(record, subject),
                holders_active: *holders_active,
            },
        }
    }
}

/// A valid access token, or `None` when the value is no such token (unsigned, foreign, expired
/// or revoked tokens are none of ours to describe). A token for a resource server counts only
/// while that API is active; its introspection app stands for it.
async fn find_access(
    state: &AppState,
    client: &IdentifiedClient,
    token: &str,
    now: i64,
) -> Result<Option<Looked>, ServiceError> {
    let Some(claims) = read_any_access_token(state, token, now).await? else {
        return Ok(None);
    };
    let (api_active, serves) = if claims.aud == state.config.issuer {
        (true, false)
    } else {
        let rs = state
            .store
            .resource_server_by_identifier(&claims.aud)
            .await?;
        let caller = client.app.client_id.as_str();
        (
            rs.as_ref().is_some_and(|rs| rs.is_active),
            rs.is_some_and(|rs| rs.introspection_client_id.as_deref() == Some(caller)),
        )
    };
    let holders_active = api_active && access_holders_active(state, &claims).await?;
    Ok(Some(Looked::Access(claims, holders_active, serves)))
}

/// The stored refresh token with this value, with its user's `authId`.
async fn find_refresh(state: &AppState, token: &str) -> Result<Option<Looked>, ServiceError> {
    let hash = sha256_hex(token.as_bytes());
    let Some(record) = state.store.refresh_token_by_hash(&hash).await? else {
        return Ok(None);
    };
    let user = state.store.user_by_id(record.user_id).await?;
    let holders_active =
        app_active(state, &record.client_id).await? && user.as_ref().is_some_and(|u| u.is_active);
    let subject = user.map(|u| u.auth_id).unwrap_or_default();
    Ok(Some(Looked::Refresh(record, subject, holders_active)))
}

fn stored_refresh<'a>(record: &'a RefreshTokenRecord, subject: &'a str) -> StoredRefresh<'a> {
    StoredRefresh {
        token: StoredRefreshToken {
            client_id: &record.client_id,
            expires_at: record.expires_at.and_utc().timestamp(),
            used: record.used_at.is_some(),
            revoked: record.revoked_at.is_some(),
        },
        scope: &record.scope,
        subject,
    }
}

/// Whether the app `client_id` stands for the resource server `audience` (its introspection
/// app). This server's own audience has no such app.
pub(super) async fn stands_for(
    state: &AppState,
    client_id: &str,
    audience: &str,
) -> Result<bool, ServiceError> {
    if audience == state.config.issuer {
        return Ok(false);
    }
    let rs = state.store.resource_server_by_identifier(audience).await?;
    Ok(rs.is_some_and(|rs| rs.introspection_client_id.as_deref() == Some(client_id)))
}

/// The token's app is live and active and, for a user's token, so is the user.
async fn access_holders_active(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<bool, ServiceError> {
    if !app_active(state, &claims.azp).await? {
        return Ok(false);
    }
    // An S2S app's token names the app itself as its subject.
    if claims.sub == claims.azp {
        return Ok(true);
    }
    let user = state.store.user_by_auth_id(&claims.sub).await?;
    Ok(user.is_some_and(|u| u.is_active))
}

async fn app_active(state: &AppState, client_id: &str) -> Result<bool, ServiceError> {
    Ok(state
        .clients
        .app(client_id)
        .await?
        .is_some_and(|app| app.is_active))
}
