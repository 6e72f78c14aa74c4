//! Users as the API shows them.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::MfaTypes;

use crate::listing::Page;
use crate::user_search::{UserPage, UserSearchStore};
use crate::{now_utc, on_pool, soft_delete, sql, Store, StoreError, StoreFuture};

/// A user row with every column the API's User shape needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: UserId,
    pub auth_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_verified: bool,
    pub is_active: bool,
    pub login_count: i64,
    pub locale: String,
    #[sqlx(try_from = "String")]
    pub mfa_types: MfaTypes,
    pub otp_verified: bool,
    pub social_account_id: Option<String>,
    pub social_account_type: Option<String>,
    pub sms_phone_number: Option<String>,
    pub sms_phone_number_verified: bool,
    /// The contact phone number (E.164), set by an admin.
    pub phone_number: Option<String>,
    /// The postal address: a JSON object of OIDC Core §5.1.1 members.
    pub address: Option<String>,
    /// The SCIM `userName` a provisioning client gave (SCIM shows the email when `None`).
    pub scim_user_name: Option<String>,
    /// The SCIM `externalId` a provisioning client gave.
    pub scim_external_id: Option<String>,
    /// The `type` and `primary` a provisioning client gave the email (SCIM shows `work` and
    /// `true` when `None`).
    pub scim_email_type: Option<String>,
    pub scim_email_primary: Option<bool>,
    pub linked_auth_id: Option<String>,
    pub org_slug: String,
    pub invitation_token: Option<String>,
    pub invitation_expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRecord {
    /// The postal address, when one is set and readable.
    pub fn postal_address(&self) -> Option<gatehouse_core::claims::Address> {
        self.address
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
    }
}

/// The user columns, qualified with the alias `u`.
macro_rules! user_columns_u {
    () => {
        "u.id, u.auth_id, u.email, u.first_name, u.last_name, u.email_verified, u.is_active, \
         u.login_count, u.locale, u.mfa_types, u.otp_verified, u.social_account_id, \
         u.social_account_type, u.sms_phone_number, u.sms_phone_number_verified, u.phone_number, \
         u.address, u.scim_user_name, u.scim_external_id, u.scim_email_type, \
         u.scim_email_primary, u.linked_auth_id, u.org_slug, \
         u.invitation_token, u.invitation_expires_at, u.created_at, u.updated_at"
    };
}
pub(crate) use user_columns_u;

/// Changes to a user: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub org_slug: Option<String>,
    pub is_active: Option<bool>,
    /// An empty string clears it.
    pub phone_number: Option<String>,
    /// JSON; an empty string clears it.
    pub address: Option<String>,
}

/// A passkey as listed to admins (never its public key).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PasskeyRecord {
    pub id: i64,
    pub credential_id: String,
    pub counter: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A user invited by an admin: inactive until the invitation is accepted.
#[derive(Debug, Clone)]
pub struct NewInvitedUser {
    pub auth_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: String,
    /// The active organization, with its id for the membership row.
    pub org: Option<(i64, String)>,
    pub role_ids: Vec<i64>,
    /// SHA-256 (hex) of the invitation token; the token itself is only ever sent.
    pub invitation_token_hash: String,
    pub invitation_expires_at: NaiveDateTime,
}

