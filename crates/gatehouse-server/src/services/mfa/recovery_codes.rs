//! Recovery codes: one-time codes that stand in for every factor.

use gatehouse_core::ids::UserId;
use gatehouse_core::mfa::base32_encode;
use gatehouse_core::signin::SignInError;
use gatehouse_store::{AccountStore, CountedEvent, MfaStore};

use crate::crypto::{random_bytes, sha256_hex};
use crate::error::ServiceError;
use crate::services::dashboard::count_event;
use crate::services::signin::{self, Outcome, TxCall};
use crate::state::AppState;

/// Recovery codes are on (and passwordless sign-in, which has no second step, is off).
pub fn recovery_codes_on(state: &AppState) -> bool {
    state.config.enable_recovery_code && !state.config.enable_passwordless_sign_in
}

/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// `XXXX-XXXX-XXXX-XXXX`: 80 random bits in base32, so a fast hash is enough to store it.
fn new_recovery_code() -> String {
    let text = base32_encode(&random_bytes::<10>());
    let groups: Vec<&str> = (0..4).map(|i| &text[i * 4..i * 4 + 4]).collect();
    groups.join("-")
}

/// A code as typed: case, spaces and dashes do not matter.
fn recovery_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    sha256_hex(normal.as_bytes())
}

/// A new set of recovery codes, shown to the user before they are stored.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect()
}

/// Makes `codes` the user's recovery codes (the old set stops working); only their hashes
/// are kept.
pub async fn store_recovery_codes(
    state: &AppState,
    user_id: UserId,
    codes: &[String],
) -> Result<(), ServiceError> {
    let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(c)).collect();
    state.store.replace_recovery_codes(user_id, &hashes).await?;
    Ok(())
}

/// Whether the user has unused recovery codes.
pub async fn has_recovery_codes(state: &AppState, user_id: UserId) -> Result<bool, ServiceError> {
    Ok(state.store.recovery_codes_left(user_id).await? > 0)
}

/// Sign-in with email and a recovery code: a strong first factor (the second step is skipped),
/// under the same lockout as passwords; the code is spent.
pub async fn sign_in_with_recovery_code(
    call: TxCall<'_>,
    email: &str,
    code: &str,
) -> Result<Outcome, ServiceError> {
    let (state, id, tx, meta) = call.into_parts();
    if !recovery_codes_on(state) {
        return Err(SignInError::FeatureOff("Recovery codes").into());
    }
    tx.expect_first_factor()?;
    let email = email.trim().to_lowercase();
    let lockout = signin::PasswordLockout::new(state, &email, meta.ip);
    if lockout.is_locked().await? {
        count_event(&state.store, CountedEvent::FailedSignIn);
        return Err(SignInError::LockedOut.into());
    }
    let account = state.store.password_account(&email).await?;
    let spent = match &account {
        Some(a) => {
            state
                .store
                .use_recovery_code(a.id, &recovery_code_hash(code))
                .await?
        }
        None => false,
    };
    let account_exists = account.is_some();
    let Some(account) = account.filter(|_| spent) else {
        lockout.failed(account_exists).await?;
        count_event(&state.store, CountedEvent::FailedSignIn);
        return Err(SignInError::NoUserFound.into());
    };
    if !account.is_active {
        return Err(SignInError::DisabledAccount.into());
    }
    lockout.clear().await?;
    let user = signin::SignedInUser {
        id: account.id,
        auth_id: account.auth_id,
    };
    let factor = gatehouse_core::signin::FirstFactor::RecoveryCode;
    signin::signed_in(state, id, tx, user, factor, meta).await
}
