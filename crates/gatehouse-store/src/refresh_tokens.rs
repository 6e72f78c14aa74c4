//! Refresh tokens (stored as hashes, grouped in rotation families). A live family is an
//! active session of a user in an app.

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

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

/// A stored refresh token with its app's client id.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RefreshTokenRecord {
    pub id: i64,
    pub family_id: String,
    pub user_id: i64,
    pub app_id: i64,
    pub client_id: String,
    pub session_id: Option<i64>,
    pub scope: String,
    /// JSON array text.
    pub roles: String,
    pub impersonated_by: Option<String>,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken<'a> {
    /// SHA-256 (hex) of the token.
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub user_id: i64,
    pub app_id: i64,
    pub session_id: Option<i64>,
    pub scope: &'a str,
    pub roles: &'a str,
    pub impersonated_by: Option<&'a str>,
    pub expires_at: NaiveDateTime,
}

pub trait RefreshTokenStore {
    fn insert_refresh_token(&self, token: &NewRefreshToken<'_>) -> impl StoreFuture<()>;
    fn refresh_token_by_hash(
        &self,
        token_hash: &str,
    ) -> impl StoreFuture<Option<RefreshTokenRecord>>;
    /// Marks a token used; false when it already was (a concurrent refresh won).
    fn mark_refresh_token_used(&self, id: i64, now: NaiveDateTime) -> impl StoreFuture<bool>;
    /// Revokes every token of a family (logout, reuse detection, replayed code).
    fn revoke_refresh_family(&self, family_id: &str) -> impl StoreFuture<()>;
    /// The user's live (unused, unrevoked, unexpired) refresh tokens, one per family.
    fn active_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> impl StoreFuture<Vec<ActiveSession>>;
    /// Revokes every refresh token of the user; how many were not revoked yet.
    fn revoke_user_refresh_tokens(&self, user_id: i64, now: NaiveDateTime)
        -> impl StoreFuture<u64>;
    /// Revokes every token of one of the user's families; whether it had a live one.
    fn revoke_session(
        &self,
        user_id: i64,
        family_id: &str,
        now: NaiveDateTime,
    ) -> impl StoreFuture<bool>;
}

impl RefreshTokenStore for Store {
    async fn insert_refresh_token(&self, t: &NewRefreshToken<'_>) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO refresh_tokens (token_hash, family_id, user_id, app_id, \
            session_id, scope, roles, impersonated_by, expires_at, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
        self.execute(
            INSERT,
            (
                t.token_hash,
                t.family_id,
                t.user_id,
                t.app_id,
                t.session_id,
                t.scope,
                t.roles,
                t.impersonated_by,
                t.expires_at,
                now_utc(),
            ),
        )
        .await?;
        Ok(())
    }

    async fn refresh_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        const SQL: &str = "SELECT t.id, t.family_id, t.user_id, t.app_id, a.client_id, \
            t.session_id, t.scope, t.roles, t.impersonated_by, t.expires_at, t.used_at, \
            t.revoked_at FROM refresh_tokens t JOIN apps a ON a.id = t.app_id \
            WHERE t.token_hash = $1 AND t.deleted_at IS NULL";
        self.fetch_optional(SQL, (token_hash,)).await
    }

    async fn mark_refresh_token_used(
        &self,
        id: i64,
        now: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE refresh_tokens SET used_at = $2, updated_at = $2 \
            WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL";
        let changed = self.execute(SQL, (id, now)).await?;
        Ok(changed == 1)
    }

    async fn revoke_refresh_family(&self, family_id: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE refresh_tokens SET revoked_at = $2, updated_at = $2 \
            WHERE family_id = $1 AND revoked_at IS NULL";
        self.execute(SQL, (family_id, now_utc())).await?;
        Ok(())
    }

    async fn active_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> Result<Vec<ActiveSession>, StoreError> {
        const SQL: &str = "SELECT t.family_id, a.client_id, t.scope, t.roles, t.impersonated_by, \
            t.expires_at FROM refresh_tokens t JOIN apps a ON a.id = t.app_id \
            WHERE t.user_id = $1 AND t.revoked_at IS NULL AND t.used_at IS NULL \
            AND t.expires_at > $2 AND t.deleted_at IS NULL ORDER BY t.id";
        self.fetch_all(SQL, (user_id, now)).await
    }

    async fn revoke_user_refresh_tokens(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE refresh_tokens SET revoked_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND revoked_at IS NULL";
        self.execute(SQL, (user_id, now)).await
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
            let mut tx = pool.begin_write().await?;
            let (live,): (i64,) = sql::fetch_one(&mut *tx, LIVE, (user_id, family_id, now)).await?;
            sql::execute(&mut *tx, REVOKE, (user_id, family_id, stamp)).await?;
            tx.commit().await?;
            Ok(live > 0)
        })
    }
}
