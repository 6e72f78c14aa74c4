//! A user's second factors and passkeys, as the management API resets them.

use gatehouse_core::admin::UserAction;
use gatehouse_core::signin::MfaType;
use gatehouse_store::{PasskeyRecord, Store, UserStore};

use gatehouse_core::webhooks;
use gatehouse_store::changes::recording;

use super::{remove_owned, target, user};
use crate::error::ServiceError;
use crate::services::audit;
use crate::services::authority::Authority;
use crate::state::AppState;

/// Enrolls (`enroll = true`) or resets an MFA type. Enrolling TOTP starts over (a new secret is
/// set up at the next sign-in); resetting removes the factor's secrets.
pub async fn set_mfa(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    mfa_type: MfaType,
    enroll: bool,
) -> Result<(), ServiceError> {
    let current = target(state, authority, auth_id, UserAction::ChangeMfa).await?;
    // Enrolling again moves the factor last, as Melody's list does.
    let before = current.mfa_types.to_list();
    let types = current.mfa_types.clone().without(mfa_type);
    let types = if enroll { types.with(mfa_type) } else { types };
    let clear_otp = mfa_type == MfaType::Otp;
    let clear_sms = mfa_type == MfaType::Sms && !enroll;
    let (action, event) = if enroll {
        ("mfa_enrolled", webhooks::USER_MFA_ENROLLED)
    } else {
        ("mfa_reset", webhooks::USER_MFA_RESET)
    };
    let mut change =
        audit::user_change(&current, action, event).field("mfaTypes", before, types.to_list());
    change.data["mfaType"] = serde_json::json!(mfa_type.as_str());
    recording(
        change,
        state
            .store
            .set_mfa_types(current.id, &types.to_list(), clear_otp, clear_sms),
    )
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
    let action = UserAction::RemovePasskey;
    remove_owned(state, authority, auth_id, action, "No passkey found", |u| {
        let mut change = audit::user_change(u, "passkey_removed", webhooks::USER_PASSKEY_REMOVED);
        change.data["passkeyId"] = serde_json::json!(passkey_id);
        recording(change, state.store.delete_passkey(u.id, passkey_id))
    })
    .await
}
