//! What an admin-provisioning channel (SCIM) changes about how a user signs in: their email and
//! their password. Only a `root` caller changes them for a holder of a protected role, since
//! either would hand the account to whoever sets them.

use gatehouse_core::admin::{email_address, AdminRuleError, UserAction};
use gatehouse_core::password::check_new_password;
use gatehouse_core::signin::SignInError;
use gatehouse_store::{AccountStore, LifecycleStore, StoreError, UserRecord};

use gatehouse_core::webhooks;
use gatehouse_store::changes::{recording, Change};

use super::{may_act_on, user};
use crate::error::ServiceError;
use crate::services::audit;
use crate::services::authority::Authority;
use crate::state::AppState;

const EMAIL_TAKEN: &str = "A user with this email already exists";

/// Refuses a change of `user`'s email or password by a caller who may not make it.
pub async fn may_change_sign_in(
    state: &AppState,
    authority: &Authority,
    user: &UserRecord,
    action: UserAction,
) -> Result<(), ServiceError> {
    may_act_on(state, authority, user, action).await
}

/// Gives the user a new email. It is unverified until the user proves they receive mail
/// there: whoever sets an address on an existing account does not vouch for its new holder
/// (apps read `email_verified`, and sign-in offers to link a provider's verified email to it).
/// The same address (in any case) changes nothing.
pub async fn set_email(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    email: &str,
) -> Result<(), ServiceError> {
    let current = user(&state.store, auth_id).await?;
    let email = email_address(email)?;
    if current.email.as_deref() == Some(email.as_str()) {
        return Ok(());
    }
    may_act_on(state, authority, &current, UserAction::ChangeEmail).await?;
    if current.social_account_id.is_some() {
        return Err(AdminRuleError::SocialAccount.into());
    }
    let change = audit::user_change(&current, "email_changed", webhooks::USER_UPDATED).field(
        "email",
        &current.email,
        &email,
    );
    recording(change, state.store.assign_email(current.id, &email))
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => ServiceError::Conflict(EMAIL_TAKEN.into()),
            other => other.into(),
        })
}

/// Sets the user's password (the password rule applies), or with `None` removes it. Whoever
/// knew the old one is signed out when `end_sessions_on_password_reset` says so.
pub async fn set_password(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    password: Option<&str>,
) -> Result<(), ServiceError> {
    let current = user(&state.store, auth_id).await?;
    if let Some(password) = password {
        check_new_password(password).map_err(|e| SignInError::BadInput(e.to_string()))?;
    }
    may_act_on(state, authority, &current, UserAction::SetPassword).await?;
    let change = audit::user_change(&current, "password_set", webhooks::USER_PASSWORD_CHANGED);
    match password {
        Some(password) => {
            let hash = state.passwords.hash(password.to_owned()).await?;
            recording(change, state.store.set_password_hash(current.id, &hash)).await?;
        }
        None => {
            let change = Change {
                action: "password_removed",
                ..change
            };
            recording(change, state.store.clear_password_hash(current.id)).await?
        }
    }
    if state.config.end_sessions_on_password_reset {
        let now = chrono::Utc::now().timestamp();
        state.sessions().end_everywhere(current.id, now).await?;
    }
    Ok(())
}
