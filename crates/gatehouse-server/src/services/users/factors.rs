//! A user's second factors and passkeys, as the management API resets them.

use gatehouse_core::admin::UserAction;
use gatehouse_store::{PasskeyRecord, Store, UserStore};

use super::{target, user, MFA_TYPES};
use crate::error::ServiceError;
use crate::services::authority::Authority;
use crate::state::AppState;

/// Enrolls (`enroll = true`) or resets an MFA type. Enrolling TOTP starts over (a new secret is
/// set up at the next sign-in); resetting removes the factor's secrets.
pub async fn set_mfa(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    mfa_type: &str,
    enroll: bool,
) -> Result<(), ServiceError> {
    debug_assert!(MFA_TYPES.contains(&mfa_type));
    let store = &state.store;
    let current = target(state, authority, auth_id, UserAction::ChangeMfa).await?;
    let mut types: Vec<&str> = current
        .mfa_types
        .split(',')
        .filter(|t| !t.is_empty() && *t != mfa_type)
        .collect();
    if enroll {
        types.push(mfa_type);
    }
    let clear_otp = mfa_type == "otp";
    let clear_sms = mfa_type == "sms" && !enroll;
    store
        .set_mfa_types(current.id, &types.join(","), clear_otp, clear_sms)
        .await?;
    Ok(())
}

pub async fn passkeys(store: &Store, auth_id: &str) -> Result<Vec<PasskeyRecord>, ServiceError> {
    let current = user(store, auth_id).await?;
    Ok(store.user_passkeys(current.id).await?)
}

pub async fn delete_passkey(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    passkey_id: i64,
) -> Result<(), ServiceError> {
    let current = target(state, authority, auth_id, UserAction::RemovePasskey).await?;
    if !state.store.delete_passkey(current.id, passkey_id).await? {
        return Err(ServiceError::NotFound("No passkey found"));
    }
    Ok(())
}
