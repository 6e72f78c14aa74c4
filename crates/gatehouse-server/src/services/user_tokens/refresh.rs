//! `grant_type=refresh_token`: rotation with reuse detection.

use chrono::DateTime;
use gatehouse_core::dpop::DpopError;
use gatehouse_core::grant::refresh_token::{self, RefreshAction, StoredRefreshToken};
use gatehouse_core::resource::check_token_resource;
use gatehouse_core::scope::grant_scopes;
use gatehouse_core::TokenError;
use gatehouse_store::RefreshTokenStore;

use super::{
    active_user, app_for_grant, held_scopes, IdentifiedClient, Mint, RefreshPlan, UserTokens,
};
use crate::crypto::sha256_hex;
use crate::error::ServiceError;
use crate::services::resource_servers;
use crate::state::AppState;

/// `grant_type=refresh_token`: rotation with reuse detection unless the app turned it off;
/// the app, the user and the user's roles are checked again.
/// `resource` (RFC 8707) may only name the API the grant was for.
pub async fn refresh(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    (token, resource): (&str, Option<&str>),
    dpop: Option<&str>,
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
        // FAPI 2.0 §5.3.2.1: its refresh tokens are sender-constrained, not rotated.
        app.as_ref()
            .is_none_or(|a| a.rotate_refresh_tokens && !a.security.fapi2_security_profile),
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
    // A family bound to a DPoP key is good only with a proof made with that key.
    if record
        .dpop_jkt
        .as_deref()
        .is_some_and(|bound| dpop != Some(bound))
    {
        return Err(TokenError::from(DpopError::RefreshTokenBound).into());
    }
    check_token_resource(resource, record.resource.as_deref()).map_err(TokenError::from)?;
    let user = active_user(state, record.user_id).await?;
    // A grant for an API that is gone or switched off gives no more tokens.
    let resource = match record.resource.as_deref() {
        Some(identifier) => Some(resource_servers::named(state, identifier).await?),
        None => None,
    };
    let requested: Vec<String> = record.scope.split(' ').map(str::to_owned).collect();
    let (userinfo_claims, amr) = (record.userinfo_claim_names(), record.methods());
    let scopes = grant_scopes(&requested, &held_scopes(&app, resource.as_ref()));
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
                dpop_jkt: record.dpop_jkt.clone(),
            }
        }
        RefreshAction::Reuse => RefreshPlan::None,
    };
    // A refresh answers with an access token (and its successor refresh token); no ID token.
    let (tokens, _, _) = state
        .token_issuer()
        .mint(Mint {
            app: &app,
            user: &user,
            scopes,
            nonce: None,
            auth_time: now,
            session_id: record.session_id,
            refresh,
            impersonated_by: record.impersonated_by.clone(),
            resource: resource.as_ref(),
            amr: &amr,
            id_token: false,
            id_token_claims: &[],
            userinfo_claims: &userinfo_claims,
            dpop,
            now,
        })
        .await?;
    state.metrics.token_issued("refresh_token");
    Ok(tokens)
}
