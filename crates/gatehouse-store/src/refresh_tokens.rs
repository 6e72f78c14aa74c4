//! Refresh tokens (stored as hashes, grouped in rotation families). A live family is an
//! active session of a user in an app.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

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
    pub user_id: UserId,
    pub app_id: i64,
    pub client_id: String,
    pub session_id: Option<i64>,
    pub scope: String,
    /// JSON array text.
    pub roles: String,
    pub impersonated_by: Option<String>,
    /// The resource server the family's access tokens are for (its identifier), if any.
    pub resource: Option<String>,
    /// The methods the sign-in passed (JSON array of RFC 8176 values), if known.
    pub amr: Option<String>,
    /// Claims the `claims` parameter asked for at userinfo (JSON array), if any.
    pub userinfo_claims: Option<String>,
    /// The DPoP key the family is bound to (a public client's, RFC 9449 §5).
    pub dpop_jkt: Option<String>,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl RefreshTokenRecord {
    /// The methods the sign-in passed (RFC 8176); empty when not known.
    pub fn methods(&self) -> Vec<String> {
        crate::json_list(self.amr.as_deref())
    }

    /// The claims the authorization asked for at userinfo.
    pub fn userinfo_claim_names(&self) -> Vec<String> {
        crate::json_list(self.userinfo_claims.as_deref())
    }
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken<'a> {
    /// SHA-256 (hex) of the token.
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub user_id: UserId,
    pub app_id: i64,
    pub session_id: Option<i64>,
    pub scope: &'a str,
    pub roles: &'a str,
    pub impersonated_by: Option<&'a str>,
    pub resource: Option<&'a str>,
    /// The methods the sign-in passed (RFC 8176) and the claims asked at userinfo.
    pub amr: &'a [String],
    pub userinfo_claims: &'a [String],
    pub dpop_jkt: Option<&'a str>,
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
        user_id: UserId,
        now: NaiveDateTime,
    ) -> impl StoreFuture<Vec<ActiveSession>>;
    /// Revokes every refresh token of the user; how many were not revoked yet.
    fn revoke_user_refresh_tokens(
        &self,
        user_id: UserId,
        now: NaiveDateTime,
    ) -> impl StoreFuture<u64>;
    /// Revokes every token of one of the user's families; whether it had a live one.
    fn revoke_session(
        &self,
        user_id: UserId,
        family_id: &str,
        now: NaiveDateTime,
    ) -> impl StoreFuture<bool>;
}

impl RefreshTokenStore for Store {
    async fn insert_refresh_token(&self, t: &NewRefreshToken<'_>) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO refresh_tokens (token_hash, family_id, user_id, app_id, \
            session_id, scope, roles, impersonated_by, resource, amr, expires_at, created_at, \
            updated_at, userinfo_claims, dpop_jkt) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14)";
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
                t.resource,
                crate::list_json(t.amr),
                t.expires_at,
                now_utc(),
                crate::list_json(t.userinfo_claims),
                t.dpop_jkt,
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
            t.session_id, t.scope, t.roles, t.impersonated_by, t.resource, t.amr, \
            t.userinfo_claims, t.dpop_jkt, t.expires_at, t.used_at, t.revoked_at FROM refresh_tokens t JOIN apps a ON a.id = t.app_id \
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
        user_id: UserId,
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
        user_id: UserId,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE refresh_tokens SET revoked_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND revoked_at IS NULL";
        self.execute(SQL, (user_id, now)).await
    }

