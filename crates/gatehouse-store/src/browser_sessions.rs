//! Single sign-on sessions: one per browser, stored as the SHA-256 of the cookie value.

use std::future::Future;

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BrowserSession {
    pub id: i64,
    pub user_id: i64,
    pub auth_time: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// A live session as the management API lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BrowserSessionSummary {
    pub id: i64,
    pub auth_time: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewBrowserSession<'a> {
    pub session_hash: &'a str,
    pub user_id: i64,
    pub auth_time: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub trait BrowserSessionStore {
    fn insert_browser_session(
        &self,
        session: &NewBrowserSession<'_>,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// The live (unrevoked, unexpired) session with this hash.
    fn live_browser_session(
        &self,
        session_hash: &str,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<Option<BrowserSession>, StoreError>> + Send;
    /// Extends an idle-timed session.
    fn touch_browser_session(
        &self,
        id: i64,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn revoke_browser_session(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The user's live sessions, oldest first.
    fn user_browser_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<Vec<BrowserSessionSummary>, StoreError>> + Send;
    /// Ends every live session of the user; how many there were.
    fn revoke_all_user_browser_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Ends one of the user's live sessions; whether there was one.
    fn revoke_user_browser_session(
        &self,
        user_id: i64,
        id: i64,
        now: NaiveDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl BrowserSessionStore for Store {
    async fn insert_browser_session(&self, s: &NewBrowserSession<'_>) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO browser_sessions (session_hash, user_id, auth_time, \
            last_seen_at, expires_at, ip, user_agent, created_at, updated_at) \
            VALUES ($1, $2, $3, $6, $4, $5, $7, $6, $6) RETURNING id";
        let now = now_utc();
        let (id,): (i64,) = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(s.session_hash)
            .bind(s.user_id)
            .bind(s.auth_time)
            .bind(s.expires_at)
            .bind(s.ip)
            .bind(now)
            .bind(s.user_agent)
            .fetch_one(pool)
            .await)?;
        Ok(id)
    }

    async fn live_browser_session(
        &self,
        session_hash: &str,
        now: NaiveDateTime,
    ) -> Result<Option<BrowserSession>, StoreError> {
        const SQL: &str = "SELECT id, user_id, auth_time, expires_at FROM browser_sessions \
            WHERE session_hash = $1 AND revoked_at IS NULL AND expires_at > $2 \
            AND deleted_at IS NULL";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(session_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    async fn touch_browser_session(
        &self,
        id: i64,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE browser_sessions SET last_seen_at = $2, expires_at = $3, \
            updated_at = $2 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    async fn revoke_browser_session(&self, id: i64) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE browser_sessions SET revoked_at = $2, updated_at = $2 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    async fn user_browser_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> Result<Vec<BrowserSessionSummary>, StoreError> {
        const SQL: &str = "SELECT id, auth_time, last_seen_at, expires_at, ip, user_agent \
            FROM browser_sessions WHERE user_id = $1 AND revoked_at IS NULL \
            AND expires_at > $2 AND deleted_at IS NULL ORDER BY id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(user_id)
            .bind(now)
            .fetch_all(pool)
            .await)?)
    }

    async fn revoke_user_browser_session(
        &self,
        user_id: i64,
        id: i64,
        now: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE browser_sessions SET revoked_at = $3, updated_at = $3 \
            WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 \
            AND deleted_at IS NULL";
        let ended = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(ended > 0)
    }

    async fn revoke_all_user_browser_sessions(
        &self,
        user_id: i64,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE browser_sessions SET revoked_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND deleted_at IS NULL";
        Ok(on_pool!(self, |pool| sqlx::query(SQL)
            .bind(user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