pub trait UserStore {
    /// Whether a live password (non-social) account uses this email.
    fn email_in_use(&self, email: &str) -> impl StoreFuture<bool>;
    /// Creates the invited user with roles and membership in one transaction.
    fn insert_invited_user(&self, user: &NewInvitedUser) -> impl StoreFuture<()>;
    /// Sets a new invitation (token hash and expiry), or clears it with `None`.
    fn set_invitation(
        &self,
        user_id: UserId,
        invitation: Option<(&str, NaiveDateTime)>,
    ) -> impl StoreFuture<()>;
    /// Users matching `search` (first name, last name or email; case-insensitive substring),
    /// oldest first, and how many match in all (an estimate above
    /// [`crate::user_search::COUNT_EXACT_UP_TO`]; see [`UserSearchStore::search_users`]).
    fn list_users(
        &self,
        search: Option<&str>,
        page: Option<Page>,
    ) -> impl StoreFuture<(Vec<UserRecord>, i64)>;
    fn user_by_auth_id(&self, auth_id: &str) -> impl StoreFuture<Option<UserRecord>>;
    fn user_role_names(&self, user_id: UserId) -> impl StoreFuture<Vec<String>>;
    /// `(attribute name, value)` of every live attribute the user has a value for.
    fn user_attribute_values(&self, user_id: UserId) -> impl StoreFuture<Vec<(String, String)>>;
    /// Updates the user and, when `role_ids` is given, replaces their roles — in one transaction.
    fn update_user(
        &self,
        user_id: UserId,
        changes: &UserChanges,
        role_ids: Option<&[i64]>,
    ) -> impl StoreFuture<()>;
    /// Soft-deletes the user with their roles, consents and memberships.
    fn delete_user(&self, user_id: UserId) -> impl StoreFuture<()>;
    /// `(app id, app name)` of every live app the user consented to.
    fn consented_apps(&self, user_id: UserId) -> impl StoreFuture<Vec<(i64, String)>>;
    /// Removes a consent; whether there was one.
    fn delete_consent(&self, user_id: UserId, app_id: i64) -> impl StoreFuture<bool>;
    /// Links two accounts to each other (or unlinks both when `linked` is `None`).
    fn set_linked_accounts(
        &self,
        a: UserId,
        b: UserId,
        linked: Option<(&str, &str)>,
    ) -> impl StoreFuture<()>;
    /// Sets the enrolled MFA types (comma-separated) and, for a removed factor, its secrets.
    fn set_mfa_types(
        &self,
        user_id: UserId,
        mfa_types: &str,
        clear_otp: bool,
        clear_sms: bool,
    ) -> impl StoreFuture<()>;
    fn user_passkeys(&self, user_id: UserId) -> impl StoreFuture<Vec<PasskeyRecord>>;
    /// Removes one of the user's passkeys; whether it was theirs.
    fn delete_passkey(&self, user_id: UserId, passkey_id: i64) -> impl StoreFuture<bool>;
}

impl UserStore for Store {
    async fn email_in_use(&self, email: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM users WHERE email = $1 \
            AND social_account_id IS NULL AND deleted_at IS NULL";
        let (n,): (i64,) = self.fetch_one(SQL, (email,)).await?;
        Ok(n > 0)
    }

    async fn insert_invited_user(&self, u: &NewInvitedUser) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO users (auth_id, email, first_name, last_name, locale, \
            org_slug, is_active, invitation_token, invitation_expires_at, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, (1 = 0), $7, $8, $9, $9) RETURNING id";
        const ADD_ROLE: &str = "INSERT INTO user_roles (user_id, role_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $3)";
        const ADD_ORG: &str = "INSERT INTO user_orgs (user_id, org_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $3)";
        let now = now_utc();
        let slug = u
            .org
            .as_ref()
            .map(|(_, slug)| slug.as_str())
            .unwrap_or_default();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (id,): (i64,) = sql::fetch_one(
                &mut *tx,
                INSERT,
                (
                    &u.auth_id,
                    &u.email,
                    &u.first_name,
                    &u.last_name,
                    &u.locale,
                    slug,
                    &u.invitation_token_hash,
                    u.invitation_expires_at,
                    now,
                ),
            )
            .await?;
            for role_id in &u.role_ids {
                sql::execute(&mut *tx, ADD_ROLE, (id, role_id, now)).await?;
            }
            if let Some((org_id, _)) = &u.org {
                sql::execute(&mut *tx, ADD_ORG, (id, org_id, now)).await?;
            }
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn set_invitation(
        &self,
        user_id: UserId,
        invitation: Option<(&str, NaiveDateTime)>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET invitation_token = $2, invitation_expires_at = $3, \
            updated_at = $4 WHERE id = $1";
        let (hash, expires) = match invitation {
            Some((hash, expires)) => (Some(hash), Some(expires)),
            None => (None, None),
        };
        self.execute(SQL, (user_id, hash, expires, now_utc()))
            .await?;
        Ok(())
    }

    async fn list_users(
        &self,
        search: Option<&str>,
        page: Option<Page>,
    ) -> Result<(Vec<UserRecord>, i64), StoreError> {
        let page = page.map_or(UserPage::All, UserPage::Number);
        let found = self.search_users(search, page).await?;
        Ok((found.users, found.count))
    }

