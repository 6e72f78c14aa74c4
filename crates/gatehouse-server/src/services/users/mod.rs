//! Managing users through the S2S API.

use std::collections::BTreeMap;

use gatehouse_core::admin::{bounded_text, AdminRuleError, ManagementChange, UserAction};
use gatehouse_store::{
    LinkedIdentity, OrgRecord, OrgStore, Page, RoleStore, SocialAccountStore, Store,
    UserAttributeStore, UserChanges, UserList, UserPage, UserRecord, UserSearchStore, UserStore,
};

use gatehouse_core::webhooks;
use gatehouse_store::changes::{recording, recording_all, Change};
use serde_json::{json, Value};

use super::audit;
use super::authority::{protected_roles, Authority};
use crate::error::ServiceError;
use crate::services::found;
use crate::state::AppState;

mod connections;
mod credentials;
mod factors;
mod lockouts;
mod memberships;
mod own_account;
mod sessions;

pub use connections::{
    consented_apps, link, linked_identities, revoke_consent, unlink, unlink_identity,
};
pub use credentials::{may_change_sign_in, set_email, set_password};
pub use factors::{delete_passkey, passkeys, set_mfa};
pub(crate) use lockouts::lift_lockouts;
pub use lockouts::{locked_ips, unlock};
pub use memberships::{orgs, set_org_group, set_orgs};
pub use own_account::{change_own_org, change_own_password, own_orgs, update_own_names};
pub use sessions::{active_sessions, end_session, UserSessions, BROWSER_SESSION_PREFIX};

const NO_USER: &str = "No user found";

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
    /// E.164; an empty string clears it.
    pub phone_number: Option<String>,
    /// An address with no member clears it.
    pub address: Option<gatehouse_core::claims::Address>,
}

pub async fn user(store: &Store, auth_id: &str) -> Result<UserRecord, ServiceError> {
    found(store.user_by_auth_id(auth_id), NO_USER).await
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
    authority.allows(protected_roles(&state.config), change)
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

/// Removes one row the user owns (a passkey, a linked identity) once the caller may take
/// `action`; `remove` answers false when no such row is the user's, which is `missing`.
async fn remove_owned<F, Fut, E>(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    action: UserAction,
    missing: &'static str,
    remove: F,
) -> Result<(), ServiceError>
where
    F: FnOnce(&UserRecord) -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
    ServiceError: From<E>,
{
    let current = target(state, authority, auth_id, action).await?;
    if !remove(&current).await? {
        return Err(ServiceError::NotFound(missing));
    }
    Ok(())
}

pub async fn list(
    store: &Store,
    search: Option<&str>,
    page: Option<Page>,
) -> Result<(Vec<UserRecord>, i64), ServiceError> {
    Ok(store.list_users(search, page).await?)
}

/// A page of the user list and the count of every match (see [`UserSearchStore::search_users`]).
pub async fn search(
    store: &Store,
    search: Option<&str>,
    page: UserPage,
) -> Result<UserList, ServiceError> {
    Ok(store.search_users(search, page).await?)
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
        let org = found(store.org_by_slug(&slug), "No organization found").await?;
        if !store.is_org_member(current.id, org.id).await? {
            return Err(AdminRuleError::UserNotInOrg.into());
        }
    }
    let mut role_changes = Vec::new();
    let role_ids = match &update.roles {
        Some(names) => {
            let held = store.user_role_names(current.id).await?;
            let change = ManagementChange::SetUserRoles {
                held: &held,
                wanted: names,
            };
            authority.allows(protected_roles(&state.config), change)?;
            let all = store.list_roles().await?;
            for role in &all {
                let (had, wants) = (held.contains(&role.name), names.contains(&role.name));
                if had != wants {
                    role_changes.push(audit::role_change(&current, &role.name, wants));
                }
            }
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
            let attribute = found(
                store.user_attribute_by_id(attribute_id),
                "No user attribute found",
            )
            .await?;
            if let Some(value) = &value {
                if !super::user_attributes::value_matches_rule(&attribute, value) {
                    return Err(AdminRuleError::AttributeValidationFailed(attribute.name).into());
                }
                if attribute.is_unique
                    && store
                        .attribute_value_taken(attribute_id, value, Some(current.id))
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
    let phone_number = match update.phone_number {
        Some(number) => {
            let number = number.trim().to_owned();
            gatehouse_core::claims::check_phone_number(&number)?;
            Some(number)
        }
        None => None,
    };
    let address = match update.address {
        Some(address) => Some(match address.checked()? {
            Some(address) => serde_json::to_string(&address)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            None => String::new(),
        }),
        None => None,
    };
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
        phone_number,
        address,
    };
    let recorded = user_update_changes(&current, &changes, role_changes);
    recording_all(
        recorded,
        store.update_user(current.id, &changes, role_ids.as_deref()),
    )
    .await?;
    if current.is_active && changes.is_active == Some(false) {
        // A disabled user is signed out, and the apps they signed in to are told.
        let now = chrono::Utc::now().timestamp();
        state.sessions().end_everywhere(current.id, now).await?;
    }
    if org_changed {
        // Groups belong to the previous organization.
        for (group_id, _) in store.user_org_groups(current.id).await? {
            store
                .set_org_group_member(current.id, group_id, false)
                .await?;
        }
    }
    for (attribute_id, value) in attribute_writes {
        let change = Change::of("user", &current.auth_id, "attribute_set")
            .field(&format!("attribute:{attribute_id}"), Value::Null, &value)
            .event(webhooks::USER_UPDATED, audit::user_data(&current));
        recording(
            change,
            store.set_user_attribute_value(current.id, attribute_id, value.as_deref()),
        )
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
    // Signed out first, so the apps they signed in to are told.
    let now = chrono::Utc::now().timestamp();
    state.sessions().end_everywhere(current.id, now).await?;
    let change = audit::user_change(&current, "deleted", webhooks::USER_DELETED);
    recording(change, state.store.delete_user(current.id)).await?;
    Ok(())
}

/// What an update records: the fields it sets that differ, the switch of `isActive`, and each
/// role given or taken.
fn user_update_changes(
    current: &UserRecord,
    changes: &UserChanges,
    role_changes: Vec<Change>,
) -> Vec<Change> {
    let before = json!({
        "firstName": current.first_name,
        "lastName": current.last_name,
        "locale": current.locale,
        "orgSlug": current.org_slug,
        "phoneNumber": current.phone_number,
        "address": current.address,
    });
    let after = json!({
        "firstName": changes.first_name,
        "lastName": changes.last_name,
        "locale": changes.locale,
        "orgSlug": changes.org_slug,
        "phoneNumber": changes.phone_number,
        "address": changes.address,
    });
    let mut recorded = Vec::new();
    let updated = Change::of("user", &current.auth_id, "updated").fields_set(&before, &after);
    if !updated.fields.is_empty() {
        recorded.push(updated.event(webhooks::USER_UPDATED, audit::user_data(current)));
    }
    match changes.is_active {
        Some(active) if active != current.is_active => {
            let (action, event) = if active {
                ("enabled", webhooks::USER_ENABLED)
            } else {
                ("disabled", webhooks::USER_DISABLED)
            };
            let change = audit::user_change(current, action, event);
            recorded.push(change.field("isActive", current.is_active, active));
        }
        _ => {}
    }
    recorded.extend(role_changes);
    recorded
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