    async fn revoke_session(
        &self,
        user_id: UserId,
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
            self.commit(tx).await?;
            Ok(live > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app, at, store, user};

    /// Stores a token of `family` for the user in the app, expiring at `expires` o'clock.
    async fn issue(store: &Store, hash: &str, family: &str, owner: (UserId, i64), expires: u32) {
        let token = NewRefreshToken {
            token_hash: hash,
            family_id: family,
            user_id: owner.0,
            app_id: owner.1,
            session_id: None,
            scope: "openid offline_access",
            roles: r#"["admin"]"#,
            impersonated_by: None,
            resource: None,
            amr: &[],
            userinfo_claims: &[],
            dpop_jkt: None,
            expires_at: at(expires),
        };
        store.insert_refresh_token(&token).await.expect("insert");
    }

    async fn by_hash(store: &Store, hash: &str) -> RefreshTokenRecord {
        let found = store.refresh_token_by_hash(hash).await.expect("read");
        found.expect("the token is stored")
    }

    /// A store with one app (`.2`) and two users: the owner of the tokens (`.1`) and a
    /// stranger (`.3`).
    async fn owner() -> (Store, UserId, i64, UserId) {
        let store = store().await;
        let owner = user(&store, "owner@example.com").await;
        let stranger = user(&store, "stranger@example.com").await;
        let app = app(&store, "client-a").await;
        (store, owner.id, app.id, stranger.id)
    }

    #[tokio::test]
    async fn a_token_is_found_by_its_hash_with_its_apps_client_id() {
        let (store, user_id, app_id, _) = owner().await;
        issue(&store, "h1", "f1", (user_id, app_id), 12).await;
        let token = by_hash(&store, "h1").await;
        assert_eq!(
            (token.family_id.as_str(), token.user_id, token.app_id),
            ("f1", user_id, app_id)
        );
        assert_eq!(token.client_id, "client-a");
        assert_eq!(
            (token.scope.as_str(), token.roles.as_str()),
            ("openid offline_access", r#"["admin"]"#)
        );
        assert_eq!(
            (token.expires_at, token.used_at, token.revoked_at),
            (at(12), None, None)
        );
        assert!(store
            .refresh_token_by_hash("h2")
            .await
            .expect("read")
            .is_none());
    }

    #[tokio::test]
    async fn a_token_is_marked_used_once_so_only_one_concurrent_refresh_wins() {
        let (store, user_id, app_id, _) = owner().await;
        issue(&store, "h1", "f1", (user_id, app_id), 12).await;
        let id = by_hash(&store, "h1").await.id;
        assert!(store
            .mark_refresh_token_used(id, at(9))
            .await
            .expect("first"));
        assert!(!store
            .mark_refresh_token_used(id, at(10))
            .await
            .expect("second"));
        assert_eq!(by_hash(&store, "h1").await.used_at, Some(at(9)));
    }

    #[tokio::test]
    async fn revoking_a_family_revokes_each_of_its_tokens_and_no_other() {
        let (store, user_id, app_id, _) = owner().await;
        for (hash, family) in [("old", "f1"), ("new", "f1"), ("other", "f2")] {
            issue(&store, hash, family, (user_id, app_id), 12).await;
        }
        store.revoke_refresh_family("f1").await.expect("revoke");
        assert!(by_hash(&store, "old").await.revoked_at.is_some());
        let new = by_hash(&store, "new").await;
        assert!(new.revoked_at.is_some());
        assert!(by_hash(&store, "other").await.revoked_at.is_none());
        // A revoked token can no longer be spent.
        assert!(!store
            .mark_refresh_token_used(new.id, at(9))
            .await
            .expect("mark"));
    }

    #[tokio::test]
    async fn active_sessions_are_the_unused_unrevoked_unexpired_tokens_of_the_user() {
        let (store, user_id, app_id, stranger) = owner().await;
        issue(&store, "rotated-away", "rotated", (user_id, app_id), 12).await;
        issue(&store, "rotated-in", "rotated", (user_id, app_id), 12).await;
        issue(&store, "expired", "expired", (user_id, app_id), 8).await;
        issue(&store, "revoked", "revoked", (user_id, app_id), 12).await;
        issue(&store, "theirs", "theirs", (stranger, app_id), 12).await;
        let used = by_hash(&store, "rotated-away").await.id;
        store
            .mark_refresh_token_used(used, at(7))
            .await
            .expect("use");
        store
            .revoke_refresh_family("revoked")
            .await
            .expect("revoke");

        let sessions = store.active_sessions(user_id, at(9)).await.expect("list");
        let families: Vec<&str> = sessions.iter().map(|s| s.family_id.as_str()).collect();
        assert_eq!(families, ["rotated"]);
        assert_eq!(
            (sessions[0].client_id.as_str(), sessions[0].expires_at),
            ("client-a", at(12))
        );
    }

    #[tokio::test]
    async fn a_user_can_revoke_only_their_own_live_family() {
        let (store, user_id, app_id, stranger) = owner().await;
        issue(&store, "h1", "f1", (user_id, app_id), 12).await;

        assert!(!store
            .revoke_session(stranger, "f1", at(9))
            .await
            .expect("theirs"));
        assert!(by_hash(&store, "h1").await.revoked_at.is_none());
        assert!(store
            .revoke_session(user_id, "f1", at(9))
            .await
            .expect("own"));
        assert!(by_hash(&store, "h1").await.revoked_at.is_some());
        assert!(!store
            .revoke_session(user_id, "f1", at(9))
            .await
            .expect("again"));
    }

    #[tokio::test]
    async fn revoking_all_of_a_users_tokens_counts_those_not_revoked_yet() {
        let (store, user_id, app_id, stranger) = owner().await;
        issue(&store, "a", "f1", (user_id, app_id), 12).await;
        issue(&store, "b", "f2", (user_id, app_id), 12).await;
        issue(&store, "c", "f3", (stranger, app_id), 12).await;
        store.revoke_refresh_family("f1").await.expect("revoke one");

        assert_eq!(
            store
                .revoke_user_refresh_tokens(user_id, at(9))
                .await
                .expect("all"),
            1
        );
        assert_eq!(by_hash(&store, "b").await.revoked_at, Some(at(9)));
        assert!(by_hash(&store, "c").await.revoked_at.is_none());
        assert_eq!(
            store
                .revoke_user_refresh_tokens(user_id, at(10))
                .await
                .expect("again"),
            0
        );
    }
}
