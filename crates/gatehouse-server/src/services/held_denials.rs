//! Denials that must outlive the cache. A lockout and a revoked access token are read from the
//! cache on every request, and are held in the database too (`held_denials`): a cache that has
//! lost its contents (Redis flushed, or restarted without persistence; the in-process cache at
//! every start) is given them back before a denial is read from it, so losing the cache never
//! lifts a lockout or brings a revoked token back.
//!
//! A loss is seen by a mark the cache holds from the last time the denials were put back. It is
//! read in the same round trip as the denial; a cache without it has lost what it held then.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use gatehouse_core::lockout::LOCKED_ACCOUNTS;
use gatehouse_store::{Cache, DenialKind, DenialStore, HeldDenial, Store};

use crate::error::ServiceError;
use crate::state::AppState;

/// The cache key of the mark: when the held denials were last put back (Unix seconds).
const RESTORED_MARK: &str = "GH-HELD-DENIALS-RESTORED";

/// The cache and the database, read together.
pub(crate) struct HeldDenials<'a, S> {
    pub cache: &'a Cache,
    pub store: &'a S,
    /// The failed-secret count a lockout is put back at; 0 when lockouts are off.
    pub lockout_threshold: u32,
}

impl AppState {
    pub(crate) fn held_denials(&self) -> HeldDenials<'_, Store> {
        HeldDenials {
            cache: &self.cache,
            store: &self.store,
            lockout_threshold: self.config.account_lockout_threshold,
        }
    }
}

impl<S: DenialStore> HeldDenials<'_, S> {
    /// The cache's value at `key`, after the held denials are put back if the cache lost them.
    pub(crate) async fn read(&self, key: &str) -> Result<Option<String>, ServiceError> {
        let (value, restored) = self.cache.get_two(key, RESTORED_MARK).await?;
        if restored.is_some() {
            return Ok(value);
        }
        self.restore().await?;
        Ok(self.cache.get(key).await?)
    }

    /// Puts the held denials back if the cache lost them.
    pub(crate) async fn ensure_restored(&self) -> Result<(), ServiceError> {
        if self.cache.get(RESTORED_MARK).await?.is_none() {
            self.restore().await?;
        }
        Ok(())
    }

    /// Holds a denial the caller has just written to the cache under `key`, for `left`.
    pub(crate) async fn hold(
        &self,
        kind: DenialKind,
        key: &str,
        subject: &str,
        left: Duration,
    ) -> Result<(), ServiceError> {
        let now = now();
        let left = chrono::Duration::from_std(left).unwrap_or(chrono::Duration::MAX);
        let denial = HeldDenial {
            kind,
            key: key.to_owned(),
            subject: subject.to_owned(),
            expires_at: now.checked_add_signed(left).unwrap_or(NaiveDateTime::MAX),
        };
        self.store.hold_denial(&denial, now).await?;
        Ok(())
    }

    /// Ends the held lockouts of `email`; the caller clears its counters in the cache after
    /// this, so a restore in between cannot bring them back.
    pub(crate) async fn lift_lockouts(&self, email: &str) -> Result<(), ServiceError> {
        self.store.lift_denials(DenialKind::Lockout, email).await?;
        Ok(())
    }

    async fn restore(&self) -> Result<(), ServiceError> {
        let now = now();
        let denials = self.store.denials_in_force(now).await?;
        let threshold = self.lockout_threshold.to_string();
        for denial in &denials {
            let left = (denial.expires_at - now).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                continue;
            }
            match denial.kind {
                DenialKind::Lockout if self.lockout_threshold > 0 => {
                    self.cache.set(&denial.key, &threshold, left).await?;
                    self.cache
                        .mark(LOCKED_ACCOUNTS, &denial.subject, left)
                        .await?;
                }
                DenialKind::Lockout => {}
                DenialKind::RevokedAccessToken => self.cache.set(&denial.key, "1", left).await?,
            }
        }
        self.cache
            .set_forever(RESTORED_MARK, &now.and_utc().timestamp().to_string())
            .await?;
        // The in-process cache starts empty every time, and so does a new deployment's Redis;
        // a shared cache that lost denials in force is worth an operator's attention.
        if matches!(self.cache, Cache::Redis(_)) && !denials.is_empty() {
            tracing::warn!(
                denials = denials.len(),
                "the cache had lost its contents: held lockouts and revoked tokens put back"
            );
        }
        Ok(())
    }
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}
