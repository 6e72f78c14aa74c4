//! Users who sign in through an outside provider: one row per provider identity, found by
//! (`social_account_type`, `social_account_id`), never by email.

use std::future::Future;

use crate::users::user_columns_u;
use crate::{now_utc, on_pool, Store, StoreError, UserRecord};

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

pub trait SocialAccountStore {
    /// The live user of this provider identity.
    fn social_user(
        &self,
        provider: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;
    /// Creates the user; an identity that already has one is `StoreError::Conflict`.
    fn insert_social_user(
        &self,
        user: &NewSocialUser,
    ) -> impl Future<Output = Result<UserRecord, StoreError>> + Send;
}

impl SocialAccountStore for Store {
    async fn social_user(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u WHERE u.social_account_type = $1 AND u.social_account_id = $2 \
             AND u.deleted_at IS NULL"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(provider)
            .bind(subject)
            .fetch_optional(pool)
            .await)?)
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
            let (id,): (i64,) = sqlx::query_as(INSERT)
                .bind(&u.auth_id)
                .bind(&u.email)
                .bind(&u.provider)
                .bind(&u.subject)
                .bind(u.email_verified)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(&u.locale)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let user: UserRecord = sqlx::query_as(READ).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(user)
        })
    }
}
