//! Managing SAML identity providers.

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_store::{SamlIdpFields, SamlIdpRecord, SamlIdpStore, Store};

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

pub async fn list(store: &Store) -> Result<Vec<SamlIdpRecord>, ServiceError> {
    Ok(store.list_saml_idps().await?)
}

pub async fn get(store: &Store, id: i64) -> Result<SamlIdpRecord, ServiceError> {
    found(store.saml_idp_by_id(id), NOT_FOUND).await
}

pub async fn create(store: &Store, fields: SamlIdpFields) -> Result<SamlIdpRecord, ServiceError> {
    store
        .insert_saml_idp(&checked(fields)?)
        .await
        .map_err(conflict_as("A SAML IDP with this name already exists"))
}

pub async fn update(
    store: &Store,
    id: i64,
    fields: SamlIdpFields,
) -> Result<SamlIdpRecord, ServiceError> {
    store
        .update_saml_idp(id, &checked(fields)?)
        .await?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    if !store.delete_saml_idp(id).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}
