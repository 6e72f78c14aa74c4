//! Managing users through the S2S API.

use std::collections::BTreeMap;

use gatehouse_core::admin::{bounded_text, AdminRuleError, ManagementChange, UserAction};
use gatehouse_store::{
    LinkedIdentity, OrgRecord, OrgStore, Page, PasskeyRecord, RoleStore, SocialAccountStore, Store,
    UserAttributeStore, UserChanges, UserRecord, UserStore,
};

use super::authority::Authority;
use crate::error::ServiceError;
use crate::state::AppState;

const NO_USER: &str = "No user found";
const MFA_TYPES: [&str; 3] = ["otp", "email", "sms"];

/// A user with what the detail view adds.
pub struct UserDetail {
    pub user: UserRecord,
    pub roles: Vec<String>,
    /// Values by attribute name (with `enable_user_attribute`).
    pub attributes: Option<BTreeMap<String, String>>,
    /// The active organization and the user's groups (with `enable_org`).
    pub org: Option<Option<OrgRecord>>,
    pub org_groups: Option<Vec<(i64, String)>>,
    /// Provider identities linked at sign-in (with `link_social_accounts_at_sign_in`).
    pub linked_identities: Option<Vec<LinkedIdentity>>,
}

/// What a PUT may change.
#[derive(Default)]
pub struct UserUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub org_slug: Option<String>,
    pub is_active: Option<bool>,
    pub roles: Option<Vec<String>>,
    /// Attribute id → new value (`None` removes it).
    pub attributes: Option<BTreeMap<i64, Option<String>>>,
}

pub async fn user(store: &Store, auth_id: &str) -> Result<UserRecord, ServiceError> {
    store
        .user_by_auth_id(auth_id)
        .await?
        .ok_or(ServiceError::NotFound(NO_USER))
}

/// Refuses `action` on `user` when the caller may not act on them: only a `root` caller acts on
/// a holder of a protected role.
async fn may_act_on(
    state: &AppState,
    authority: &Authority,
    user: &UserRecord,
    action: UserAction,
) -> Result<(), ServiceError> {
    if authority.is_root() {
        return Ok(());
    }
    let held = state.store.user_role_names(user.id).await?;
    let change = ManagementChange::ActOnUser {
        held: &held,
        action,
    };
    authority.allows(&state.config, change)
}

/// The user `action` is about to change, once the caller may change them.
async fn target(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    action: UserAction,
) -> Result<UserRecord, ServiceError> {
    let found = user(&state.store, auth_id).await?;
    may_act_on(state, authority, &found, action).await?;
    Ok(found)
}

pub async fn list(
    store: &Store,
    search: Option<&str>,
    page: Option<Page>,
) -> Result<(Vec<UserRecord>, i64), ServiceError> {
    Ok(store.list_users(search, page).await?)
}

pub async fn detail(state: &AppState, auth_id: &str) -> Result<UserDetail, ServiceError> {
    let store = &state.store;
    let user = user(store, auth_id).await?;
    let roles = store.user_role_names(user.id).await?;
    let attributes = if state.config.enable_user_attribute {
        Some(
            store
                .user_attribute_values(user.id)
                .await?
                .into_iter()
                .collect(),
        )
    } else {
        None
    };
    let (org, org_groups) = if state.config.enable_org {
        let org = match user.org_slug.trim() {
            "" => None,
            slug => store.org_by_slug(slug).await?,
        };
        (Some(org), Some(store.user_org_groups(user.id).await?))
    } else {
        (None, None)
    };
    let linked_identities = if state.config.link_social_accounts_at_sign_in {
        Some(store.linked_identities(user.id).await?)
    } else {
        None
    };
    Ok(UserDetail {
        user,
        roles,
        attributes,
        org,
        org_groups,
        linked_identities,
    })
}

