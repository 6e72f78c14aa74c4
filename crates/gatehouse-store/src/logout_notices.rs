//! Logout notices owed to apps (OIDC back-channel logout): written by the transactions that
//! end sessions, sent by whichever instance claims them first, retried until answered.

use chrono::NaiveDateTime;

use crate::{Store, StoreError, StoreFuture};

/// A notice due, with what sending it needs from its app.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogoutNotice {
    pub id: i64,
    pub client_id: String,
    pub backchannel_logout_uri: String,
    /// The algorithm the app's ID tokens are signed with, so its logout tokens match.
    pub id_token_signed_response_alg: Option<String>,
    /// The user's `sub`.
    pub subject: String,
    /// The session (`sid`); `None` when the notice is about every session of the user.
    pub session_id: Option<i64>,
    /// Claims made so far, this one included once claimed.
    pub attempts: i32,
}

pub trait LogoutNoticeStore {
    /// Up to `limit` notices whose next attempt is due, oldest first.
    fn due_logout_notices(
        &self,
        now: NaiveDateTime,
        limit: i64,
    ) -> impl StoreFuture<Vec<LogoutNotice>>;
    /// Takes the notice for one attempt until `lease_until`, if no other instance took it since
    /// it was read (`attempts` as read); whether this caller has it.
    fn claim_logout_notice(
        &self,
        id: i64,
        attempts: i32,
        lease_until: NaiveDateTime,
    ) -> impl StoreFuture<bool>;
    /// The app answered (or will never): the notice is done.
    fn finish_logout_notice(&self, id: i64) -> impl StoreFuture<()>;
    /// The attempt failed: try again at `next_attempt_at`.
    fn postpone_logout_notice(
        &self,
        id: i64,
        next_attempt_at: NaiveDateTime,
        error: &str,
    ) -> impl StoreFuture<()>;
}

impl LogoutNoticeStore for Store {
    async fn due_logout_notices(
        &self,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<LogoutNotice>, StoreError> {
        const SQL: &str = "SELECT n.id, a.client_id, a.backchannel_logout_uri, \
            a.id_token_signed_response_alg, n.subject, n.session_id, n.attempts \
            FROM logout_notices n JOIN apps a ON a.id = n.app_id \
            WHERE n.next_attempt_at <= $1 AND a.backchannel_logout_uri IS NOT NULL \
            AND a.deleted_at IS NULL ORDER BY n.next_attempt_at, n.id LIMIT $2";
        self.fetch_all(SQL, (now, limit)).await
    }

    async fn claim_logout_notice(
        &self,
        id: i64,
        attempts: i32,
        lease_until: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE logout_notices SET attempts = attempts + 1, \
            next_attempt_at = $3 WHERE id = $1 AND attempts = $2";
        Ok(self.execute(SQL, (id, attempts, lease_until)).await? == 1)
    }

    async fn finish_logout_notice(&self, id: i64) -> Result<(), StoreError> {
        self.execute("DELETE FROM logout_notices WHERE id = $1", (id,))
            .await?;
        Ok(())
    }

    async fn postpone_logout_notice(
        &self,
        id: i64,
        next_attempt_at: NaiveDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE logout_notices SET next_attempt_at = $2, last_error = $3 WHERE id = $1";
        self.execute(SQL, (id, next_attempt_at, error)).await?;
        Ok(())
    }
}
