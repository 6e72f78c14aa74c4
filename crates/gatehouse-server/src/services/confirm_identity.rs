//! The confirm-identity step. A policy that changes how the account proves itself (password,
//! email, MFA, passkeys, recovery codes) is not enough behind a sign-in older than
//! `sensitive_action_max_auth_age`, since a stolen session would then become a permanent
//! takeover: the account gives its current password first, or signs in again.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{SignInError, Step};
use gatehouse_store::AccountStore;

use crate::error::ServiceError;
use crate::services::signin::{self, Outcome, StepCall};
use crate::state::AppState;

/// The account's email, if it has a password to confirm with.
pub async fn password_email(
    state: &AppState,
    user_id: UserId,
) -> Result<Option<String>, ServiceError> {
    let Some(email) = state.store.user_by_id(user_id).await?.and_then(|u| u.email) else {
        return Ok(None);
    };
    let has_password = state
        .store
        .password_account(&email.trim().to_lowercase())
        .await?
        .is_some_and(|a| a.id == user_id && a.password_hash.is_some());
    Ok(has_password.then_some(email))
}

/// The current password confirms the account. It is checked like a sign-in password, under the
/// same lockout of the account's email and the client's IP, so guessing here is no cheaper than
/// guessing on the sign-in page.
pub async fn with_password(call: StepCall<'_>, password: &str) -> Result<Outcome, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
    if at.step() != Step::ConfirmIdentity {
        return Err(SignInError::WrongStep.into());
    }
    // The password account of this email is the user's own; one without a password hash
    // fails the check like a wrong password.
    let email = state
        .store
        .user_by_id(at.user().id)
        .await?
        .and_then(|u| u.email)
        .ok_or(SignInError::WrongCurrentPassword)?;
    match state
        .password_checker()
        .check(&email, password, meta.ip)
        .await
    {
        Ok(account) if account.id == at.user().id => {}
        Ok(_) | Err(ServiceError::SignIn(SignInError::NoUserFound)) => {
            return Err(SignInError::WrongCurrentPassword.into())
        }
        Err(other) => return Err(other),
    }
    signin::passed(state, id, tx, (at, signin::Passed::Reconfirmed), meta).await
}
