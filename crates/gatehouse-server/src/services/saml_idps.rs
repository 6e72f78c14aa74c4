//! Managing SAML identity providers.

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{SamlIdpFields, SamlIdpRecord, SamlIdpStore, Store};
use serde_json::{json, Value};

use crate::error::{conflict_as, ServiceError};
use crate::services::found;

const NOT_FOUND: &str = "No SAML IDP found";

/// Metadata must at least be XML-shaped; it is parsed fully when a sign-in uses it.
fn metadata(value: Option<String>) -> Result<Option<String>, ServiceError> {
    match value {
        Some(xml) if !xml.trim_start().starts_with('<') => Err(AdminRuleError::NotXml.into()),
        other => Ok(other),
    }
}

fn attribute(field: &'static str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    value
        .map(|v| bounded_text(field, &v, 100))
        .transpose()
        .map_err(Into::into)
}

/// An attribute the provider may leave out: blank means none (as Melody stores it), so an
/// admin can clear it.
fn optional_attribute(
    field: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ServiceError> {
    match value {
        Some(v) if v.trim().is_empty() => Ok(Some(String::new())),
        other => attribute(field, other),
    }
}

/// Checks and trims every given field.
fn checked(fields: SamlIdpFields) -> Result<SamlIdpFields, ServiceError> {
    Ok(SamlIdpFields {
        name: fields
            .name
            .map(|n| bounded_text("name", &n, 50))
            .transpose()?,
        user_id_attribute: attribute("userIdAttribute", fields.user_id_attribute)?,
        email_attribute: optional_attribute("emailAttribute", fields.email_attribute)?,
        first_name_attribute: optional_attribute(
            "firstNameAttribute",
            fields.first_name_attribute,
        )?,
        last_name_attribute: optional_attribute("lastNameAttribute", fields.last_name_attribute)?,
        metadata: metadata(fields.metadata)?,
        is_active: fields.is_active,
    })
}

/// The fields an update may set, by their API names; an attribute the provider leaves out
/// is `""` (none).
fn record_json(r: &SamlIdpRecord) -> Value {
    json!({
        "userIdAttribute": r.user_id_attribute,
        "emailAttribute": r.email_attribute.as_deref().unwrap_or_default(),
        "firstNameAttribute": r.first_name_attribute.as_deref().unwrap_or_default(),
        "lastNameAttribute": r.last_name_attribute.as_deref().unwrap_or_default(),
        "metadata": r.metadata,
        "isActive": r.is_active,
    })
}

/// What a request sets (`null`: left as it is), named as in [`record_json`].
fn fields_json(f: &SamlIdpFields) -> Value {
    json!({
        "userIdAttribute": f.user_id_attribute,
        "emailAttribute": f.email_attribute,
        "firstNameAttribute": f.first_name_attribute,
        "lastNameAttribute": f.last_name_attribute,
        "metadata": f.metadata,
        "isActive": f.is_active,
    })
}

pub async fn list(store: &Store) -> Result<Vec<SamlIdpRecord>, ServiceError> {
    Ok(store.list_saml_idps().await?)
}

pub async fn get(store: &Store, id: i64) -> Result<SamlIdpRecord, ServiceError> {
    found(store.saml_idp_by_id(id), NOT_FOUND).await
}

pub async fn create(store: &Store, fields: SamlIdpFields) -> Result<SamlIdpRecord, ServiceError> {
    let fields = checked(fields)?;
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let change = Change::created("saml_idp").fields_new(&json!({
        "name": fields.name,
        "userIdAttribute": fields.user_id_attribute,
        "emailAttribute": given(&fields.email_attribute),
        "firstNameAttribute": given(&fields.first_name_attribute),
        "lastNameAttribute": given(&fields.last_name_attribute),
        "metadata": fields.metadata,
    }));
    recording(change, store.insert_saml_idp(&fields))
        .await
        .map_err(conflict_as("A SAML IDP with this name already exists"))
}

pub async fn update(
    store: &Store,
    id: i64,
    fields: SamlIdpFields,
) -> Result<SamlIdpRecord, ServiceError> {
    let fields = checked(fields)?;
    let current = get(store, id).await?;
    let change = Change::of("saml_idp", id, "updated")
        .fields_set(&record_json(&current), &fields_json(&fields));
    recording(change, store.update_saml_idp(id, &fields))
        .await?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    // Read first: a delete of several statements records its change even when the provider
    // is not there.
    let current = get(store, id).await?;
    let change = Change::of("saml_idp", id, "deleted").field("name", &current.name, Value::Null);
    if !recording(change, store.delete_saml_idp(id)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::fixture::{self, audit_row, audit_trail};

    const METADATA: &str = "<EntityDescriptor entityID=\"https://idp.example\"/>";

    fn new_idp(name: &str) -> SamlIdpFields {
        SamlIdpFields {
            name: Some(name.into()),
            user_id_attribute: Some("uid".into()),
            email_attribute: Some("mail".into()),
            metadata: Some(METADATA.into()),
            ..SamlIdpFields::default()
        }
    }

    #[tokio::test]
    async fn provider_changes_are_recorded_with_what_they_changed() {
        let store = fixture::store().await;
        let idp = create(&store, new_idp("corp")).await.unwrap();
        let change = SamlIdpFields {
            email_attribute: Some(" ".into()),
            first_name_attribute: Some("givenName".into()),
            user_id_attribute: Some("uid".into()),
            is_active: Some(false),
            ..SamlIdpFields::default()
        };
        update(&store, idp.id, change).await.unwrap();
        delete(&store, idp.id).await.unwrap();
        assert_eq!(
            audit_trail(&store).await,
            [
                audit_row(
                    "saml_idp",
                    idp.id,
                    "created",
                    json!({
                        "name": [null, "corp"],
                        "userIdAttribute": [null, "uid"],
                        "emailAttribute": [null, "mail"],
                        "metadata": [null, METADATA],
                    })
                ),
                audit_row(
                    "saml_idp",
                    idp.id,
                    "updated",
                    json!({
                        "emailAttribute": ["mail", ""],
                        "firstNameAttribute": ["", "givenName"],
                        "isActive": [true, false],
                    })
                ),
                audit_row(
                    "saml_idp",
                    idp.id,
                    "deleted",
                    json!({"name": ["corp", null]})
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refused_provider_changes_record_nothing() {
        let store = fixture::store().await;
        let idp = create(&store, new_idp("corp")).await.unwrap();
        assert!(create(&store, new_idp("corp")).await.is_err());
        let not_xml = SamlIdpFields {
            metadata: Some("plain text".into()),
            ..SamlIdpFields::default()
        };
        assert!(update(&store, idp.id, not_xml).await.is_err());
        assert!(update(&store, 9_999, SamlIdpFields::default())
            .await
            .is_err());
        assert!(delete(&store, 9_999).await.is_err());
        let trail = audit_trail(&store).await;
        let actions: Vec<&str> = trail.iter().map(|row| row.2.as_str()).collect();
        assert_eq!(actions, ["created"]);
    }
}
