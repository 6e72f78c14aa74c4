//! A user's second factors: the TOTP secret (sealed by the server) and the enrolled types.

use std::future::Future;

use crate::{now_utc, on_pool, Store, StoreError};

pub trait MfaStore {
    /// The user's sealed TOTP secret, if one was set up.
    fn otp_secret(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Stores a new (not yet verified) sealed TOTP secret.
    fn set_otp_secret(
        &self,
        user_id: i64,
        sealed: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks the TOTP secret verified and records the enrolled types, in one statement.
    fn confirm_otp(
        &self,
        user_id: i64,
        mfa_types: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl MfaStore for Store {
    async fn otp_secret(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT otp_secret FROM users WHERE id = $1 AND deleted_at IS NULL";
        let row: Option<(Option<String>,)> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(secret,)| secret))
    }

    async fn set_otp_secret(&self, user_id: i64, sealed: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET otp_secret = $2, otp_verified = (1 = 0), \
            updated_at = $3 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(user_id)
            .bind(sealed)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    async fn confirm_otp(&self, user_id: i64, mfa_types: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET otp_verified = (1 = 1), mfa_types = $2, \
            updated_at = $3 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(user_id)
            .bind(mfa_types)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
