//! The account lifecycle after sign-up: verified emails, changed emails, accepted invitations.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

/// A user holding a pending invitation, found by the invitation token's hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitedUser {
    pub id: UserId,
    pub auth_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub locale: String,
    pub is_active: bool,
    pub invitation_expires_at: Option<NaiveDateTime>,
}

pub trait LifecycleStore {
    /// Marks the user's email as verified.
    fn set_email_verified(&self, user_id: UserId) -> impl StoreFuture<()>;
    /// Gives the user a new (verified) email; another live password account holding it is
    /// `StoreError::Conflict`.
    fn change_email(&self, user_id: UserId, email: &str) -> impl StoreFuture<()>;
    /// Gives the user a new email that an admin or provisioning client set, unverified until
    /// the user proves they receive mail there; a taken email is `StoreError::Conflict`.
    fn assign_email(&self, user_id: UserId, email: &str) -> impl StoreFuture<()>;
    /// The live user whose pending invitation has this token hash.
    fn invited_user(&self, token_hash: &str) -> impl StoreFuture<Option<InvitedUser>>;
    /// Accepts the invitation: sets the password, activates the account, marks the email
    /// verified and clears the token. `false` when the token was used or withdrawn meanwhile.
    fn accept_invitation(
        &self,
        user_id: UserId,
        token_hash: &str,
        password_hash: &str,
    ) -> impl StoreFuture<bool>;
}

impl Store {
    /// Sets the user's email and whether it is verified, unless another live password account
    /// holds it.
    async fn set_email(
        &self,
        user_id: UserId,
        email: &str,
        verified: bool,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const TAKEN: &str = "SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2 \
            AND social_account_id IS NULL AND deleted_at IS NULL";
        const SQL: &str = "UPDATE users SET email = $2, email_verified = $3, updated_at = $4 \
            WHERE id = $1";
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (taken,): (i64,) = sql::fetch_one(&mut *tx, TAKEN, (email, user_id)).await?;
            if taken > 0 {
                return Err(StoreError::Conflict("users.email".into()));
            }
            sql::execute(&mut *tx, SQL, (user_id, email, verified, now_utc())).await?;
            self.commit(tx).await?;
            Ok(())
        })
    }
}

impl LifecycleStore for Store {
    async fn set_email_verified(&self, user_id: UserId) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str =
            "UPDATE users SET email_verified = (1 = 1), updated_at = $2 WHERE id = $1";
        self.execute(SQL, (user_id, now_utc())).await?;
        Ok(())
    }

    async fn change_email(&self, user_id: UserId, email: &str) -> Result<(), StoreError> {
        self.set_email(user_id, email, true).await
    }

    async fn assign_email(&self, user_id: UserId, email: &str) -> Result<(), StoreError> {
        self.set_email(user_id, email, false).await
    }

    async fn invited_user(&self, token_hash: &str) -> Result<Option<InvitedUser>, StoreError> {
        const SQL: &str = "SELECT id, auth_id, email, first_name, locale, is_active, \
            invitation_expires_at FROM users WHERE invitation_token = $1 AND deleted_at IS NULL";
        self.fetch_optional(SQL, (token_hash,)).await
    }

    async fn accept_invitation(
        &self,
        user_id: UserId,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET password_hash = $3, is_active = (1 = 1), \
            email_verified = (1 = 1), invitation_token = NULL, invitation_expires_at = NULL, \
            updated_at = $4 WHERE id = $1 AND invitation_token = $2 AND deleted_at IS NULL";
        let done = self
            .execute(SQL, (user_id, token_hash, password_hash, now_utc()))
            .await?;
        Ok(done == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, store, user};
    use crate::{AccountStore, NewInvitedUser, UserStore};

    #[tokio::test]
    async fn an_invitation_is_accepted_once_and_only_with_its_token() {
        let store = store().await;
        let invited = NewInvitedUser {
            auth_id: "invited".into(),
            email: "new@example.com".into(),
            first_name: Some("Grace".into()),
            last_name: None,
            locale: "en".into(),
            org: None,
            role_ids: Vec::new(),
            invitation_token_hash: "token-hash".into(),
            invitation_expires_at: at(12),
        };
        store.insert_invited_user(&invited).await.expect("invite");
        let pending = store.invited_user("token-hash").await.expect("read");
        let pending = pending.expect("the invitation is pending");
        assert!(!pending.is_active);
        assert_eq!(pending.invitation_expires_at, Some(at(12)));

        assert!(!store
            .accept_invitation(pending.id, "other", "pw")
            .await
            .expect("wrong token"));
        assert!(store
            .accept_invitation(pending.id, "token-hash", "pw")
            .await
            .expect("accept"));
        let account = store
            .password_account("new@example.com")
            .await
            .expect("read");
        let account = account.expect("the account can sign in");
        assert_eq!(
            (account.is_active, account.password_hash.as_deref()),
            (true, Some("pw"))
        );
        let user = store
            .user_by_id(pending.id)
            .await
            .expect("read")
            .expect("user");
        assert!(user.email_verified && user.invitation_token.is_none());
        assert!(!store
            .accept_invitation(pending.id, "token-hash", "pw2")
            .await
            .expect("again"));
        assert_eq!(store.invited_user("token-hash").await.expect("read"), None);
    }

    #[tokio::test]
    async fn an_email_another_password_account_holds_cannot_be_taken() {
        let store = store().await;
        let a = user(&store, "a@example.com").await;
        user(&store, "b@example.com").await;
        let taken = store.change_email(a.id, "b@example.com").await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

        store
            .change_email(a.id, "c@example.com")
            .await
            .expect("change");
        let changed = store.user_by_id(a.id).await.expect("read").expect("user");
        assert_eq!(changed.email.as_deref(), Some("c@example.com"));
        assert!(changed.email_verified);

        let taken = store.assign_email(a.id, "b@example.com").await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        store
            .assign_email(a.id, "d@example.com")
            .await
            .expect("assign");
        let assigned = store.user_by_id(a.id).await.expect("read").expect("user");
        assert_eq!(assigned.email.as_deref(), Some("d@example.com"));
        assert!(
            !assigned.email_verified,
            "an assigned email is not verified"
        );
    }
}
