//! A user's second factors: the TOTP secret (sealed by the server) and the enrolled types.

use gatehouse_core::ids::UserId;

use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

/// A stored passkey, as sign-in needs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPasskey {
    pub id: i64,
    pub user_id: UserId,
    pub public_key: String,
    pub counter: i64,
}

pub trait MfaStore {
    /// Records a new passkey for the user.
    fn insert_passkey(
        &self,
        user_id: UserId,
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
    fn set_skip_passkey_enroll(&self, user_id: UserId, skip: bool) -> impl StoreFuture<()>;
    /// Whether the user declined passkey enrollment for good.
    fn skips_passkey_enroll(&self, user_id: UserId) -> impl StoreFuture<bool>;
    /// The user's sealed TOTP secret, if one was set up.
    fn otp_secret(&self, user_id: UserId) -> impl StoreFuture<Option<String>>;
    /// Stores a new (not yet verified) sealed TOTP secret.
    fn set_otp_secret(&self, user_id: UserId, sealed: &str) -> impl StoreFuture<()>;
    /// Replaces the user's recovery codes with these hashes (the old ones stop working).
    fn replace_recovery_codes(
        &self,
        user_id: UserId,
        code_hashes: &[String],
    ) -> impl StoreFuture<()>;
    /// Spends one unused recovery code; whether it was one.
    fn use_recovery_code(&self, user_id: UserId, code_hash: &str) -> impl StoreFuture<bool>;
    /// How many unused recovery codes the user has.
    fn recovery_codes_left(&self, user_id: UserId) -> impl StoreFuture<i64>;
    /// The user's SMS number and whether a code sent to it was verified.
    fn sms_phone(&self, user_id: UserId) -> impl StoreFuture<Option<(String, bool)>>;
    /// Stores a new, not yet verified SMS number.
    fn set_sms_phone(&self, user_id: UserId, number: &str) -> impl StoreFuture<()>;
    /// Marks the SMS number verified and records the enrolled types, in one statement.
    fn confirm_sms(&self, user_id: UserId, mfa_types: &str) -> impl StoreFuture<()>;
    /// Marks the TOTP secret verified and records the enrolled types, in one statement.
    fn confirm_otp(&self, user_id: UserId, mfa_types: &str) -> impl StoreFuture<()>;
}

impl MfaStore for Store {
    async fn insert_passkey(
        &self,
        user_id: UserId,
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

    async fn set_skip_passkey_enroll(&self, user_id: UserId, skip: bool) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str =
            "UPDATE users SET skip_passkey_enroll = $2, updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, skip, now_utc())).await?;
        Ok(())
    }

    async fn skips_passkey_enroll(&self, user_id: UserId) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT skip_passkey_enroll FROM users WHERE id = $1";
        let row: Option<(bool,)> = self.fetch_optional(SQL, (user_id,)).await?;
        Ok(row.is_some_and(|(skip,)| skip))
    }

