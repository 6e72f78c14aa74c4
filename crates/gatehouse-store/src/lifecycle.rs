//! The account lifecycle after sign-up: verified emails, changed emails, accepted invitations.

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

/// A user holding a pending invitation, found by the invitation token's hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitedUser {
    pub id: i64,
    pub auth_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub locale: String,
    pub is_active: bool,
    pub invitation_expires_at: Option<NaiveDateTime>,
}

pub trait LifecycleStore {
    /// Marks the user's email as verified.
    fn set_email_verified(&self, user_id: i64) -> impl StoreFuture<()>;
    /// Gives the user a new (verified) email; another live password account holding it is
    /// `StoreError::Conflict`.
    fn change_email(&self, user_id: i64, email: &str) -> impl StoreFuture<()>;
    /// The live user whose pending invitation has this token hash.
    fn invited_user(&self, token_hash: &str) -> impl StoreFuture<Option<InvitedUser>>;
    /// Accepts the invitation: sets the password, activates the account, marks the email
    /// verified and clears the token. `false` when the token was used or withdrawn meanwhile.
    fn accept_invitation(
        &self,
        user_id: i64,
        token_hash: &str,
        password_hash: &str,
    ) -> impl StoreFuture<bool>;
}

impl LifecycleStore for Store {
    async fn set_email_verified(&self, user_id: i64) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE users SET email_verified = (1 = 1), updated_at = $2 WHERE id = $1";
        self.execute(SQL, (user_id, now_utc())).await?;
        Ok(())
    }

    async fn change_email(&self, user_id: i64, email: &str) -> Result<(), StoreError> {
        const TAKEN: &str = "SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2 \
            AND social_account_id IS NULL AND deleted_at IS NULL";
        const SQL: &str = "UPDATE users SET email = $2, email_verified = (1 = 1), updated_at = $3 \
            WHERE id = $1";
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (taken,): (i64,) = sql::fetch_one(&mut *tx, TAKEN, (email, user_id)).await?;
            if taken > 0 {
                return Err(StoreError::Conflict("users.email".into()));
            }
            sql::execute(&mut *tx, SQL, (user_id, email, now_utc())).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn invited_user(&self, token_hash: &str) -> Result<Option<InvitedUser>, StoreError> {
        const SQL: &str = "SELECT id, auth_id, email, first_name, locale, is_active, \
            invitation_expires_at FROM users WHERE invitation_token = $1 AND deleted_at IS NULL";
        self.fetch_optional(SQL, (token_hash,)).await
    }

    async fn accept_invitation(
        &self,
        user_id: i64,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET password_hash = $3, is_active = (1 = 1), \
            email_verified = (1 = 1), invitation_token = NULL, invitation_expires_at = NULL, \
            updated_at = $4 WHERE id = $1 AND invitation_token = $2 AND deleted_at IS NULL";
        let done = self
            .execute(SQL, (user_id, token_hash, password_hash, now_utc()))
            .await?;
        Ok(done == 1)
    }
}
