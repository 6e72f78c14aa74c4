//! Invitations (S2S): an inactive user with a pending invitation, emailed a link to accept it;
//! re-sending replaces the token, revoking withdraws it. Only the token's hash is stored.

use gatehouse_core::admin::{AdminRuleError, ManagementChange};
use gatehouse_store::{OrgStore, RoleStore, Store, UserRecord, UserStore};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ServiceError;
use crate::services::authority::protected_roles;
use crate::services::found;
use crate::services::users::{detail, user, UserDetail};
use crate::state::AppState;

/// An invitation as an admin sends it (the S2S API's body, the panel's fields).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PostInvitationReq)]
pub struct Invitation {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    /// The organization the user joins (not a branding-only one).
    pub org_slug: Option<String>,
    /// Role names; privileged roles need `root`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Where the accepted invitation leads (used by the invitation email).
    #[serde(rename = "signinUrl")]
    pub sign_in_url: Option<String>,
}

/// A fresh invitation token, the hash that is stored of it, and its expiry.
fn new_invitation(state: &AppState) -> (String, String, chrono::NaiveDateTime) {
    let token = crate::crypto::random_hex::<32>();
    let lifetime = chrono::TimeDelta::seconds(state.config.invitation_expires_in as i64);
    let hash = crate::crypto::sha256_hex(token.as_bytes());
    (token, hash, gatehouse_store::now_utc() + lifetime)
}

/// Emails the invitation: the token travels only in the link.
async fn send_invitation(
    state: &AppState,
    user: &UserRecord,
    token: &str,
    locale: &str,
    sign_in_url: Option<&str>,
) -> Result<(), ServiceError> {
    let Some(email) = user.email.as_deref() else {
        return Ok(());
    };
    let to = crate::services::lifecycle::Recipient {
        user_id: user.id,
        auth_id: &user.auth_id,
        email,
        locale,
        org_slug: &user.org_slug,
    };
    crate::services::lifecycle::send_invitation(state, &to, token, sign_in_url).await
}

/// Creates an inactive user with a pending invitation and emails them the link.
pub async fn invite(
    state: &AppState,
    authority: &super::authority::Authority,
    invitation: Invitation,
) -> Result<UserDetail, ServiceError> {
    let store = &state.store;
    let email = gatehouse_core::admin::email_address(&invitation.email)?;
    let change = ManagementChange::SetUserRoles {
        held: &[],
        wanted: &invitation.roles,
    };
    authority.allows(protected_roles(&state.config), change)?;
    let locale = match invitation.locale {
        Some(locale) if !state.config.supported_locales.contains(&locale) => {
            return Err(AdminRuleError::UnsupportedLocale.into())
        }
        Some(locale) => locale,
        None => state
            .config
            .supported_locales
            .first()
            .cloned()
            .unwrap_or_else(|| "en".into()),
    };
    let org = match invitation
        .org_slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(slug) => {
            let org = found(store.org_by_slug(slug), "No organization found").await?;
            if org.only_use_for_branding_override {
                return Err(AdminRuleError::OrgNotAllowInvite.into());
            }
            Some((org.id, org.slug))
        }
        None => None,
    };
    let all_roles = store.list_roles().await?;
    let mut role_ids = Vec::new();
    for name in &invitation.roles {
        let role = all_roles
            .iter()
            .find(|r| &r.name == name)
            .ok_or(ServiceError::NotFound("Role not found"))?;
        role_ids.push(role.id);
    }
    if store.email_in_use(&email).await? {
        return Err(AdminRuleError::EmailTaken.into());
    }
    let (token, token_hash, expires_at) = new_invitation(state);
    let auth_id = uuid::Uuid::new_v4().to_string();
    let change = crate::services::audit::user_created(
        &auth_id,
        Some(&email),
        invitation.first_name.as_deref().map(str::trim),
        invitation.last_name.as_deref().map(str::trim),
        gatehouse_core::webhooks::USER_CREATED,
    );
    let new_user = gatehouse_store::NewInvitedUser {
        auth_id: auth_id.clone(),
        email,
        first_name: invitation.first_name.map(|n| n.trim().to_owned()),
        last_name: invitation.last_name.map(|n| n.trim().to_owned()),
        locale,
        org,
        role_ids,
        invitation_token_hash: token_hash,
        invitation_expires_at: expires_at,
    };
    let insert = store.insert_invited_user(&new_user);
    gatehouse_store::changes::recording(change, insert).await?;
    let created = user(store, &auth_id).await?;
    send_invitation(
        state,
        &created,
        &token,
        &created.locale,
        invitation.sign_in_url.as_deref(),
    )
    .await?;
    detail(state, &auth_id).await
}

/// Issues a new invitation token and expiry for a user who has not accepted yet, and emails
/// it (in `locale` when given, else the user's).
pub async fn renew_invitation(
    state: &AppState,
    auth_id: &str,
    locale: Option<&str>,
    sign_in_url: Option<&str>,
) -> Result<(), ServiceError> {
    let current = user(&state.store, auth_id).await?;
    if current.is_active {
        return Err(AdminRuleError::UserAlreadyActive.into());
    }
    if current.invitation_token.is_none() {
        return Err(AdminRuleError::InvitationNotFound.into());
    }
    let (token, token_hash, expires_at) = new_invitation(state);
    state
        .store
        .set_invitation(current.id, Some((&token_hash, expires_at)))
        .await?;
    let locale = locale.unwrap_or(&current.locale);
    send_invitation(state, &current, &token, locale, sign_in_url).await
}

/// Withdraws a pending invitation; the user stays inactive.
pub async fn revoke_invitation(store: &Store, auth_id: &str) -> Result<(), ServiceError> {
    let current = user(store, auth_id).await?;
    if current.invitation_token.is_none() {
        return Err(AdminRuleError::InvitationNotFound.into());
    }
    store.set_invitation(current.id, None).await?;
    Ok(())
}
