//! Impersonation: the admin panel acting as a user through a refresh token of theirs.

use chrono::DateTime;
use gatehouse_core::grant::AppType;
use gatehouse_store::{NewRefreshToken, RefreshTokenStore};
use serde::Serialize;

use super::revocation::read_access_token;
use crate::crypto::{random_hex, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::services::found;
use crate::state::AppState;

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
    let target = found(state.store.user_by_auth_id(auth_id), "No user found").await?;
    let app = found(state.store.app_by_id(app_id), "No app found").await?;
    let impersonator_roles = state.store.user_role_names(impersonator.id).await?;
    let consented = state.store.consented_scopes(target.id, app.id).await?;
    check_impersonation(
        &impersonator_roles,
        &state.config.impersonation_roles,
        app.app_type == AppType::Spa,
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
            resource: None,
            amr: &[],
            userinfo_claims: &[],
            dpop_jkt: None,
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
