//! `grant_type=authorization_code`: one code, one exchange; a replay revokes what the first gave.

use std::time::Duration;

use gatehouse_core::grant::authorization_code::{check_exchange, Exchange, IssuedCode};
use gatehouse_core::ids::UserId;
use gatehouse_core::lockout::failed_verifier_key;
use gatehouse_core::resource::check_token_resource;
use gatehouse_core::scope::grant_scopes;
use gatehouse_core::TokenError;
use gatehouse_store::{AccountStore, App, BrowserSessionStore, RefreshTokenStore, StatsStore};
use serde::{Deserialize, Serialize};

use super::revocation::revoke_access_jti;
use super::{
    active_user, app_for_grant, held_scopes, IdentifiedClient, Mint, RefreshPlan, UserTokens,
};
use crate::error::ServiceError;
use crate::services::resource_servers;
use crate::services::signin::code_key;
use crate::state::AppState;

/// Marks a redeemed code; a replay finds it and revokes what the code gave.
const USED_CODE_PREFIX: &str = "ACU-";

#[derive(Debug, Serialize, Deserialize)]
struct RedeemedCode {
    family_id: Option<String>,
    jti: String,
    exp: i64,
}

/// How long wrong PKCE verifiers are counted (Melody: 30 minutes).
const VERIFIER_LOCKOUT_SECS: u64 = 30 * 60;

/// What a code exchange presents besides the code.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeProof<'a> {
    /// The `redirect_uri` sent (empty when none), or `None` when the code never travelled
    /// through a redirect (the embedded API's session exchange).
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    /// RFC 8707 `resource`: none, or the one the authorization named.
    pub resource: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved (RFC 9449).
    pub dpop: Option<&'a str>,
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    code: &str,
    proof: CodeProof<'_>,
    ip: Option<&str>,
    now: i64,
) -> Result<UserTokens, ServiceError> {
    let CodeProof {
        redirect_uri,
        code_verifier,
        resource,
        dpop,
    } = proof;
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
            client_type: Some(app.app_type),
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
    gatehouse_core::dpop::check_code_key(issued.dpop_jkt.as_deref(), dpop)?;
    check_token_resource(resource, issued.resource.as_deref()).map_err(TokenError::from)?;
    let finished = FinishedSignIn {
        user_id: issued.user_id,
        requested: &issued.scopes,
        nonce: issued.nonce.clone(),
        auth_time: issued.auth_time,
        session_id: issued.session_id,
        resource: issued.resource.as_deref(),
        amr: &issued.amr,
        id_token_claims: &issued.id_token_claims,
        userinfo_claims: &issued.userinfo_claims,
        dpop,
    };
    let (tokens, family_id, jti) =
        sign_in_tokens(state, &app, finished, ("authorization_code", ip), now).await?;
    let redeemed = RedeemedCode {
        family_id,
        jti,
        exp: tokens.expires_on,
    };
    state
        .cache
        .set_json(
            &format!("{USED_CODE_PREFIX}{code}"),
            &redeemed,
            used_code_mark_lifetime(issued.expires_at, now),
        )
        .await?;
    Ok(tokens)
}

/// How long a redeemed code's mark is kept: as long as the code itself would have lived. A
/// second exchange can only come while the code is valid (the rightful client sends its code
/// at once, so whoever redeems it first, the other side's attempt falls in that time); after
/// the code's end an exchange is refused as unknown either way. Keeping the mark for the
/// access token's lifetime instead held every sign-in's mark for half an hour.
fn used_code_mark_lifetime(code_expires_at: i64, now: i64) -> Duration {
    Duration::from_secs(
        u64::try_from(code_expires_at.saturating_sub(now))
            .unwrap_or(0)
            .max(1),
    )
}

/// A sign-in a grant hands tokens for: the code's, or a device's approval.
pub(crate) struct FinishedSignIn<'a> {
    pub user_id: UserId,
    /// The scopes asked for; those the app no longer holds are dropped.
    pub requested: &'a [String],
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub session_id: Option<i64>,
    /// The resource server (identifier) the access token is for, if any.
    pub resource: Option<&'a str>,
    /// How the user proved themselves (RFC 8176).
    pub amr: &'a [String],
    /// Claims the `claims` parameter asked for in the ID token and at userinfo.
    pub id_token_claims: &'a [String],
    pub userinfo_claims: &'a [String],
    /// The DPoP key the token request proved.
    pub dpop: Option<&'a str>,
}

/// Mints the tokens of a finished sign-in for `app` (the user must still be active), counts the
/// sign-in and the grant (`(grant, client ip)`); returns them with the refresh family and `jti`.
pub(crate) async fn sign_in_tokens(
    state: &AppState,
    app: &App,
    finished: FinishedSignIn<'_>,
    (grant, ip): (&'static str, Option<&str>),
    now: i64,
) -> Result<(UserTokens, Option<String>, String), ServiceError> {
    let user = active_user(state, finished.user_id).await?;
    let resource = match finished.resource {
        Some(identifier) => Some(resource_servers::named(state, identifier).await?),
        None => None,
    };
    let held = held_scopes(app, resource.as_ref());
    let minted = state
        .token_issuer()
        .mint(Mint {
            app,
            user: &user,
            scopes: grant_scopes(finished.requested, &held),
            nonce: finished.nonce,
            auth_time: finished.auth_time,
            session_id: finished.session_id,
            refresh: RefreshPlan::NewFamily,
            impersonated_by: None,
            resource: resource.as_ref(),
            amr: finished.amr,
            id_token: true,
            id_token_claims: finished.id_token_claims,
            userinfo_claims: finished.userinfo_claims,
            dpop: finished.dpop,
            now,
        })
        .await?;
    if let Some(session_id) = finished.session_id {
        // The app now holds the session's `sid`: its end is the app's to hear of.
        let when = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
        state
            .store
            .record_session_app(session_id, app.id, when.naive_utc())
            .await?;
    }
    record_sign_in(state, user.id, app.id, ip);
    state.metrics.token_issued(grant);
    Ok(minted)
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
pub(super) fn record_sign_in(state: &AppState, user_id: UserId, app_id: i64, ip: Option<&str>) {
    let state = state.clone();
    let ip = ip.map(str::to_owned);
    tokio::spawn(async move {
        if let Err(err) = state
            .store
            .record_sign_in(user_id, gatehouse_store::now_utc())
            .await
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redeemed_codes_mark_lives_as_long_as_the_code_would_have() {
        assert_eq!(
            used_code_mark_lifetime(1_300, 1_000),
            Duration::from_secs(300)
        );
        // Redeemed in its last second, or (clock steps) after it: still marked for a second.
        assert_eq!(
            used_code_mark_lifetime(1_000, 1_000),
            Duration::from_secs(1)
        );
        assert_eq!(used_code_mark_lifetime(900, 1_000), Duration::from_secs(1));
    }
}
