//! Refresh tokens (stored as hashes, grouped in rotation families). A live family is an
//! active session of a user in an app.

use std::future::Future;

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, Store, StoreError};

/// The live token of one family, as the admin API lists sessions.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActiveSession {
    pub family_id: String,
    pub client_id: String,
    pub scope: String,
    /// JSON array text.
    pub roles: String,
    pub impersonated_by: Option<String>,
    pub expires_at: NaiveDateTime,
}

pub trait RefreshTokenStore {
    /// The user's live (unused, unrevoked, unexpired) refresh tokens, one per family.
    fn active_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<Vec<ActiveSession>, StoreError>> + Send;
    /// Revokes every token of one of the user's families; whether it had a live one.
    fn revoke_session(
        &self,
        user_id: i64,
        family_id: &str,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl RefreshTokenStore for Store {
    async fn active_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> Result<Vec<ActiveSession>, StoreError> {
        const SQL: &str = "SELECT t.family_id, a.client_id, t.scope, t.roles, t.impersonated_by, \
            t.expires_at FROM refresh_tokens t JOIN apps a ON a.id = t.app_id \
            WHERE t.user_id = $1 AND t.revoked_at IS NULL AND t.used_at IS NULL \
            AND t.expires_at > $2 AND t.deleted_at IS NULL ORDER BY t.id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(user_id)
            .bind(now)
            .fetch_all(pool)
            .await)?)
    }

    async fn revoke_session(
        &self,
        user_id: i64,
        family_id: &str,
        now: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        const LIVE: &str =
            "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1 AND family_id = $2 \
            AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $3 AND deleted_at IS NULL";
        const REVOKE: &str = "UPDATE refresh_tokens SET revoked_at = $3, updated_at = $3 \
            WHERE user_id = $1 AND family_id = $2 AND revoked_at IS NULL";
        let stamp = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let (live,): (i64,) = sqlx::query_as(LIVE)
                .bind(user_id)
                .bind(family_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(REVOKE)
                .bind(user_id)
                .bind(family_id)
                .bind(stamp)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(live > 0)
        })
    }
}
