//! A user's second factors: the TOTP secret (sealed by the server) and the enrolled types.

use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

/// A stored passkey, as sign-in needs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPasskey {
    pub id: i64,
    pub user_id: i64,
    pub public_key: String,
    pub counter: i64,
}

pub trait MfaStore {
    /// Records a new passkey for the user.
    fn insert_passkey(
        &self,
        user_id: i64,
        credential_id: &str,
        public_key: &str,
        counter: i64,
    ) -> impl StoreFuture<()>;
    /// The live passkey with this credential id (base64url).
    fn passkey_by_credential(&self, credential_id: &str)
        -> impl StoreFuture<Option<StoredPasskey>>;
    /// Records a use: the authenticator's new signature counter.
    fn passkey_used(&self, id: i64, counter: i64) -> impl StoreFuture<()>;
    /// The user declined passkey enrollment for good (or asked again: `false`).
    fn set_skip_passkey_enroll(&self, user_id: i64, skip: bool) -> impl StoreFuture<()>;
    /// Whether the user declined passkey enrollment for good.
    fn skips_passkey_enroll(&self, user_id: i64) -> impl StoreFuture<bool>;
    /// The user's sealed TOTP secret, if one was set up.
    fn otp_secret(&self, user_id: i64) -> impl StoreFuture<Option<String>>;
    /// Stores a new (not yet verified) sealed TOTP secret.
    fn set_otp_secret(&self, user_id: i64, sealed: &str) -> impl StoreFuture<()>;
    /// Replaces the user's recovery codes with these hashes (the old ones stop working).
    fn replace_recovery_codes(&self, user_id: i64, code_hashes: &[String]) -> impl StoreFuture<()>;
    /// Spends one unused recovery code; whether it was one.
    fn use_recovery_code(&self, user_id: i64, code_hash: &str) -> impl StoreFuture<bool>;
    /// How many unused recovery codes the user has.
    fn recovery_codes_left(&self, user_id: i64) -> impl StoreFuture<i64>;
    /// The user's SMS number and whether a code sent to it was verified.
    fn sms_phone(&self, user_id: i64) -> impl StoreFuture<Option<(String, bool)>>;
    /// Stores a new, not yet verified SMS number.
    fn set_sms_phone(&self, user_id: i64, number: &str) -> impl StoreFuture<()>;
    /// Marks the SMS number verified and records the enrolled types, in one statement.
    fn confirm_sms(&self, user_id: i64, mfa_types: &str) -> impl StoreFuture<()>;
    /// Marks the TOTP secret verified and records the enrolled types, in one statement.
    fn confirm_otp(&self, user_id: i64, mfa_types: &str) -> impl StoreFuture<()>;
}

impl MfaStore for Store {
    async fn insert_passkey(
        &self,
        user_id: i64,
        credential_id: &str,
        public_key: &str,
        counter: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO user_passkeys (user_id, credential_id, public_key, counter, \
            created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
        self.execute(
            SQL,
            (user_id, credential_id, public_key, counter, now_utc()),
        )
        .await?;
        Ok(())
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        const SQL: &str = "SELECT id, user_id, public_key, counter FROM user_passkeys \
            WHERE credential_id = $1 AND deleted_at IS NULL";
        self.fetch_optional(SQL, (credential_id,)).await
    }

    async fn passkey_used(&self, id: i64, counter: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE user_passkeys SET counter = $2, last_used_at = $3, \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (id, counter, now_utc())).await?;
        Ok(())
    }

    async fn set_skip_passkey_enroll(&self, user_id: i64, skip: bool) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE users SET skip_passkey_enroll = $2, updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, skip, now_utc())).await?;
        Ok(())
    }

    async fn skips_passkey_enroll(&self, user_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT skip_passkey_enroll FROM users WHERE id = $1";
        let row: Option<(bool,)> = self.fetch_optional(SQL, (user_id,)).await?;
        Ok(row.is_some_and(|(skip,)| skip))
    }

    async fn otp_secret(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT otp_secret FROM users WHERE id = $1 AND deleted_at IS NULL";
        let row: Option<(Option<String>,)> = self.fetch_optional(SQL, (user_id,)).await?;
        Ok(row.and_then(|(secret,)| secret))
    }

    async fn set_otp_secret(&self, user_id: i64, sealed: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET otp_secret = $2, otp_verified = (1 = 0), \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, sealed, now_utc())).await?;
        Ok(())
    }

    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        code_hashes: &[String],
    ) -> Result<(), StoreError> {
        const RETIRE: &str = "UPDATE recovery_codes SET deleted_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND deleted_at IS NULL";
        const INSERT: &str = "INSERT INTO recovery_codes (user_id, code_hash, created_at, \
            updated_at) VALUES ($1, $2, $3, $3)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, RETIRE, (user_id, now)).await?;
            for hash in code_hashes {
                sql::execute(&mut *tx, INSERT, (user_id, hash, now)).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn use_recovery_code(&self, user_id: i64, code_hash: &str) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE recovery_codes SET used_at = $3, updated_at = $3 \
            WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL AND deleted_at IS NULL";
        let n = self.execute(SQL, (user_id, code_hash, now_utc())).await?;
        Ok(n == 1)
    }

    async fn recovery_codes_left(&self, user_id: i64) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 \
            AND used_at IS NULL AND deleted_at IS NULL";
        let (n,): (i64,) = self.fetch_one(SQL, (user_id,)).await?;
        Ok(n)
    }

    async fn sms_phone(&self, user_id: i64) -> Result<Option<(String, bool)>, StoreError> {
        const SQL: &str = "SELECT sms_phone_number, sms_phone_number_verified FROM users \
            WHERE id = $1 AND deleted_at IS NULL";
        let row: Option<(Option<String>, bool)> = self.fetch_optional(SQL, (user_id,)).await?;
        Ok(row.and_then(|(number, verified)| number.map(|n| (n, verified))))
    }

    async fn set_sms_phone(&self, user_id: i64, number: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET sms_phone_number = $2, \
            sms_phone_number_verified = (1 = 0), updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, number, now_utc())).await?;
        Ok(())
    }

    async fn confirm_sms(&self, user_id: i64, mfa_types: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET sms_phone_number_verified = (1 = 1), mfa_types = $2, \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, mfa_types, now_utc())).await?;
        Ok(())
    }

    async fn confirm_otp(&self, user_id: i64, mfa_types: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET otp_verified = (1 = 1), mfa_types = $2, \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, mfa_types, now_utc())).await?;
        Ok(())
    }
}
