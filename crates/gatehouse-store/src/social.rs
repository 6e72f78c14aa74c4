//! Users who sign in through an outside provider: one row per provider identity, found by
//! (`social_account_type`, `social_account_id`), never by email; and identities linked to an
//! existing account (`user_identities`, after the account's password proved it).

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::users::user_columns_u;
use crate::{insert_and_read, now_utc, on_pool, sql, Store, StoreError, StoreFuture, UserRecord};

/// A user made by a first sign-in through a provider.
#[derive(Debug, Clone)]
pub struct NewSocialUser {
    pub auth_id: String,
    /// The provider's name (`socialAccountType`).
    pub provider: String,
    /// The provider's id of the person (`socialAccountId`, the ID token's `sub`).
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider vouches for the email.
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: String,
}

/// A provider identity linked to an account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkedIdentity {
    pub id: i64,
    pub provider: String,
    pub subject: String,
    pub created_at: NaiveDateTime,
}

pub trait SocialAccountStore {
    /// The live user of this provider identity: the social user made from it, or the account
    /// it was linked to.
    fn social_user(&self, provider: &str, subject: &str) -> impl StoreFuture<Option<UserRecord>>;
    /// Creates the user; an identity that already has one is `StoreError::Conflict`.
    fn insert_social_user(&self, user: &NewSocialUser) -> impl StoreFuture<UserRecord>;
    /// Links the identity to the live user; an identity already linked is `StoreError::Conflict`.
    fn link_identity(
        &self,
        user_id: UserId,
        provider: &str,
        subject: &str,
    ) -> impl StoreFuture<LinkedIdentity>;
    /// The identities linked to the user, oldest first.
    fn linked_identities(&self, user_id: UserId) -> impl StoreFuture<Vec<LinkedIdentity>>;
    /// Unlinks one of the user's identities; whether it was linked.
    fn unlink_identity(&self, user_id: UserId, identity_id: i64) -> impl StoreFuture<bool>;
}

impl SocialAccountStore for Store {
    async fn social_user(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        // Two index lookups joined by UNION ALL: an `OR` over both tables makes PostgreSQL
        // walk every user.
        const SQL: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u WHERE u.social_account_type = $1 AND u.social_account_id = $2 \
             AND u.deleted_at IS NULL UNION ALL SELECT ",
            user_columns_u!(),
            " FROM user_identities i JOIN users u ON u.id = i.user_id \
             WHERE i.provider = $1 AND i.subject = $2 AND i.deleted_at IS NULL \
             AND u.deleted_at IS NULL ORDER BY 1 LIMIT 1"
        );
        self.fetch_optional(SQL, (provider, subject)).await
    }

    async fn insert_social_user(&self, u: &NewSocialUser) -> Result<UserRecord, StoreError> {
        // The unique index on live (type, id) pairs (migration 0003) refuses a second row when
        // two first sign-ins race.
        const INSERT: &str = "INSERT INTO users (auth_id, email, social_account_type, \
            social_account_id, email_verified, first_name, last_name, locale, created_at, \
            updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
        const READ: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u WHERE u.id = $1"
        );
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let user: UserRecord = insert_and_read!(
                tx,
                INSERT,
                (
                    &u.auth_id,
                    &u.email,
                    &u.provider,
                    &u.subject,
                    u.email_verified,
                    &u.first_name,
                    &u.last_name,
                    &u.locale,
                    now,
                ),
                READ
            );
            self.commit(tx).await?;
            Ok(user)
        })
    }

    async fn link_identity(
        &self,
        user_id: UserId,
        provider: &str,
        subject: &str,
    ) -> Result<LinkedIdentity, StoreError> {
        // The user must still be live when the row goes in; the unique index on live
        // (provider, subject) refuses a second link of the same identity.
        const LIVE: &str = "SELECT COUNT(*) FROM users WHERE id = $1 AND deleted_at IS NULL";
        const INSERT: &str = "INSERT INTO user_identities (user_id, provider, subject, \
            created_at) VALUES ($1, $2, $3, $4) RETURNING id, provider, subject, created_at";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (live,): (i64,) = sql::fetch_one(&mut *tx, LIVE, (user_id,)).await?;
            if live == 0 {
                return Err(StoreError::Conflict("the user no longer exists".into()));
            }
            let linked: LinkedIdentity =
                sql::fetch_one(&mut *tx, INSERT, (user_id, provider, subject, now)).await?;
            self.commit(tx).await?;
            Ok(linked)
        })
    }

    async fn linked_identities(&self, user_id: UserId) -> Result<Vec<LinkedIdentity>, StoreError> {
        const SQL: &str = "SELECT id, provider, subject, created_at FROM user_identities \
            WHERE user_id = $1 AND deleted_at IS NULL ORDER BY id";
        self.fetch_all(SQL, (user_id,)).await
    }

    async fn unlink_identity(&self, user_id: UserId, identity_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE user_identities SET deleted_at = $3 \
            WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL";
        let done = self.execute(SQL, (user_id, identity_id, now_utc())).await?;
        Ok(done > 0)
    }
}
