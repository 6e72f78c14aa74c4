//! Single sign-on sessions: one per browser, stored as the SHA-256 of the cookie value.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::{now_utc, Store, StoreError, StoreFuture};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BrowserSession {
    pub id: i64,
    pub user_id: UserId,
    pub auth_time: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// The methods the session's sign-in passed (JSON array of RFC 8176 values), if known.
    pub amr: Option<String>,
}

impl BrowserSession {
    /// The methods the session's sign-in passed (RFC 8176); empty when not known.
    pub fn methods(&self) -> Vec<String> {
        crate::json_list(self.amr.as_deref())
    }
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
    pub user_id: UserId,
    pub auth_time: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The methods the sign-in passed (RFC 8176).
    pub amr: &'a [String],
}

pub trait BrowserSessionStore {
    fn insert_browser_session(&self, session: &NewBrowserSession<'_>) -> impl StoreFuture<i64>;
    /// The live (unrevoked, unexpired) session with this hash.
    fn live_browser_session(
        &self,
        session_hash: &str,
        now: NaiveDateTime,
    ) -> impl StoreFuture<Option<BrowserSession>>;
    /// Extends an idle-timed session.
    fn touch_browser_session(
        &self,
        id: i64,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> impl StoreFuture<()>;
    fn revoke_browser_session(&self, id: i64) -> impl StoreFuture<()>;
    /// The user's live sessions, oldest first.
    fn user_browser_sessions(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> impl StoreFuture<Vec<BrowserSessionSummary>>;
    /// Ends every live session of the user; how many there were.
    fn revoke_all_user_browser_sessions(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> impl StoreFuture<u64>;
    /// Ends one of the user's live sessions; whether there was one.
    fn revoke_user_browser_session(
        &self,
        user_id: UserId,
        id: i64,
        now: NaiveDateTime,
    ) -> impl StoreFuture<bool>;
}

impl BrowserSessionStore for Store {
    async fn insert_browser_session(&self, s: &NewBrowserSession<'_>) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO browser_sessions (session_hash, user_id, auth_time, \
            last_seen_at, expires_at, ip, user_agent, amr, created_at, updated_at) \
            VALUES ($1, $2, $3, $6, $4, $5, $7, $8, $6, $6) RETURNING id";
        let now = now_utc();
        let (id,): (i64,) = self
            .fetch_one(
                SQL,
                (
                    s.session_hash,
                    s.user_id,
                    s.auth_time,
                    s.expires_at,
                    s.ip,
                    now,
                    s.user_agent,
                    crate::list_json(s.amr),
                ),
            )
            .await?;
        Ok(id)
    }

    async fn live_browser_session(
        &self,
        session_hash: &str,
        now: NaiveDateTime,
    ) -> Result<Option<BrowserSession>, StoreError> {
        const SQL: &str = "SELECT id, user_id, auth_time, expires_at, amr FROM browser_sessions \
            WHERE session_hash = $1 AND revoked_at IS NULL AND expires_at > $2 \
            AND deleted_at IS NULL";
        self.fetch_optional(SQL, (session_hash, now)).await
    }

    async fn touch_browser_session(
        &self,
        id: i64,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE browser_sessions SET last_seen_at = $2, expires_at = $3, \
            updated_at = $2 WHERE id = $1";
        self.execute(SQL, (id, now, expires_at)).await?;
        Ok(())
    }

    async fn revoke_browser_session(&self, id: i64) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE browser_sessions SET revoked_at = $2, updated_at = $2 WHERE id = $1";
        self.execute(SQL, (id, now_utc())).await?;
        Ok(())
    }

    async fn user_browser_sessions(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> Result<Vec<BrowserSessionSummary>, StoreError> {
        const SQL: &str = "SELECT id, auth_time, last_seen_at, expires_at, ip, user_agent \
            FROM browser_sessions WHERE user_id = $1 AND revoked_at IS NULL \
            AND expires_at > $2 AND deleted_at IS NULL ORDER BY id";
        self.fetch_all(SQL, (user_id, now)).await
    }

    async fn revoke_user_browser_session(
        &self,
        user_id: UserId,
        id: i64,
        now: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE browser_sessions SET revoked_at = $3, updated_at = $3 \
            WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 \
            AND deleted_at IS NULL";
        let ended = self.execute(SQL, (id, user_id, now)).await?;
        Ok(ended > 0)
    }

    async fn revoke_all_user_browser_sessions(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE browser_sessions SET revoked_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND deleted_at IS NULL";
        self.execute(SQL, (user_id, now)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, store, user};

    /// Starts a session for the user at 8 o'clock that expires at `expires` o'clock.
    async fn sign_in(store: &Store, hash: &str, user_id: UserId, expires: u32) -> i64 {
        let session = NewBrowserSession {
            session_hash: hash,
            user_id,
            auth_time: at(8),
            expires_at: at(expires),
            ip: Some("203.0.113.7"),
            user_agent: Some("Firefox"),
            amr: &["pwd".to_owned()],
        };
        store
            .insert_browser_session(&session)
            .await
            .expect("insert")
    }

    /// The live session with this hash at `hour` o'clock.
    async fn live(store: &Store, hash: &str, hour: u32) -> Option<BrowserSession> {
        let found = store.live_browser_session(hash, at(hour)).await;
        found.expect("read")
    }

    #[tokio::test]
    async fn a_session_is_live_until_it_expires() {
        let store = store().await;
        let user_id = user(&store, "a@example.com").await.id;
        let id = sign_in(&store, "cookie", user_id, 12).await;
        let found = live(&store, "cookie", 11).await;
        let expected = BrowserSession {
            id,
            user_id,
            auth_time: at(8),
            expires_at: at(12),
            amr: Some(r#"["pwd"]"#.into()),
        };
        assert_eq!(found, Some(expected));
        assert_eq!(live(&store, "cookie", 12).await, None);
        assert_eq!(live(&store, "other", 9).await, None);
    }

    #[tokio::test]
    async fn touching_a_session_keeps_it_live_past_its_old_expiry() {
        let store = store().await;
        let user_id = user(&store, "a@example.com").await.id;
        let id = sign_in(&store, "cookie", user_id, 10).await;
        store
            .touch_browser_session(id, at(9), at(14))
            .await
            .expect("touch");
        let found = live(&store, "cookie", 13).await;
        assert_eq!(found.map(|s| s.expires_at), Some(at(14)));
        let listed = store
            .user_browser_sessions(user_id, at(13))
            .await
            .expect("list");
        assert_eq!(listed[0].last_seen_at, at(9));
    }

    #[tokio::test]
    async fn a_revoked_session_is_no_longer_live() {
        let store = store().await;
        let user_id = user(&store, "a@example.com").await.id;
        let id = sign_in(&store, "cookie", user_id, 12).await;
        store.revoke_browser_session(id).await.expect("revoke");
        assert_eq!(live(&store, "cookie", 9).await, None);
        assert!(store
            .user_browser_sessions(user_id, at(9))
            .await
            .expect("list")
            .is_empty());
    }

    #[tokio::test]
    async fn a_user_can_end_only_their_own_sessions() {
        let store = store().await;
        let owner = user(&store, "owner@example.com").await.id;
        let stranger = user(&store, "stranger@example.com").await.id;
        let id = sign_in(&store, "cookie", owner, 12).await;

        assert!(!store
            .revoke_user_browser_session(stranger, id, at(9))
            .await
            .expect("theirs"));
        let listed = store
            .user_browser_sessions(owner, at(9))
            .await
            .expect("list");
        let seen: Vec<(i64, Option<&str>, Option<&str>)> = listed
            .iter()
            .map(|s| (s.id, s.ip.as_deref(), s.user_agent.as_deref()))
            .collect();
        assert_eq!(seen, [(id, Some("203.0.113.7"), Some("Firefox"))]);
        assert!(store
            .revoke_user_browser_session(owner, id, at(9))
            .await
            .expect("own"));
        assert!(!store
            .revoke_user_browser_session(owner, id, at(9))
            .await
            .expect("again"));
    }

    #[tokio::test]
    async fn ending_every_session_of_a_user_counts_the_live_ones() {
        let store = store().await;
        let owner = user(&store, "owner@example.com").await.id;
        let stranger = user(&store, "stranger@example.com").await.id;
        sign_in(&store, "one", owner, 12).await;
        sign_in(&store, "two", owner, 13).await;
        sign_in(&store, "expired", owner, 9).await;
        sign_in(&store, "theirs", stranger, 12).await;

        assert_eq!(
            store
                .revoke_all_user_browser_sessions(owner, at(10))
                .await
                .expect("end"),
            2
        );
        assert_eq!(live(&store, "two", 10).await, None);
        assert!(live(&store, "theirs", 10).await.is_some());
    }
}
