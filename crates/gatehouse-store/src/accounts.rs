//! The sign-in side of users: finding a password account, signing up, consents, login counts
//! and the sign-in log.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::MfaTypes;

use crate::users::user_columns_u;
use crate::{insert_and_read, now_utc, on_pool, sql, Store, StoreError, StoreFuture, UserRecord};

/// Who sees an attribute value: userinfo answers or ID tokens (each attribute says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeAudience {
    UserInfo,
    IdToken,
}

/// What a password check needs of an account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PasswordAccount {
    pub id: UserId,
    pub auth_id: String,
    pub password_hash: Option<String>,
    pub is_active: bool,
    /// The enrolled second factors, which decide the next step after the password: read
    /// here so a sign-in needs no second read of the user.
    #[sqlx(try_from = "String")]
    pub mfa_types: MfaTypes,
    pub otp_verified: bool,
}

#[derive(Debug, Clone)]
pub struct NewSignUp {
    pub auth_id: String,
    pub email: String,
    /// `None` for a passwordless account.
    pub password_hash: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: String,
}

pub trait AccountStore {
    /// The live password (non-social) account with this email.
    fn password_account(&self, email: &str) -> impl StoreFuture<Option<PasswordAccount>>;
    fn user_by_id(&self, user_id: UserId) -> impl StoreFuture<Option<UserRecord>>;
    /// Creates a signed-up user; a taken email is `StoreError::Conflict`.
    fn insert_sign_up(&self, user: &NewSignUp) -> impl StoreFuture<UserRecord>;
    fn set_password_hash(&self, user_id: UserId, password_hash: &str) -> impl StoreFuture<()>;
    /// Removes the user's password: they sign in by other means (a reset, a code, a provider).
    fn clear_password_hash(&self, user_id: UserId) -> impl StoreFuture<()>;
    fn set_names(
        &self,
        user_id: UserId,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> impl StoreFuture<()>;
    /// Counts a completed sign-in.
    fn increment_login_count(&self, user_id: UserId) -> impl StoreFuture<()>;
    /// The scopes the user granted the app (JSON array text parsed), if any consent exists.
    fn consented_scopes(&self, user_id: UserId, app_id: i64) -> impl StoreFuture<Vec<String>>;
    /// Records consent to `scopes`, merged with what was granted before.
    fn grant_consent(
        &self,
        user_id: UserId,
        app_id: i64,
        scopes: &[String],
    ) -> impl StoreFuture<()>;
    /// The user's attribute values flagged for `audience`, as (name, value).
    fn shared_attributes(
        &self,
        user_id: UserId,
        audience: AttributeAudience,
    ) -> impl StoreFuture<Vec<(String, String)>>;
    fn insert_sign_in_log(
        &self,
        user_id: UserId,
        ip: Option<&str>,
        detail: &str,
    ) -> impl StoreFuture<()>;
}

impl AccountStore for Store {
    async fn password_account(&self, email: &str) -> Result<Option<PasswordAccount>, StoreError> {
        const SQL: &str = "SELECT id, auth_id, password_hash, is_active, mfa_types, otp_verified \
            FROM users \
            WHERE email = $1 AND social_account_id IS NULL AND deleted_at IS NULL \
            ORDER BY id LIMIT 1";
        self.fetch_optional(SQL, (email,)).await
    }

