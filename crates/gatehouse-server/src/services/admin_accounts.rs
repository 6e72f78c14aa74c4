//! Accounts an admin makes: the first `super_admin` (the setup link, `gatehouse admin
//! create-user`) and users created in the admin panel. Each is a password account, checked
//! against the same email, name and password rules as sign-up.

use gatehouse_core::admin::{email_address, SUPER_ADMIN};
use gatehouse_core::password::check_new_password;
use gatehouse_core::signin::SignInError;
use gatehouse_store::{
    AccountStore, LifecycleStore, NewSignUp, RoleStore, Store, StoreError, UserChanges, UserRecord,
    UserStore,
};

use crate::config::Config;
use crate::crypto::PasswordHasher;
use crate::error::ServiceError;

/// What the forms and the CLI ask for.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A new account, checked but not yet written.
pub struct CheckedAccount {
    email: String,
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

fn name(value: Option<&str>, label: &str) -> Result<Option<String>, SignInError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > 50 => Err(SignInError::BadInput(format!(
            "{label} must be at most 50 characters"
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Checks the fields without touching the store (so a one-time link is spent only on good input).
pub fn check(input: NewAccount) -> Result<CheckedAccount, ServiceError> {
    let email = email_address(&input.email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    check_new_password(&input.password).map_err(|e| SignInError::BadInput(e.to_string()))?;
    Ok(CheckedAccount {
        email,
        password: input.password,
        first_name: name(input.first_name.as_deref(), "First name")?,
        last_name: name(input.last_name.as_deref(), "Last name")?,
    })
}

/// Creates the account (email verified: an admin vouches for it) holding `roles`.
pub async fn create(
    store: &Store,
    passwords: &PasswordHasher,
    config: &Config,
    account: CheckedAccount,
    roles: &[&str],
) -> Result<UserRecord, ServiceError> {
    if store.password_account(&account.email).await?.is_some() {
        return Err(SignInError::EmailInUse.into());
    }
    let password_hash = passwords.hash(account.password).await?;
    let locale = config
        .supported_locales
        .first()
        .cloned()
        .unwrap_or_else(|| "en".to_owned());
    let auth_id = uuid::Uuid::new_v4().to_string();
    let change = crate::services::audit::user_created(
        &auth_id,
        Some(&account.email),
        account.first_name.as_deref(),
        account.last_name.as_deref(),
        gatehouse_core::webhooks::USER_CREATED,
    );
    let new_user = NewSignUp {
        auth_id,
        email: account.email,
        password_hash: Some(password_hash),
        first_name: account.first_name,
        last_name: account.last_name,
        locale,
    };
    let user = gatehouse_store::changes::recording(change, store.insert_sign_up(&new_user))
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => SignInError::EmailInUse.into(),
            other => ServiceError::Store(other),
        })?;
    store.set_email_verified(user.id).await?;
    if !roles.is_empty() {
        let role_ids: Vec<i64> = store
            .list_roles()
            .await?
            .into_iter()
            .filter(|r| roles.contains(&r.name.as_str()))
            .map(|r| r.id)
            .collect();
        store
            .update_user(user.id, &UserChanges::default(), Some(&role_ids))
            .await?;
    }
    Ok(user)
}

/// Creates a `super_admin` (the setup page and the CLI).
pub async fn create_super_admin(
    store: &Store,
    passwords: &PasswordHasher,
    config: &Config,
    input: NewAccount,
) -> Result<UserRecord, ServiceError> {
    create(store, passwords, config, check(input)?, &[SUPER_ADMIN]).await
}

/// Whether an active user holds `super_admin` or a configured admin panel role.
pub async fn admin_exists(store: &Store, config: &Config) -> Result<bool, ServiceError> {
    for role in store.list_roles().await? {
        if role.name != SUPER_ADMIN && !config.admin_panel_roles.contains(&role.name) {
            continue;
        }
        if store
            .users_with_role(role.id)
            .await?
            .iter()
            .any(|u| u.is_active)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
