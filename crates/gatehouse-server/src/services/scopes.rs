//! Managing scopes.

use gatehouse_core::admin::{bounded_text, is_built_in_scope, AdminRuleError};
use gatehouse_store::{NewScope, ScopeChanges, ScopeLocaleRecord, ScopeRecord, ScopeStore, Store};

use crate::error::{conflict_as, ServiceError};
use crate::services::found;

const NOT_FOUND: &str = "No scope found";
const TAKEN: &str = "A scope with this name already exists";

pub struct ScopeDetail {
    pub scope: ScopeRecord,
    pub locales: Vec<ScopeLocaleRecord>,
}

pub struct ScopeInput {
    pub name: String,
    pub scope_type: String,
    pub note: Option<String>,
    pub locales: Option<Vec<(String, String)>>,
}

fn locale_pairs(locales: Vec<(String, String)>) -> Result<Vec<(String, String)>, ServiceError> {
    locales
        .into_iter()
        .map(|(locale, value)| Ok((bounded_text("locale", &locale, 5)?, value)))
        .collect()
}

pub async fn list(store: &Store) -> Result<Vec<ScopeRecord>, ServiceError> {
    Ok(store.list_scopes().await?)
}

pub async fn get(store: &Store, id: i64) -> Result<ScopeDetail, ServiceError> {
    let scope = found(store.scope_by_id(id), NOT_FOUND).await?;
    let locales = store.scope_locales(id).await?;
    Ok(ScopeDetail { scope, locales })
}

pub async fn create(store: &Store, input: ScopeInput) -> Result<ScopeDetail, ServiceError> {
    let name = bounded_text("name", &input.name, 50)?.to_ascii_lowercase();
    if is_built_in_scope(&name) {
        return Err(AdminRuleError::BuiltInScope.into());
    }
    if !matches!(input.scope_type.as_str(), "spa" | "s2s") {
        return Err(AdminRuleError::OneOf {
            field: "type",
            allowed: "spa, s2s",
        }
        .into());
    }
    let locales = locale_pairs(input.locales.unwrap_or_default())?;
    let scope = store
        .insert_scope(
            &NewScope {
                name,
                scope_type: input.scope_type,
                note: input.note.unwrap_or_default(),
            },
            &locales,
        )
        .await
        .map_err(conflict_as(TAKEN))?;
    get(store, scope.id).await
}

pub async fn update(
    store: &Store,
    id: i64,
    name: Option<String>,
    note: Option<String>,
    locales: Option<Vec<(String, String)>>,
) -> Result<ScopeDetail, ServiceError> {
    let current = found(store.scope_by_id(id), NOT_FOUND).await?;
    let name = name
        .map(|n| bounded_text("name", &n, 50).map(|n| n.to_ascii_lowercase()))
        .transpose()?;
    let renamed = name.as_ref().is_some_and(|n| *n != current.name);
    if renamed
        && (is_built_in_scope(&current.name) || name.as_deref().is_some_and(is_built_in_scope))
    {
        return Err(AdminRuleError::BuiltInScope.into());
    }
    let changes = ScopeChanges {
        name,
        note,
        locales: locales.map(locale_pairs).transpose()?,
    };
    store
        .update_scope(id, &changes)
        .await
        .map_err(conflict_as(TAKEN))?
        .ok_or(ServiceError::NotFound(NOT_FOUND))?;
    get(store, id).await
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    let scope = found(store.scope_by_id(id), NOT_FOUND).await?;
    if is_built_in_scope(&scope.name) {
        return Err(AdminRuleError::BuiltInScope.into());
    }
    if !store.delete_scope(id).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}
