//! What a user is connected to: the apps they consented to, a linked account, and provider
//! identities linked at sign-in.

use gatehouse_core::admin::{AdminRuleError, UserAction};
use gatehouse_store::{LinkedIdentity, SocialAccountStore, Store, UserStore};

use super::{may_act_on, remove_owned, target, user};
use crate::error::ServiceError;
use crate::services::authority::Authority;
use crate::state::AppState;

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
    let action = UserAction::UnlinkIdentity;
    remove_owned(
        state,
        authority,
        auth_id,
        action,
        "No linked identity found",
        |u| state.store.unlink_identity(u.id, identity_id),
    )
    .await
}
