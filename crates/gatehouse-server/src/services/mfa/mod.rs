//! Second factors during sign-in: TOTP (setup and codes), email codes, enrollment, the
//! remember-device cookie and the `reset_mfa` policy. Codes and counters live in the shared
//! cache under Melody's key names (`EMC-`, `OMUS-`, `FMA-`, `EMEA-`).

use gatehouse_core::ids::UserId;
use gatehouse_core::lockout::Counter;
use gatehouse_core::signin::{AtStep, MfaRequirement, SignInError};
use gatehouse_store::{AccountStore, App, UserRecord};

use crate::error::ServiceError;
use crate::services::codes;
use crate::services::signin::Transaction;
use crate::state::AppState;

mod email_code;
mod enrollment;
mod recovery_codes;
mod remember_device;
mod sms_code;
mod totp;

pub use email_code::{email_code_pending, send_email_code, verify_email_code};
pub use enrollment::{enroll, enrollment_choices, reset_own_mfa};
pub use recovery_codes::{
    has_recovery_codes, new_recovery_codes, recovery_codes_on, sign_in_with_recovery_code,
    store_recovery_codes, RECOVERY_CODES,
};
pub use remember_device::{remember, remembered, DEVICE_COOKIE};
pub use sms_code::{
    send_sms_code, setup_sms, sms_code_pending, texted_phone, verified_phone, verify_sms_code,
};
pub(crate) use totp::otp_seal_context;
pub use totp::{otp_setup, verify_otp, OtpSetup};

/// The factors a sign-in to `app` requires: the app's own settings, or the server's. A request
/// that asked for two factors (`acr_values`) owes one even where nothing else requires it: a
/// user with none enrolls in one the server can deliver.
pub fn requirement(state: &AppState, app: Option<&App>, wants_two_factors: bool) -> MfaRequirement {
    let config = &state.config;
    let mut required = match app {
        Some(app) if !app.use_system_mfa_config => MfaRequirement {
            otp: app.require_otp_mfa,
            email: app.require_email_mfa,
            sms: app.require_sms_mfa,
            enforce_one_of: Vec::new(),
        },
        _ => MfaRequirement {
            otp: config.otp_mfa_is_required,
            email: config.email_mfa_is_required,
            sms: config.sms_mfa_is_required,
            enforce_one_of: config.enforce_one_mfa_enrollment.clone(),
        },
    };
    let nothing = !required.otp && !required.email && !required.sms;
    if wants_two_factors && nothing && required.enforce_one_of.is_empty() {
        use gatehouse_core::signin::MfaType;
        required.enforce_one_of = vec![MfaType::Otp, MfaType::Email, MfaType::Sms];
    }
    required
}

/// Whether a user facing TOTP or SMS may ask for an email code instead.
pub fn email_backup_allowed(state: &AppState, app: Option<&App>) -> bool {
    state.mailer.is_configured()
        && match app {
            Some(app) if !app.use_system_mfa_config => app.allow_email_mfa_as_backup,
            _ => state.config.allow_email_mfa_as_backup,
        }
}

/// The account a submission begun at `at` (see `signin::at_step`) is for: a code is checked
/// for it, and only the step owed when the submission began is recorded.
async fn account_at(state: &AppState, at: &AtStep) -> Result<UserRecord, ServiceError> {
    Ok(state
        .store
        .user_by_id(at.user().id)
        .await?
        .ok_or(SignInError::NoUserFound)?)
}

async fn signed_in_user(state: &AppState, tx: &Transaction) -> Result<UserRecord, ServiceError> {
    let user = tx.user().ok_or(SignInError::WrongStep)?;
    Ok(state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(SignInError::NoUserFound)?)
}

/// Refuses when the user's wrong MFA codes (TOTP, email, SMS alike) reached the threshold.
async fn check_code_lockout(
    state: &AppState,
    user_id: UserId,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    let threshold = state.config.mfa_code_verify_threshold;
    let subject = user_id.to_string();
    codes::check_lockout(
        state,
        Counter::FailedMfaCode,
        &subject,
        ip,
        threshold,
        SignInError::MfaLockout,
    )
    .await
}

/// Counts a wrong MFA code; the refusal to answer with.
async fn wrong_code(
    state: &AppState,
    user_id: UserId,
    ip: Option<&str>,
) -> Result<ServiceError, ServiceError> {
    codes::count_failure(state, Counter::FailedMfaCode, &user_id.to_string(), ip).await?;
    Ok(SignInError::InvalidMfaCode.into())
}

/// Forgets the wrong MFA codes once the right one came.
async fn right_code(
    state: &AppState,
    user_id: UserId,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    codes::clear_failures(state, Counter::FailedMfaCode, &user_id.to_string(), ip).await
}

/// Checks a sent code (email or SMS) kept under `key`, within the MFA code lockout: a wrong one
/// counts against the account, the right one is spent and clears the count.
async fn spend_sent_code(
    state: &AppState,
    key: &str,
    user_id: UserId,
    code: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    check_code_lockout(state, user_id, ip).await?;
    if !codes::code_matches(state, key, code).await? {
        return Err(wrong_code(state, user_id, ip).await?);
    }
    state.cache.delete(key).await?;
    right_code(state, user_id, ip).await
}

/// Whether the transaction has a live code under `key` for its account (so a page load does
/// not send another).
async fn code_pending(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    key: fn(&str, UserId) -> String,
) -> Result<bool, ServiceError> {
    let Some(user) = tx.user() else {
        return Ok(false);
    };
    Ok(state.cache.get(&key(id, user.id)).await?.is_some())
}
