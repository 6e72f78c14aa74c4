//! Managing roles.

use gatehouse_core::admin::{bounded_text, is_built_in_role, AdminRuleError, ManagementChange};
use gatehouse_store::{RoleRecord, RoleStore, Store, UserRecord};

use super::authority::Authority;
use crate::error::{conflict_as, ServiceError};
use crate::state::AppState;

const NOT_FOUND: &str = "Role not found";
const TAKEN: &str = "A role with this name already exists";

pub async fn list(store: &Store) -> Result<Vec<RoleRecord>, ServiceError> {
    Ok(store.list_roles().await?)
}

pub async fn get(store: &Store, id: i64) -> Result<RoleRecord, ServiceError> {
    store
        .role_by_id(id)
        .await?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn users(store: &Store, id: i64) -> Result<Vec<UserRecord>, ServiceError> {
    get(store, id).await?;
    Ok(store.users_with_role(id).await?)
}

pub async fn create(
    state: &AppState,
    authority: &Authority,
    name: &str,
    note: Option<&str>,
) -> Result<RoleRecord, ServiceError> {
    let name = bounded_text("name", name, 50)?;
    if is_built_in_role(&name) {
        return Err(AdminRuleError::BuiltInRole.into());
    }
    authority.allows(&state.config, ManagementChange::CreateRole(&name))?;
    state
        .store
        .insert_role(&name, note.unwrap_or_default())
        .await
        .map_err(conflict_as(TAKEN))
}

pub async fn update(
    state: &AppState,
    authority: &Authority,
    id: i64,
    name: Option<&str>,
    note: Option<&str>,
) -> Result<RoleRecord, ServiceError> {
    let store = &state.store;
    let current = get(store, id).await?;
    let name = name.map(|n| bounded_text("name", n, 50)).transpose()?;
    if is_built_in_role(&current.name) || name.as_deref().is_some_and(is_built_in_role) {
        return Err(AdminRuleError::BuiltInRole.into());
    }
    if let Some(to) = &name {
        let from = &current.name;
        authority.allows(&state.config, ManagementChange::RenameRole { from, to })?;
    }
    store
        .update_role(id, name.as_deref(), note)
        .await
        .map_err(conflict_as(TAKEN))?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(state: &AppState, authority: &Authority, id: i64) -> Result<(), ServiceError> {
    let store = &state.store;
    let current = get(store, id).await?;
    if is_built_in_role(&current.name) {
        return Err(AdminRuleError::BuiltInRole.into());
    }
    authority.allows(&state.config, ManagementChange::DeleteRole(&current.name))?;
    if !store.delete_role(id).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}
