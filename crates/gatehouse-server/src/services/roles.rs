//! Managing roles. The service holds only the role store and the configured protected roles,
//! so the unit tests below run it on an in-memory database.

use gatehouse_core::admin::{
    bounded_text, is_built_in_role, AdminRuleError, ManagementChange, ProtectedRoles,
};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{RoleRecord, RoleStore, Store, UserRecord};
use serde_json::{json, Value};

use super::authority::{protected_roles, Authority};
use crate::error::{conflict_as, ServiceError};
use crate::services::found;
use crate::state::AppState;

const NOT_FOUND: &str = "Role not found";
const TAKEN: &str = "A role with this name already exists";

pub struct Roles<'a, S> {
    pub store: &'a S,
    pub protected: ProtectedRoles<'a>,
}

impl AppState {
    pub fn roles(&self) -> Roles<'_, Store> {
        Roles {
            store: &self.store,
            protected: protected_roles(&self.config),
        }
    }
}

impl<S: RoleStore + Sync> Roles<'_, S> {
    pub async fn list(&self) -> Result<Vec<RoleRecord>, ServiceError> {
        Ok(self.store.list_roles().await?)
    }

    pub async fn get(&self, id: i64) -> Result<RoleRecord, ServiceError> {
        found(self.store.role_by_id(id), NOT_FOUND).await
    }

    pub async fn users(&self, id: i64) -> Result<Vec<UserRecord>, ServiceError> {
        self.get(id).await?;
        Ok(self.store.users_with_role(id).await?)
    }

    pub async fn create(
        &self,
        authority: &Authority,
        name: &str,
        note: Option<&str>,
    ) -> Result<RoleRecord, ServiceError> {
        let name = bounded_text("name", name, 50)?;
        if is_built_in_role(&name) {
            return Err(AdminRuleError::BuiltInRole.into());
        }
        authority.allows(self.protected, ManagementChange::CreateRole(&name))?;
        let note = note.unwrap_or_default();
        let change = Change::created("role").fields_new(&json!({
            "name": name,
            "note": Some(note).filter(|n| !n.is_empty()),
        }));
        recording(change, self.store.insert_role(&name, note))
            .await
            .map_err(conflict_as(TAKEN))
    }

    pub async fn update(
        &self,
        authority: &Authority,
        id: i64,
        name: Option<&str>,
        note: Option<&str>,
    ) -> Result<RoleRecord, ServiceError> {
        let current = self.get(id).await?;
        let name = name.map(|n| bounded_text("name", n, 50)).transpose()?;
        if is_built_in_role(&current.name) || name.as_deref().is_some_and(is_built_in_role) {
            return Err(AdminRuleError::BuiltInRole.into());
        }
        if let Some(to) = &name {
            let from = &current.name;
            authority.allows(self.protected, ManagementChange::RenameRole { from, to })?;
        }
        let change = Change::of("role", id, "updated").fields_set(
            &json!({"name": current.name, "note": current.note}),
            &json!({"name": name, "note": note}),
        );
        recording(change, self.store.update_role(id, name.as_deref(), note))
            .await
            .map_err(conflict_as(TAKEN))?
            .ok_or(ServiceError::NotFound(NOT_FOUND))
    }

    pub async fn delete(&self, authority: &Authority, id: i64) -> Result<(), ServiceError> {
        let current = self.get(id).await?;
        if is_built_in_role(&current.name) {
            return Err(AdminRuleError::BuiltInRole.into());
        }
        authority.allows(self.protected, ManagementChange::DeleteRole(&current.name))?;
        let change = Change::of("role", id, "deleted").field("name", &current.name, Value::Null);
        if !recording(change, self.store.delete_role(id)).await? {
            return Err(ServiceError::NotFound(NOT_FOUND));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
