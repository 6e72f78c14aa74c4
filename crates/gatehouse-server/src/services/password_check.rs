//! The password check every password first factor shares (the sign-in page, the account-linking
//! step): the failed-password lockout per email and client IP, the hash verified off the async
//! threads after the account lookup has freed its connection.

use std::time::Duration;

use gatehouse_core::lockout::failed_login_key;
use gatehouse_core::signin::SignInError;
use gatehouse_store::{AccountStore, PasswordAccount};

use crate::crypto::PasswordCheck;
use crate::error::ServiceError;
use crate::state::AppState;

/// The failed-password lockout of an email, per client IP: shared by every first factor that
/// takes a secret (password, recovery code, the Simple-OAuth token API).
pub(crate) struct PasswordLockout {
    key: String,
    threshold: u32,
}

impl PasswordLockout {
    pub(crate) fn new(state: &AppState, email: &str, ip: Option<&str>) -> Self {
        Self {
            key: failed_login_key(email, ip),
            threshold: state.config.account_lockout_threshold,
        }
    }

    pub(crate) async fn is_locked(&self, state: &AppState) -> Result<bool, ServiceError> {
        Ok(
            self.threshold > 0
                && state.cache.counter(&self.key).await? >= i64::from(self.threshold),
        )
    }

    /// Counts a wrong secret.
    pub(crate) async fn failed(&self, state: &AppState) -> Result<(), ServiceError> {
        if self.threshold > 0 {
            let ttl = match state.config.account_lockout_expires_in {
                // "Until an admin unlocks it": ten years is forever for a counter.
                0 => Duration::from_secs(10 * 365 * 86_400),
                secs => Duration::from_secs(secs),
            };
            state.cache.increment(&self.key, ttl).await?;
        }
        Ok(())
    }

    pub(crate) async fn clear(&self, state: &AppState) -> Result<(), ServiceError> {
        state.cache.delete(&self.key).await?;
        Ok(())
    }
}

/// The password account of `email` if `password` is its password, with the lockout counted
/// per email and client IP. Unknown email and wrong password answer alike, in the same time.
pub(crate) async fn check_password(
    state: &AppState,
    email: &str,
    password: &str,
    ip: Option<&str>,
) -> Result<PasswordAccount, ServiceError> {
    let email = email.trim().to_lowercase();
    let lockout = PasswordLockout::new(state, &email, ip);
    if lockout.is_locked(state).await? {
        return Err(SignInError::LockedOut.into());
    }
    // The lookup finishes (and frees its connection) before the hash runs.
    let account = state.store.password_account(&email).await?;
    let check = state
        .passwords
        .verify(
            password.to_owned(),
            account.as_ref().and_then(|a| a.password_hash.clone()),
        )
        .await?;
    // An unknown email counts like a wrong password, so "locked" says nothing about which
    // emails have accounts.
    let (Some(account), PasswordCheck::Match { rehash }) = (account, check) else {
        lockout.failed(state).await?;
        return Err(SignInError::NoUserFound.into());
    };
    if !account.is_active {
        return Err(SignInError::DisabledAccount.into());
    }
    lockout.clear(state).await?;
    if rehash {
        let state = state.clone();
        let password = password.to_owned();
        let user_id = account.id;
        tokio::spawn(async move {
            match state.passwords.hash(password).await {
                Ok(hash) => {
                    if let Err(err) = state.store.set_password_hash(user_id, &hash).await {
                        tracing::warn!(error = %err, "could not store the upgraded password hash");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "could not rehash a password"),
            }
        });
    }
    Ok(account)
}