    async fn otp_secret(&self, user_id: UserId) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT otp_secret FROM users WHERE id = $1 AND deleted_at IS NULL";
        let row: Option<(Option<String>,)> = self.fetch_optional(SQL, (user_id,)).await?;
        Ok(row.and_then(|(secret,)| secret))
    }

    async fn set_otp_secret(&self, user_id: UserId, sealed: &str) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET otp_secret = $2, otp_verified = (1 = 0), \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, sealed, now_utc())).await?;
        Ok(())
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
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
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code_hash: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE recovery_codes SET used_at = $3, updated_at = $3 \
            WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL AND deleted_at IS NULL";
        let n = self.execute(SQL, (user_id, code_hash, now_utc())).await?;
        Ok(n == 1)
    }

    async fn recovery_codes_left(&self, user_id: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 \
            AND used_at IS NULL AND deleted_at IS NULL";
        let (n,): (i64,) = self.fetch_one(SQL, (user_id,)).await?;
        Ok(n)
    }

    async fn sms_phone(&self, user_id: UserId) -> Result<Option<(String, bool)>, StoreError> {
        const SQL: &str = "SELECT sms_phone_number, sms_phone_number_verified FROM users \
            WHERE id = $1 AND deleted_at IS NULL";
        let row: Option<(Option<String>, bool)> = self.fetch_optional(SQL, (user_id,)).await?;
        Ok(row.and_then(|(number, verified)| number.map(|n| (n, verified))))
    }

    async fn set_sms_phone(&self, user_id: UserId, number: &str) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET sms_phone_number = $2, \
            sms_phone_number_verified = (1 = 0), updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, number, now_utc())).await?;
        Ok(())
    }

    async fn confirm_sms(&self, user_id: UserId, mfa_types: &str) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET sms_phone_number_verified = (1 = 1), mfa_types = $2, \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, mfa_types, now_utc())).await?;
        Ok(())
    }

    async fn confirm_otp(&self, user_id: UserId, mfa_types: &str) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET otp_verified = (1 = 1), mfa_types = $2, \
            updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, mfa_types, now_utc())).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{store, user};
    use crate::{AccountStore, UserStore};

    /// The user's `(mfa_types, otp_verified, sms_phone_number_verified)`.
    async fn factors(store: &Store, user_id: UserId) -> (String, bool, bool) {
        let user = store
            .user_by_id(user_id)
            .await
            .expect("read")
            .expect("user");
        (
            user.mfa_types.to_list(),
            user.otp_verified,
            user.sms_phone_number_verified,
        )
    }

    #[tokio::test]
    async fn a_totp_secret_counts_only_once_confirmed_and_a_new_one_starts_over() {
        let store = store().await;
        let id = user(&store, "a@example.com").await.id;
        assert_eq!(store.otp_secret(id).await.expect("none yet"), None);
        store.set_otp_secret(id, "sealed-1").await.expect("set");
        assert_eq!(
            store.otp_secret(id).await.expect("read").as_deref(),
            Some("sealed-1")
        );
        assert_eq!(factors(&store, id).await, (String::new(), false, false));

        store.confirm_otp(id, "otp").await.expect("confirm");
        assert_eq!(factors(&store, id).await, ("otp".into(), true, false));
        let account = store.password_account("a@example.com").await.expect("read");
        let account = account.expect("account");
        assert_eq!(
            (account.mfa_types.to_list().as_str(), account.otp_verified),
            ("otp", true)
        );

        store.set_otp_secret(id, "sealed-2").await.expect("reset");
        assert!(!factors(&store, id).await.1);
    }

    #[tokio::test]
    async fn removing_a_factor_clears_its_secret_and_keeps_the_other() {
        let store = store().await;
        let id = user(&store, "a@example.com").await.id;
        store.set_otp_secret(id, "sealed").await.expect("otp");
        store.confirm_otp(id, "otp").await.expect("confirm otp");
        store.set_sms_phone(id, "+15550100").await.expect("sms");
        assert_eq!(
            store.sms_phone(id).await.expect("read"),
            Some(("+15550100".into(), false))
        );
        store.confirm_sms(id, "otp,sms").await.expect("confirm sms");
        assert_eq!(factors(&store, id).await, ("otp,sms".into(), true, true));

        store
            .set_mfa_types(id, "sms", true, false)
            .await
            .expect("drop otp");
        assert_eq!(store.otp_secret(id).await.expect("read"), None);
        assert_eq!(factors(&store, id).await, ("sms".into(), false, true));
        assert_eq!(
            store.sms_phone(id).await.expect("read"),
            Some(("+15550100".into(), true))
        );
        store
            .set_mfa_types(id, "", false, true)
            .await
            .expect("drop sms");
        assert_eq!(store.sms_phone(id).await.expect("read"), None);
    }

    #[tokio::test]
    async fn recovery_codes_are_spent_once_and_replaced_as_a_set() {
        let store = store().await;
        let id = user(&store, "a@example.com").await.id;
        let other = user(&store, "b@example.com").await.id;
        let first = ["c1".to_string(), "c2".to_string()];
        store.replace_recovery_codes(id, &first).await.expect("set");
        assert_eq!(store.recovery_codes_left(id).await.expect("count"), 2);
        assert!(!store
            .use_recovery_code(other, "c1")
            .await
            .expect("not theirs"));
        assert!(store.use_recovery_code(id, "c1").await.expect("spend"));
        assert!(!store.use_recovery_code(id, "c1").await.expect("spent"));
        assert_eq!(store.recovery_codes_left(id).await.expect("count"), 1);

        store
            .replace_recovery_codes(id, &["c3".to_string()])
            .await
            .expect("replace");
        assert!(!store.use_recovery_code(id, "c2").await.expect("retired"));
        assert!(store.use_recovery_code(id, "c3").await.expect("new"));
        assert_eq!(store.recovery_codes_left(id).await.expect("count"), 0);
    }

    #[tokio::test]
    async fn declining_passkey_enrollment_is_remembered_until_asked_again() {
        let store = store().await;
        let id = user(&store, "a@example.com").await.id;
        assert!(!store.skips_passkey_enroll(id).await.expect("default"));
        store
            .set_skip_passkey_enroll(id, true)
            .await
            .expect("decline");
        assert!(store.skips_passkey_enroll(id).await.expect("declined"));
        store
            .set_skip_passkey_enroll(id, false)
            .await
            .expect("ask again");
        assert!(!store.skips_passkey_enroll(id).await.expect("asked"));
    }
}