    async fn user_by_auth_id(&self, auth_id: &str) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u WHERE u.auth_id = $1 AND u.deleted_at IS NULL"
        );
        self.fetch_optional(SQL, (auth_id,)).await
    }

    async fn user_role_names(&self, user_id: UserId) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
            WHERE ur.user_id = $1 AND ur.deleted_at IS NULL AND r.deleted_at IS NULL ORDER BY r.id";
        let rows: Vec<(String,)> = self.fetch_all(SQL, (user_id,)).await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn user_attribute_values(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        const SQL: &str = "SELECT a.name, v.value FROM user_attribute_values v \
            JOIN user_attributes a ON a.id = v.user_attribute_id WHERE v.user_id = $1 \
            AND v.deleted_at IS NULL AND a.deleted_at IS NULL ORDER BY a.id";
        self.fetch_all(SQL, (user_id,)).await
    }

    async fn update_user(
        &self,
        user_id: UserId,
        c: &UserChanges,
        role_ids: Option<&[i64]>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const UPDATE: &str = "UPDATE users SET first_name = COALESCE($2, first_name), \
            last_name = COALESCE($3, last_name), locale = COALESCE($4, locale), \
            org_slug = COALESCE($5, org_slug), is_active = COALESCE($6, is_active), \
            phone_number = CASE WHEN $8 IS NULL THEN phone_number ELSE NULLIF($8, '') END, \
            address = CASE WHEN $9 IS NULL THEN address ELSE NULLIF($9, '') END, updated_at = $7 \
            WHERE id = $1 AND deleted_at IS NULL";
        const DROP_ROLES: &str = "UPDATE user_roles SET deleted_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND deleted_at IS NULL";
        const ADD_ROLE: &str = "INSERT INTO user_roles (user_id, role_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $3)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(
                &mut *tx,
                UPDATE,
                (
                    user_id,
                    &c.first_name,
                    &c.last_name,
                    &c.locale,
                    &c.org_slug,
                    c.is_active,
                    now,
                    &c.phone_number,
                    &c.address,
                ),
            )
            .await?;
            if let Some(role_ids) = role_ids {
                sql::execute(&mut *tx, DROP_ROLES, (user_id, now)).await?;
                for role_id in role_ids {
                    sql::execute(&mut *tx, ADD_ROLE, (user_id, role_id, now)).await?;
                }
            }
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn delete_user(&self, user_id: UserId) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        self.soft_delete_cascade(
            soft_delete!("users", "id"),
            &[
                soft_delete!("user_roles", "user_id"),
                soft_delete!("user_app_consents", "user_id"),
                soft_delete!("user_orgs", "user_id"),
                soft_delete!("user_org_groups", "user_id"),
                soft_delete!("user_passkeys", "user_id"),
                // A deleted account's linked identities sign into nothing, and may be linked anew.
                "UPDATE user_identities SET deleted_at = $2 WHERE user_id = $1 AND deleted_at IS NULL",
            ],
            user_id.get(),
        )
        .await
        .map(|_| ())
    }

    async fn consented_apps(&self, user_id: UserId) -> Result<Vec<(i64, String)>, StoreError> {
        const SQL: &str =
            "SELECT a.id, a.name FROM user_app_consents c JOIN apps a ON a.id = c.app_id \
            WHERE c.user_id = $1 AND c.deleted_at IS NULL AND a.deleted_at IS NULL ORDER BY a.id";
        self.fetch_all(SQL, (user_id,)).await
    }

    async fn delete_consent(&self, user_id: UserId, app_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE user_app_consents SET deleted_at = $3, updated_at = $3 \
            WHERE user_id = $1 AND app_id = $2 AND deleted_at IS NULL";
        let done = self.execute(SQL, (user_id, app_id, now_utc())).await?;
        Ok(done > 0)
    }

    async fn set_linked_accounts(
        &self,
        a: UserId,
        b: UserId,
        linked: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET linked_auth_id = $2, updated_at = $3 WHERE id = $1";
        let (a_to, b_to) = match linked {
            Some((a_links_to, b_links_to)) => (Some(a_links_to), Some(b_links_to)),
            None => (None, None),
        };
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, SQL, (a, a_to, now)).await?;
            sql::execute(&mut *tx, SQL, (b, b_to, now)).await?;
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn set_mfa_types(
        &self,
        user_id: UserId,
        mfa_types: &str,
        clear_otp: bool,
        clear_sms: bool,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET mfa_types = $2, \
            otp_secret = CASE WHEN $3 THEN NULL ELSE otp_secret END, \
            otp_verified = CASE WHEN $3 THEN (1 = 0) ELSE otp_verified END, \
            sms_phone_number = CASE WHEN $4 THEN NULL ELSE sms_phone_number END, \
            sms_phone_number_verified = CASE WHEN $4 THEN (1 = 0) ELSE sms_phone_number_verified END, \
            updated_at = $5 WHERE id = $1";
        self.execute(SQL, (user_id, mfa_types, clear_otp, clear_sms, now_utc()))
            .await?;
        Ok(())
    }

    async fn user_passkeys(&self, user_id: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        const SQL: &str =
            "SELECT id, credential_id, counter, created_at, updated_at FROM user_passkeys \
            WHERE user_id = $1 AND deleted_at IS NULL ORDER BY id";
        self.fetch_all(SQL, (user_id,)).await
    }

    async fn delete_passkey(&self, user_id: UserId, passkey_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE user_passkeys SET deleted_at = $3, updated_at = $3 \
            WHERE id = $2 AND user_id = $1 AND deleted_at IS NULL";
        let done = self.execute(SQL, (user_id, passkey_id, now_utc())).await?;
        Ok(done == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{store, user};
    use crate::{AccountStore, NewSignUp, RoleStore};

    fn sign_up(email: &str, auth_id: &str) -> NewSignUp {
        NewSignUp {
            auth_id: auth_id.into(),
            email: email.into(),
            password_hash: None,
            first_name: Some("Ada".into()),
            last_name: None,
            locale: "fr".into(),
        }
    }

    #[tokio::test]
    async fn a_second_password_account_with_a_taken_email_is_a_conflict() {
        let store = store().await;
        let first = store
            .insert_sign_up(&sign_up("a@example.com", "one"))
            .await
            .expect("first");
        assert_eq!(
            (first.email.as_deref(), first.locale.as_str()),
            (Some("a@example.com"), "fr")
        );
        assert!(first.is_active && !first.email_verified);
        assert!(store.email_in_use("a@example.com").await.expect("in use"));
        let second = store.insert_sign_up(&sign_up("a@example.com", "two")).await;
        assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
        assert!(!store.email_in_use("b@example.com").await.expect("free"));
    }

    #[tokio::test]
    async fn a_deleted_user_cannot_sign_in_and_frees_their_email() {
        let store = store().await;
        let gone = user(&store, "a@example.com").await;
        store.delete_user(gone.id).await.expect("delete");
        assert_eq!(
            store.password_account("a@example.com").await.expect("read"),
            None
        );
        assert_eq!(store.user_by_id(gone.id).await.expect("read"), None);
        assert_eq!(
            store.user_by_auth_id(&gone.auth_id).await.expect("read"),
            None
        );
        let again = store
            .insert_sign_up(&sign_up("a@example.com", "new"))
            .await
            .expect("again");
        let account = store.password_account("a@example.com").await.expect("read");
        assert_eq!(account.map(|a| a.id), Some(again.id));
    }

    #[tokio::test]
    async fn updating_a_user_replaces_roles_only_when_they_are_given() {
        let store = store().await;
        let user = user(&store, "a@example.com").await;
        let admin = store.insert_role("admin", "").await.expect("role").id;
        let auditor = store.insert_role("auditor", "").await.expect("role").id;
        let no_change = UserChanges::default();
        store
            .update_user(user.id, &no_change, Some(&[admin, auditor]))
            .await
            .expect("set");
        assert_eq!(
            store.user_role_names(user.id).await.expect("roles"),
            ["admin", "auditor"]
        );

        let deactivate = UserChanges {
            is_active: Some(false),
            ..UserChanges::default()
        };
        store
            .update_user(user.id, &deactivate, None)
            .await
            .expect("keep roles");
        assert_eq!(
            store.user_role_names(user.id).await.expect("roles").len(),
            2
        );
        let account = store.password_account("a@example.com").await.expect("read");
        assert_eq!(account.map(|a| a.is_active), Some(false));

        store
            .update_user(user.id, &no_change, Some(&[auditor]))
            .await
            .expect("replace");
        assert_eq!(
            store.user_role_names(user.id).await.expect("roles"),
            ["auditor"]
        );
    }

    #[tokio::test]
    async fn a_passkey_is_removed_only_by_its_owner() {
        use crate::MfaStore;
        let store = store().await;
        let owner = user(&store, "owner@example.com").await.id;
        let stranger = user(&store, "stranger@example.com").await.id;
        store
            .insert_passkey(owner, "cred-1", "key", 0)
            .await
            .expect("insert");
        let stored = store.passkey_by_credential("cred-1").await.expect("read");
        let stored = stored.expect("the passkey is stored");
        assert_eq!((stored.user_id, stored.public_key.as_str()), (owner, "key"));
        store.passkey_used(stored.id, 7).await.expect("use");
        assert_eq!(
            store.user_passkeys(owner).await.expect("list")[0].counter,
            7
        );

        assert!(!store
            .delete_passkey(stranger, stored.id)
            .await
            .expect("theirs"));
        assert!(store.delete_passkey(owner, stored.id).await.expect("own"));
        assert_eq!(
            store.passkey_by_credential("cred-1").await.expect("read"),
            None
        );
    }
}
