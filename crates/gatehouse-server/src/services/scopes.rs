//! Managing scopes.

use gatehouse_core::admin::{bounded_text, is_built_in_scope, AdminRuleError};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{NewScope, ScopeChanges, ScopeLocaleRecord, ScopeRecord, ScopeStore, Store};
use serde_json::{json, Map, Value};

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

/// Locale texts as the audit trail shows them: `{locale: text}`.
fn locales_json<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(locale, text)| (locale.to_owned(), json!(text)))
            .collect::<Map<String, Value>>(),
    )
}

fn pair_refs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    pairs.iter().map(|(l, t)| (l.as_str(), t.as_str()))
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
    let new = NewScope {
        name,
        scope_type: input.scope_type,
        note: input.note.unwrap_or_default(),
    };
    let change = Change::created("scope").fields_new(&json!({
        "name": new.name,
        "type": new.scope_type,
        "note": Some(&new.note).filter(|n| !n.is_empty()),
        "locales": Some(locales_json(pair_refs(&locales))).filter(|_| !locales.is_empty()),
    }));
    // The scope alone first: the audit trail names a created resource by the last row its
    // write inserts, which would be a locale text's.
    let scope = recording(change, store.insert_scope(&new, &[]))
        .await
        .map_err(conflict_as(TAKEN))?;
    if !locales.is_empty() {
        let texts = ScopeChanges {
            locales: Some(locales),
            ..ScopeChanges::default()
        };
        store.update_scope(scope.id, &texts).await?;
    }
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
    let mut change = Change::of("scope", id, "updated").fields_set(
        &json!({"name": current.name, "note": current.note}),
        &json!({"name": changes.name, "note": changes.note}),
    );
    if let Some(locales) = &changes.locales {
        let stored = store.scope_locales(id).await?;
        let before = locales_json(stored.iter().map(|l| (l.locale.as_str(), l.value.as_str())));
        change = change.field("locales", before, locales_json(pair_refs(locales)));
    }
    recording(change, store.update_scope(id, &changes))
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
    let change = Change::of("scope", id, "deleted").field("name", &scope.name, Value::Null);
    if !recording(change, store.delete_scope(id)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::fixture::{self, audit_row, audit_trail};

    fn input(name: &str, locales: Option<Vec<(String, String)>>) -> ScopeInput {
        ScopeInput {
            name: name.into(),
            scope_type: "s2s".into(),
            note: None,
            locales,
        }
    }

    #[tokio::test]
    async fn scope_changes_are_recorded_under_the_scope_s_id() {
        let store = fixture::store().await;
        let texts = vec![("en".to_owned(), "Read reports".to_owned())];
        let created = create(&store, input("Reports", Some(texts))).await.unwrap();
        let id = created.scope.id;
        assert_eq!(created.locales.len(), 1, "the texts are stored");
        let texts = vec![("fr".to_owned(), "Lire".to_owned())];
        update(
            &store,
            id,
            Some("reports".into()),
            Some("n".into()),
            Some(texts),
        )
        .await
        .unwrap();
        delete(&store, id).await.unwrap();
        assert_eq!(
            audit_trail(&store).await,
            [
                audit_row(
                    "scope",
                    id,
                    "created",
                    json!({
                        "name": [null, "reports"],
                        "type": [null, "s2s"],
                        "locales": [null, {"en": "Read reports"}],
                    })
                ),
                audit_row(
                    "scope",
                    id,
                    "updated",
                    json!({
                        "note": ["", "n"],
                        "locales": [{"en": "Read reports"}, {"fr": "Lire"}],
                    })
                ),
                audit_row("scope", id, "deleted", json!({"name": ["reports", null]})),
            ]
        );
    }

    #[tokio::test]
    async fn refused_scope_changes_record_nothing() {
        let store = fixture::store().await;
        let scope = create(&store, input("reports", None)).await.unwrap().scope;
        assert!(create(&store, input("reports", None)).await.is_err());
        assert!(create(&store, input("openid", None)).await.is_err());
        let bad_locale = Some(vec![("too-long".to_owned(), "x".to_owned())]);
        assert!(update(&store, scope.id, None, None, bad_locale)
            .await
            .is_err());
        assert!(update(&store, 9_999, Some("x".into()), None, None)
            .await
            .is_err());
        assert!(delete(&store, 9_999).await.is_err());
        assert_eq!(
            audit_trail(&store).await,
            [audit_row(
                "scope",
                scope.id,
                "created",
                json!({"name": [null, "reports"], "type": [null, "s2s"]})
            )]
        );
    }
}
