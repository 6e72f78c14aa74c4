//! Single sign-on sessions: one per browser, stored as the SHA-256 of the cookie value.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::sql::{self, Binds};
use crate::{now_utc, on_pool, Store, StoreError, StoreFuture};

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

/// What signing a user out everywhere ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedOut {
    pub browsers: u64,
    pub tokens: u64,
}

/// An app a session signed in to that takes front-channel logouts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FrontChannelApp {
    pub frontchannel_logout_uri: String,
    /// Whether it wants `iss` and `sid` with the call.
    pub frontchannel_logout_session_required: bool,
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
    /// Ends a session; each app it signed in to that takes back-channel logouts is owed a
    /// notice, written in the same transaction.
    fn revoke_browser_session(&self, id: i64) -> impl StoreFuture<()>;
    /// The user's live sessions, oldest first.
    fn user_browser_sessions(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> impl StoreFuture<Vec<BrowserSessionSummary>>;
    /// Signs the user out everywhere in one transaction: every live session ends, every refresh
    /// token is revoked, and each app told of logouts is owed a notice (per session it signed
    /// in to, else one for the user when it held a refresh token).
    fn sign_out_everywhere(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> impl StoreFuture<SignedOut>;
    /// Notes that the session signed in to the app (the app holds an ID token with its `sid`).
    fn record_session_app(
        &self,
        session_id: i64,
        app_id: i64,
        now: NaiveDateTime,
    ) -> impl StoreFuture<()>;
    /// The apps the session signed in to that take front-channel logouts.
    fn session_front_channels(&self, session_id: i64) -> impl StoreFuture<Vec<FrontChannelApp>>;
    /// Ends (and owes notices for) at most `limit` sessions that ran out idle; how many.
    fn end_expired_browser_sessions(&self, now: NaiveDateTime, limit: i64)
        -> impl StoreFuture<u64>;
    /// Ends one of the user's live sessions (owing notices as above); whether there was one.
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
        const SQL: &str = "UPDATE browser_sessions SET revoked_at = $2, updated_at = $2 \
            WHERE id = $1 AND revoked_at IS NULL RETURNING id";
        let now = now_utc();
        self.end_sessions(SQL, (id, now), now).await?;
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
            AND deleted_at IS NULL RETURNING id";
        let ended = self.end_sessions(SQL, (id, user_id, now), now).await?;
        Ok(ended > 0)
    }

    async fn sign_out_everywhere(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> Result<SignedOut, StoreError> {
        const END: &str = "UPDATE browser_sessions SET revoked_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND deleted_at IS NULL \
            RETURNING id";
        // Apps that hold the user's refresh tokens but no session's: told of the user, no `sid`
        // (unless they need one). Read before the sessions end, so it can leave those apps out.
        const OWE_TOKEN_APPS: &str = "INSERT INTO logout_notices \
            (app_id, subject, session_id, next_attempt_at, created_at) \
            SELECT DISTINCT a.id, u.auth_id, CAST(NULL AS BIGINT), $2, $2 FROM refresh_tokens r \
            JOIN apps a ON a.id = r.app_id JOIN users u ON u.id = r.user_id \
            WHERE r.user_id = $1 AND r.revoked_at IS NULL AND r.expires_at > $2 \
            AND r.deleted_at IS NULL AND a.deleted_at IS NULL \
            AND a.backchannel_logout_uri IS NOT NULL \
            AND NOT a.backchannel_logout_session_required \
            AND a.id NOT IN (SELECT sa.app_id FROM browser_session_apps sa \
            JOIN browser_sessions s ON s.id = sa.session_id WHERE s.user_id = $1 \
            AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.deleted_at IS NULL)";
        const REVOKE_TOKENS: &str = "UPDATE refresh_tokens SET revoked_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND revoked_at IS NULL";
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, OWE_TOKEN_APPS, (user_id, now)).await?;
            let ended: Vec<(i64,)> = sql::fetch_all(&mut *tx, END, (user_id, now)).await?;
            for (id,) in &ended {
                sql::execute(&mut *tx, OWE_SESSION_APPS, (*id, now)).await?;
            }
            let tokens = sql::execute(&mut *tx, REVOKE_TOKENS, (user_id, now))
                .await?
                .rows_affected();
            self.commit(tx).await?;
            Ok(SignedOut {
                browsers: ended.len() as u64,
                tokens,
            })
        })
    }

    async fn record_session_app(
        &self,
        session_id: i64,
        app_id: i64,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO browser_session_apps (session_id, app_id, created_at) \
            VALUES ($1, $2, $3) ON CONFLICT (session_id, app_id) DO NOTHING";
        self.execute(SQL, (session_id, app_id, now)).await?;
        Ok(())
    }

    async fn session_front_channels(
        &self,
        session_id: i64,
    ) -> Result<Vec<FrontChannelApp>, StoreError> {
        const SQL: &str = "SELECT a.frontchannel_logout_uri, \
            a.frontchannel_logout_session_required FROM browser_session_apps sa \
            JOIN apps a ON a.id = sa.app_id WHERE sa.session_id = $1 AND a.deleted_at IS NULL \
            AND a.is_active AND a.frontchannel_logout_uri IS NOT NULL ORDER BY a.id";
        self.fetch_all(SQL, (session_id,)).await
    }

    async fn end_expired_browser_sessions(
        &self,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<u64, StoreError> {
        // Stamped with the expiry itself: the session ended then, not when the sweep saw it.
        const SQL: &str = "UPDATE browser_sessions SET revoked_at = expires_at, updated_at = $1 \
            WHERE id IN (SELECT id FROM browser_sessions WHERE revoked_at IS NULL \
            AND deleted_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2) \
            AND revoked_at IS NULL RETURNING id";
        self.end_sessions(SQL, (now, limit), now).await
    }
}

/// Owes each app session `$1` signed in to, that takes back-channel logouts, a notice.
const OWE_SESSION_APPS: &str = "INSERT INTO logout_notices \
    (app_id, subject, session_id, next_attempt_at, created_at) \
    SELECT a.id, u.auth_id, s.id, $2, $2 FROM browser_session_apps sa \
    JOIN browser_sessions s ON s.id = sa.session_id JOIN apps a ON a.id = sa.app_id \
    JOIN users u ON u.id = s.user_id \
    WHERE sa.session_id = $1 AND a.deleted_at IS NULL AND a.backchannel_logout_uri IS NOT NULL";

impl Store {
    /// Runs `update` (an `UPDATE browser_sessions … RETURNING id`) and owes the notices of the
    /// sessions it ended, in one transaction; how many ended.
    async fn end_sessions<'q>(
        &self,
        update: &'q str,
        params: impl Binds<'q>,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let ended: Vec<(i64,)> = sql::fetch_all(&mut *tx, update, params).await?;
            for (id,) in &ended {
                sql::execute(&mut *tx, OWE_SESSION_APPS, (*id, now)).await?;
            }
            self.commit(tx).await?;
            Ok(ended.len() as u64)
        })
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
                .sign_out_everywhere(owner, at(10))
                .await
                .expect("end")
                .browsers,
            2
        );
        assert_eq!(live(&store, "two", 10).await, None);
        assert!(live(&store, "theirs", 10).await.is_some());
    }
}
