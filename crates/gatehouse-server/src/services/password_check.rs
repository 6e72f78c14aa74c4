//! The password check every password first factor shares (the sign-in page, the account-linking
//! step, confirming identity): the failed-password lockout per email and client IP, the hash
//! verified off the async threads after the account lookup has freed its connection.
//!
//! It takes only what it uses (the account store, the cache, the hasher and the lockout rules),
//! so the unit tests below run it on an in-memory database.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::ids::UserId;
use gatehouse_core::lockout::{failed_login_key, LOCKED_ACCOUNTS};
use gatehouse_core::signin::SignInError;
use gatehouse_store::{
    AccountStore, Cache, CountedEvent, DenialKind, DenialStore, PasswordAccount, StatsStore, Store,
};

use crate::config::Config;
use crate::crypto::{PasswordCheck, PasswordHasher};
use crate::error::ServiceError;
use crate::services::held_denials::HeldDenials;
use crate::state::AppState;

/// The configured failed-secret lockout: how many failures lock, and for how long (0 = until an
/// admin unlocks).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockoutRules {
    pub threshold: u32,
    pub expires_in: u64,
}

impl LockoutRules {
    pub(crate) fn of(config: &Config) -> Self {
        Self {
            threshold: config.account_lockout_threshold,
            expires_in: config.account_lockout_expires_in,
        }
    }

    fn ttl(self) -> Duration {
        match self.expires_in {
            // "Until an admin unlocks it": ten years is forever for a counter.
            0 => Duration::from_secs(10 * 365 * 86_400),
            secs => Duration::from_secs(secs),
        }
    }
}

/// The failed-password lockout of an email, per client IP: shared by every first factor that
/// takes a secret (password, recovery code, the Simple-OAuth token API). A lockout is held in
/// the database too, so a cache that loses its counters does not lift it.
pub(crate) struct PasswordLockout<'a, S> {
    denials: HeldDenials<'a, S>,
    subject: String,
    key: String,
    rules: LockoutRules,
}

impl<'a> PasswordLockout<'a, Store> {
    pub(crate) fn new(state: &'a AppState, subject: &str, ip: Option<&str>) -> Self {
        Self::on(
            &state.cache,
            &state.store,
            LockoutRules::of(&state.config),
            subject,
            ip,
        )
    }
}

impl<'a, S: DenialStore> PasswordLockout<'a, S> {
    fn on(
        cache: &'a Cache,
        store: &'a S,
        rules: LockoutRules,
        subject: &str,
        ip: Option<&str>,
    ) -> Self {
        Self {
            denials: HeldDenials {
                cache,
                store,
                lockout_threshold: rules.threshold,
            },
            subject: subject.to_owned(),
            key: failed_login_key(subject, ip),
            rules,
        }
    }

    pub(crate) async fn is_locked(&self) -> Result<bool, ServiceError> {
        if self.rules.threshold == 0 {
            return Ok(false);
        }
        let failures: i64 = self
            .denials
            .read(&self.key)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(failures >= i64::from(self.rules.threshold))
    }

    /// Counts a wrong secret. The failure that locks holds the lockout in the database, for
    /// an unknown email too, so the answer takes as long either way. An account that exists is
    /// also marked locked for the dashboard until its counter ends (in the background).
    pub(crate) async fn failed(&self, account_exists: bool) -> Result<(), ServiceError> {
        if self.rules.threshold == 0 {
            return Ok(());
        }
        let cache = self.denials.cache;
        let failures = cache.increment(&self.key, self.rules.ttl()).await?;
        if failures < i64::from(self.rules.threshold) {
            return Ok(());
        }
        let left = cache
            .time_left(&self.key)
            .await?
            .unwrap_or(self.rules.ttl());
        self.denials
            .hold(DenialKind::Lockout, &self.key, &self.subject, left)
            .await?;
        if account_exists {
            let (cache, subject) = (cache.clone(), self.subject.clone());
            tokio::spawn(async move {
                if let Err(err) = cache.mark(LOCKED_ACCOUNTS, &subject, left).await {
                    tracing::warn!(error = %err, "could not mark a locked account");
                }
            });
        }
        Ok(())
    }

    pub(crate) async fn clear(&self) -> Result<(), ServiceError> {
        self.denials.cache.delete(&self.key).await?;
        Ok(())
    }
}

/// What a password check reads and writes.
pub(crate) struct PasswordChecker<'a, S> {
    pub store: &'a S,
    pub cache: &'a Cache,
    pub passwords: &'a Arc<PasswordHasher>,
    pub lockout: LockoutRules,
}

impl AppState {
    pub(crate) fn password_checker(&self) -> PasswordChecker<'_, Store> {
        PasswordChecker {
            store: &self.store,
            cache: &self.cache,
            passwords: &self.passwords,
            lockout: LockoutRules::of(&self.config),
        }
    }
}

impl<S> PasswordChecker<'_, S>
where
    S: AccountStore + StatsStore + DenialStore + Clone + Send + Sync + 'static,
{
    /// The password account of `email` if `password` is its password, with the lockout counted
    /// per email and client IP. Unknown email and wrong password answer alike, in the same time.
    /// A refusal counts as a failed sign-in on the dashboard.
    pub(crate) async fn check(
        &self,
        email: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<PasswordAccount, ServiceError> {
        let checked = self.check_uncounted(email, password, ip).await;
        if matches!(checked, Err(ServiceError::SignIn(_))) {
            crate::services::dashboard::count_event(self.store, CountedEvent::FailedSignIn);
        }
        checked
    }

    async fn check_uncounted(
        &self,
        email: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<PasswordAccount, ServiceError> {
        let email = email.trim().to_lowercase();
        let lockout = PasswordLockout::on(self.cache, self.store, self.lockout, &email, ip);
        if lockout.is_locked().await? {
            return Err(SignInError::LockedOut.into());
        }
        // The lookup finishes (and frees its connection) before the hash runs.
        let account = self.store.password_account(&email).await?;
        let check = self
            .passwords
            .verify(
                password.to_owned(),
                account.as_ref().and_then(|a| a.password_hash.clone()),
            )
            .await?;
        // An unknown email counts like a wrong password, so "locked" says nothing about which
        // emails have accounts.
        let account_exists = account.is_some();
        let (Some(account), PasswordCheck::Match { rehash }) = (account, check) else {
            lockout.failed(account_exists).await?;
            return Err(SignInError::NoUserFound.into());
        };
        if !account.is_active {
            return Err(SignInError::DisabledAccount.into());
        }
        lockout.clear().await?;
        if rehash {
            self.store_upgraded_hash(account.id, password);
        }
        Ok(account)
    }

    /// Rehashes with the current parameters in the background; the sign-in does not wait.
    fn store_upgraded_hash(&self, user_id: UserId, password: &str) {
        let store = self.store.clone();
        let passwords = Arc::clone(self.passwords);
        let password = password.to_owned();
        tokio::spawn(async move {
            match passwords.hash(password).await {
                Ok(hash) => {
                    if let Err(err) = store.set_password_hash(user_id, &hash).await {
                        tracing::warn!(error = %err, "could not store the upgraded password hash");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "could not rehash a password"),
            }
        });
    }
}

#[cfg(test)]
mod tests;