pub async fn update(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    update: UserUpdate,
) -> Result<UserDetail, ServiceError> {
    let store = &state.store;
    let current = user(store, auth_id).await?;
    let names = |field, v: Option<String>| -> Result<Option<String>, ServiceError> {
        match v {
            Some(v) if v.trim().chars().count() > 50 => {
                Err(AdminRuleError::TooLong { field, max: 50 }.into())
            }
            other => Ok(other.map(|v| v.trim().to_owned())),
        }
    };
    let first_name = names("firstName", update.first_name)?;
    let last_name = names("lastName", update.last_name)?;
    let locale = match update.locale {
        Some(locale) if !state.config.supported_locales.contains(&locale) => {
            return Err(AdminRuleError::UnsupportedLocale.into())
        }
        other => other,
    };
    if update.is_active == Some(true) && current.invitation_token.is_some() {
        return Err(AdminRuleError::InvitationMustBeAccepted.into());
    }
    if update
        .is_active
        .is_some_and(|active| active != current.is_active)
    {
        may_act_on(state, authority, &current, UserAction::SetActive).await?;
    }
    if let Some(slug) = &update.org_slug {
        let slug = bounded_text("orgSlug", slug, 50)?;
        let org = store
            .org_by_slug(&slug)
            .await?
            .ok_or(ServiceError::NotFound("No organization found"))?;
        if !store.is_org_member(current.id, org.id).await? {
            return Err(AdminRuleError::UserNotInOrg.into());
        }
    }
    let role_ids = match &update.roles {
        Some(names) => {
            let held = store.user_role_names(current.id).await?;
            let change = ManagementChange::SetUserRoles {
                held: &held,
                wanted: names,
            };
            authority.allows(&state.config, change)?;
            let all = store.list_roles().await?;
            // Unknown names are ignored, as Melody does.
            Some(
                all.iter()
                    .filter(|r| names.contains(&r.name))
                    .map(|r| r.id)
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let mut attribute_writes = Vec::new();
    if let Some(values) = update.attributes {
        if !state.config.enable_user_attribute {
            return Err(AdminRuleError::FeatureOff("User attribute is not enabled").into());
        }
        for (attribute_id, value) in values {
            let attribute = store
                .user_attribute_by_id(attribute_id)
                .await?
                .ok_or(ServiceError::NotFound("No user attribute found"))?;
            if let Some(value) = &value {
                if !super::user_attributes::value_matches_rule(&attribute, value) {
                    return Err(AdminRuleError::AttributeValidationFailed(attribute.name).into());
                }
                if attribute.is_unique
                    && store
                        .attribute_value_taken(attribute_id, value, current.id)
                        .await?
                {
                    return Err(AdminRuleError::UniqueAttributeAlreadyExists {
                        value: value.clone(),
                        attribute: attribute.name,
                    }
                    .into());
                }
            }
            attribute_writes.push((attribute_id, value));
        }
    }
    let org_changed = update
        .org_slug
        .as_deref()
        .is_some_and(|slug| slug.trim() != current.org_slug.trim());
    let changes = UserChanges {
        first_name,
        last_name,
        locale,
        org_slug: update.org_slug,
        is_active: update.is_active,
    };
    store
        .update_user(current.id, &changes, role_ids.as_deref())
        .await?;
    if org_changed {
        // Groups belong to the previous organization.
        for (group_id, _) in store.user_org_groups(current.id).await? {
            store
                .set_org_group_member(current.id, group_id, false)
                .await?;
        }
    }
    for (attribute_id, value) in attribute_writes {
        store
            .set_user_attribute_value(current.id, attribute_id, value.as_deref())
            .await?;
    }
    detail(state, auth_id).await
}

pub async fn delete(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
) -> Result<(), ServiceError> {
    let current = target(state, authority, auth_id, UserAction::Delete).await?;
    state.store.delete_user(current.id).await?;
    Ok(())
}

pub async fn consented_apps(
    store: &Store,
    auth_id: &str,
) -> Result<Vec<(i64, String)>, ServiceError> {
    let current = user(store, auth_id).await?;
    Ok(store.consented_apps(current.id).await?)
}

pub async fn revoke_consent(store: &Store, auth_id: &str, app_id: i64) -> Result<(), ServiceError> {
    let current = user(store, auth_id).await?;
    if !store.delete_consent(current.id, app_id).await? {
        return Err(ServiceError::NotFound("No consent found for this app"));
    }
    Ok(())
}

pub async fn link(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    target_auth_id: &str,
) -> Result<(), ServiceError> {
    let store = &state.store;
    let a = target(state, authority, auth_id, UserAction::LinkAccounts).await?;
    let b = target(state, authority, target_auth_id, UserAction::LinkAccounts).await?;
    if a.linked_auth_id.is_some() {
        return Err(AdminRuleError::UserAlreadyLinked.into());
    }
    if b.linked_auth_id.is_some() {
        return Err(AdminRuleError::TargetUserAlreadyLinked.into());
    }
    if a.id == b.id {
        return Err(AdminRuleError::TargetUserAlreadyLinked.into());
    }
    store
        .set_linked_accounts(a.id, b.id, Some((&b.auth_id, &a.auth_id)))
        .await?;
    Ok(())
}

pub async fn unlink(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
) -> Result<(), ServiceError> {
    let store = &state.store;
    let a = target(state, authority, auth_id, UserAction::LinkAccounts).await?;
    let Some(other) = a.linked_auth_id.as_deref() else {
        return Ok(());
    };
    match store.user_by_auth_id(other).await? {
        Some(b) => {
            may_act_on(state, authority, &b, UserAction::LinkAccounts).await?;
            store.set_linked_accounts(a.id, b.id, None).await?
        }
        None => store.set_linked_accounts(a.id, a.id, None).await?,
    }
    Ok(())
}

/// Enrolls (`enroll = true`) or resets an MFA type. Enrolling TOTP starts over (a new secret is
/// set up at the next sign-in); resetting removes the factor's secrets.
pub async fn set_mfa(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    mfa_type: &str,
    enroll: bool,
) -> Result<(), ServiceError> {
    debug_assert!(MFA_TYPES.contains(&mfa_type));
    let store = &state.store;
    let current = target(state, authority, auth_id, UserAction::ChangeMfa).await?;
    let mut types: Vec<&str> = current
        .mfa_types
        .split(',')
        .filter(|t| !t.is_empty() && *t != mfa_type)
        .collect();
    if enroll {
        types.push(mfa_type);
    }
    let clear_otp = mfa_type == "otp";
    let clear_sms = mfa_type == "sms" && !enroll;
    store
        .set_mfa_types(current.id, &types.join(","), clear_otp, clear_sms)
        .await?;
    Ok(())
}

pub async fn passkeys(store: &Store, auth_id: &str) -> Result<Vec<PasskeyRecord>, ServiceError> {
    let current = user(store, auth_id).await?;
    Ok(store.user_passkeys(current.id).await?)
}

pub async fn delete_passkey(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    passkey_id: i64,
) -> Result<(), ServiceError> {
    let current = target(state, authority, auth_id, UserAction::RemovePasskey).await?;
    if !state.store.delete_passkey(current.id, passkey_id).await? {
        return Err(ServiceError::NotFound("No passkey found"));
    }
    Ok(())
}

/// The provider identities linked to the user at sign-in (not the one a social user was made
/// from).
pub async fn linked_identities(
    store: &Store,
    auth_id: &str,
) -> Result<Vec<LinkedIdentity>, ServiceError> {
    let current = user(store, auth_id).await?;
    Ok(store.linked_identities(current.id).await?)
}

/// Unlinks one of them: that provider identity no longer signs into the user.
pub async fn unlink_identity(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    identity_id: i64,
) -> Result<(), ServiceError> {
    let current = target(state, authority, auth_id, UserAction::UnlinkIdentity).await?;
    if !state.store.unlink_identity(current.id, identity_id).await? {
        return Err(ServiceError::NotFound("No linked identity found"));
    }
    Ok(())
}

pub async fn orgs(store: &Store, auth_id: &str) -> Result<Vec<OrgRecord>, ServiceError> {
    let current = user(store, auth_id).await?;
    Ok(store.user_orgs(current.id).await?)
}

/// Replaces the user's organization memberships.
pub async fn set_orgs(store: &Store, auth_id: &str, org_ids: &[i64]) -> Result<(), ServiceError> {
    let current = user(store, auth_id).await?;
    let mut ids = org_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        if store.org_by_id(*id).await?.is_none() {
            return Err(ServiceError::NotFound("No organization found"));
        }
    }
    store.set_user_orgs(current.id, &ids).await?;
    Ok(())
}

/// Adds the user to (or removes them from) a group of their active organization.
pub async fn set_org_group(
    store: &Store,
    auth_id: &str,
    group_id: i64,
    member: bool,
) -> Result<(), ServiceError> {
    let current = user(store, auth_id).await?;
    let org = match current.org_slug.trim() {
        "" => None,
        slug => store.org_by_slug(slug).await?,
    }
    .ok_or(ServiceError::NotFound("No organization found"))?;
    let group = store
        .org_group_by_id(group_id)
        .await?
        .filter(|g| g.org_id == org.id)
        .ok_or(ServiceError::NotFound("Organization group not found"))?;
    store
        .set_org_group_member(current.id, group.id, member)
        .await?;
    Ok(())
}

pub use crate::services::invitations::{invite, renew_invitation, revoke_invitation, Invitation};

/// Sends the user a new email verification code (the admin's "re-send verification").
pub async fn send_verification_email(state: &AppState, auth_id: &str) -> Result<(), ServiceError> {
    let current = user(&state.store, auth_id).await?;
    let email = match (&current.email, &current.social_account_id) {
        (Some(email), None) => email.clone(),
        _ => return Err(AdminRuleError::SocialAccount.into()),
    };
    if current.email_verified {
        return Err(AdminRuleError::EmailAlreadyVerified.into());
    }
    if !crate::services::lifecycle::verification_on(state) {
        return Err(AdminRuleError::FeatureOff(
            "Email verification is not enabled (it needs enable_email_verification and an email provider)",
        )
        .into());
    }
    let to = crate::services::lifecycle::Recipient {
        user_id: current.id,
        auth_id: &current.auth_id,
        email: &email,
        locale: &current.locale,
        org_slug: &current.org_slug,
    };
    crate::services::lifecycle::send_verification_code(state, &to).await
}

/// The IPs (`""` for the IP-less counter) from which the user's email is locked out.
pub async fn locked_ips(state: &AppState, auth_id: &str) -> Result<Vec<String>, ServiceError> {
    use gatehouse_core::lockout::{failed_login_ip, failed_login_prefix};
    let current = user(&state.store, auth_id).await?;
    let Some(email) = current.email.as_deref() else {
        return Ok(Vec::new());
    };
    let threshold = i64::from(state.config.account_lockout_threshold);
    let mut locked = Vec::new();
    for key in state
        .cache
        .keys_with_prefix(&failed_login_prefix(email))
        .await?
    {
        let Some(ip) = failed_login_ip(email, &key) else {
            continue;
        };
        if state.cache.counter(&key).await? >= threshold {
            locked.push(ip.to_owned());
        }
    }
    Ok(locked)
}

/// Clears every failed-password counter of the user's email (every IP).
pub async fn unlock(state: &AppState, auth_id: &str) -> Result<(), ServiceError> {
    use gatehouse_core::lockout::{failed_login_ip, failed_login_prefix};
    let current = user(&state.store, auth_id).await?;
    let Some(email) = current.email.as_deref() else {
        return Ok(());
    };
    for key in state
        .cache
        .keys_with_prefix(&failed_login_prefix(email))
        .await?
    {
        if failed_login_ip(email, &key).is_some() {
            state.cache.delete(&key).await?;
        }
    }
    Ok(())
}

/// What the management API lists as a user's sessions.
pub struct UserSessions {
    pub user: UserRecord,
    /// One per live refresh-token family (Melody's active sessions).
    pub token_sessions: Vec<gatehouse_store::ActiveSession>,
    /// One per signed-in browser (single sign-on).
    pub browser_sessions: Vec<gatehouse_store::BrowserSessionSummary>,
}

/// How a browser session is named in the management API, apart from refresh-token families.
pub const BROWSER_SESSION_PREFIX: &str = "browser-";

pub async fn active_sessions(store: &Store, auth_id: &str) -> Result<UserSessions, ServiceError> {
    use gatehouse_store::{BrowserSessionStore, RefreshTokenStore};
    let current = user(store, auth_id).await?;
    let now = gatehouse_store::now_utc();
    let token_sessions = store.active_sessions(current.id, now).await?;
    let browser_sessions = store.user_browser_sessions(current.id, now).await?;
    Ok(UserSessions {
        user: current,
        token_sessions,
        browser_sessions,
    })
}

/// Ends a session: a refresh-token family (every token of it stops working) or, for a
/// `browser-<id>` session, the browser's single sign-on (its next sign-in asks again).
pub async fn end_session(
    store: &Store,
    auth_id: &str,
    session_id: &str,
) -> Result<(), ServiceError> {
    use gatehouse_store::{BrowserSessionStore, RefreshTokenStore};
    let current = user(store, auth_id).await?;
    let now = gatehouse_store::now_utc();
    let ended = match session_id
        .strip_prefix(BROWSER_SESSION_PREFIX)
        .map(str::parse::<i64>)
    {
        Some(Ok(id)) => {
            store
                .revoke_user_browser_session(current.id, id, now)
                .await?
        }
        Some(Err(_)) => false,
        None => store.revoke_session(current.id, session_id, now).await?,
    };
    if !ended {
        return Err(ServiceError::NotFound("No active session found"));
    }
    Ok(())
}

/// The organizations a signed-in user may switch between (the `change_org` policy).
pub async fn own_orgs(state: &AppState, user_id: i64) -> Result<Vec<OrgRecord>, ServiceError> {
    use gatehouse_store::OrgStore;
    Ok(state.store.user_orgs(user_id).await?)
}

/// The `change_org` policy: makes one of the user's organizations the active one.
pub async fn change_own_org(
    state: &AppState,
    user_id: i64,
    slug: &str,
) -> Result<(), ServiceError> {
    use gatehouse_core::signin::SignInError;
    use gatehouse_store::OrgStore;
    let slug = slug.trim();
    if slug.is_empty() {
        return Err(SignInError::BadInput("Choose an organization".into()).into());
    }
    let orgs = state.store.user_orgs(user_id).await?;
    if !orgs.iter().any(|o| o.slug == slug) {
        return Err(SignInError::BadInput(AdminRuleError::UserNotInOrg.to_string()).into());
    }
    let changes = UserChanges {
        org_slug: Some(slug.to_owned()),
        ..UserChanges::default()
    };
    state.store.update_user(user_id, &changes, None).await?;
    Ok(())
}

/// The `change_password` policy: a new password that passes the rule and differs from the old.
pub async fn change_own_password(
    state: &AppState,
    user_id: i64,
    password: &str,
) -> Result<(), ServiceError> {
    use gatehouse_core::signin::SignInError;
    use gatehouse_store::AccountStore;
    gatehouse_core::password::check_new_password(password)
        .map_err(|e| SignInError::BadInput(e.to_string()))?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let current = match &user.email {
        Some(email) => state.store.password_account(email).await?,
        None => None,
    };
    let old_hash = current.and_then(|a| a.password_hash);
    if old_hash.is_some() {
        let same = state
            .passwords
            .verify(password.to_owned(), old_hash)
            .await?;
        if matches!(same, crate::crypto::PasswordCheck::Match { .. }) {
            return Err(SignInError::BadInput(
                "A change password request triggered but the new password is the same as the old password"
                    .into(),
            )
            .into());
        }
    }
    let hash = state.passwords.hash(password.to_owned()).await?;
    state.store.set_password_hash(user_id, &hash).await?;
    Ok(())
}

/// The `update_info` policy: first and last name, each at most 50 characters.
pub async fn update_own_names(
    state: &AppState,
    user_id: i64,
    first_name: Option<&str>,
    last_name: Option<&str>,
) -> Result<(), ServiceError> {
    use gatehouse_core::signin::SignInError;
    use gatehouse_store::AccountStore;
    let clean = |v: Option<&str>| -> Result<Option<String>, SignInError> {
        let v = v.map(str::trim).filter(|v| !v.is_empty());
        match v {
            Some(v) if v.chars().count() > 50 => Err(SignInError::BadInput(
                "Names must be at most 50 characters".into(),
            )),
            other => Ok(other.map(str::to_owned)),
        }
    };
    let (first, last) = (clean(first_name)?, clean(last_name)?);
    if state.config.names_is_required && (first.is_none() || last.is_none()) {
        return Err(SignInError::BadInput("First name and last name are required".into()).into());
    }
    state
        .store
        .set_names(user_id, first.as_deref(), last.as_deref())
        .await?;
    Ok(())
}