    async fn user_by_id(&self, user_id: UserId) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
        );
        self.fetch_optional(SQL, (user_id,)).await
    }

    async fn insert_sign_up(&self, u: &NewSignUp) -> Result<UserRecord, StoreError> {
        // Emails of password accounts are unique; the check and insert share a transaction,
        // and the unique index on auth_id guards the rest.
        const TAKEN: &str = "SELECT COUNT(*) FROM users WHERE email = $1 \
            AND social_account_id IS NULL AND deleted_at IS NULL";
        const INSERT: &str = "INSERT INTO users (auth_id, email, password_hash, first_name, \
            last_name, locale, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
            RETURNING id";
        const READ: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u WHERE u.id = $1"
        );
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (taken,): (i64,) = sql::fetch_one(&mut *tx, TAKEN, (&u.email,)).await?;
            if taken > 0 {
                return Err(StoreError::Conflict("users.email".into()));
            }
            let user: UserRecord = insert_and_read!(
                tx,
                INSERT,
                (
                    &u.auth_id,
                    &u.email,
                    &u.password_hash,
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

    async fn set_password_hash(
        &self,
        user_id: UserId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
        self.execute(SQL, (user_id, password_hash, now_utc()))
            .await?;
        Ok(())
    }

    async fn clear_password_hash(&self, user_id: UserId) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET password_hash = NULL, updated_at = $2 WHERE id = $1";
        self.execute(SQL, (user_id, now_utc())).await?;
        Ok(())
    }

    async fn set_names(
        &self,
        user_id: UserId,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str =
            "UPDATE users SET first_name = $2, last_name = $3, updated_at = $4 WHERE id = $1";
        self.execute(SQL, (user_id, first_name, last_name, now_utc()))
            .await?;
        Ok(())
    }

    async fn increment_login_count(&self, user_id: UserId) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET login_count = login_count + 1 WHERE id = $1";
        self.execute(SQL, (user_id,)).await?;
        Ok(())
    }

    async fn consented_scopes(
        &self,
        user_id: UserId,
        app_id: i64,
    ) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT scopes FROM user_app_consents \
            WHERE user_id = $1 AND app_id = $2 AND deleted_at IS NULL";
        let row: Option<(String,)> = self.fetch_optional(SQL, (user_id, app_id)).await?;
        Ok(row
            .and_then(|(json,)| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    async fn grant_consent(
        &self,
        user_id: UserId,
        app_id: i64,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        const CURRENT: &str = "SELECT id, scopes FROM user_app_consents \
            WHERE user_id = $1 AND app_id = $2 AND deleted_at IS NULL";
        const UPDATE: &str =
            "UPDATE user_app_consents SET scopes = $2, updated_at = $3 WHERE id = $1";
        const INSERT: &str = "INSERT INTO user_app_consents (user_id, app_id, scopes, \
            created_at, updated_at) VALUES ($1, $2, $3, $4, $4)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let current: Option<(i64, String)> =
                sql::fetch_optional(&mut *tx, CURRENT, (user_id, app_id)).await?;
            match current {
                Some((id, json)) => {
                    let mut merged: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
                    for scope in scopes {
                        if !merged.contains(scope) {
                            merged.push(scope.clone());
                        }
                    }
                    sql::execute(
                        &mut *tx,
                        UPDATE,
                        (id, serde_json::Value::from(merged).to_string(), now),
                    )
                    .await?;
                }
                None => {
                    sql::execute(
                        &mut *tx,
                        INSERT,
                        (
                            user_id,
                            app_id,
                            serde_json::Value::from(scopes.to_vec()).to_string(),
                            now,
                        ),
                    )
                    .await?;
                }
            }
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn shared_attributes(
        &self,
        user_id: UserId,
        audience: AttributeAudience,
    ) -> Result<Vec<(String, String)>, StoreError> {
        const USER_INFO: &str = "SELECT a.name, v.value FROM user_attribute_values v \
            JOIN user_attributes a ON a.id = v.user_attribute_id WHERE v.user_id = $1 \
            AND a.include_in_user_info = (1 = 1) AND v.deleted_at IS NULL \
            AND a.deleted_at IS NULL ORDER BY a.id";
        const ID_TOKEN: &str = "SELECT a.name, v.value FROM user_attribute_values v \
            JOIN user_attributes a ON a.id = v.user_attribute_id WHERE v.user_id = $1 \
            AND a.include_in_id_token_body = (1 = 1) AND v.deleted_at IS NULL \
            AND a.deleted_at IS NULL ORDER BY a.id";
        let sql = match audience {
            AttributeAudience::UserInfo => USER_INFO,
            AttributeAudience::IdToken => ID_TOKEN,
        };
        self.fetch_all(sql, (user_id,)).await
    }

    async fn insert_sign_in_log(
        &self,
        user_id: UserId,
        ip: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO sign_in_logs (user_id, ip, detail, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $4)";
        self.execute(SQL, (user_id, ip, detail, now_utc())).await?;
        Ok(())
    }
}
