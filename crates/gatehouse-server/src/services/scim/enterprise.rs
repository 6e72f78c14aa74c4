//! The enterprise User extension as this deployment keeps it: `employeeNumber`, `costCenter`,
//! `division` and `department` in the custom user attribute of the same name (with
//! `enable_user_attribute`), `organization` as the user's active organization (with
//! `enable_org`). What has no home is declared so in the schema.

use std::collections::BTreeMap;

use gatehouse_core::scim::{
    get_attr, EnterpriseAttribute, Kept, ScimError, ENTERPRISE_USER_SCHEMA,
};
use gatehouse_store::{UserAttributeRecord, UserAttributeStore, UserRecord, UserStore};
use serde_json::{Map, Value};

use super::Result;
use crate::state::AppState;

pub(super) struct EnterpriseMap {
    /// The text attributes stored, each with the custom user attribute holding it.
    text: Vec<(EnterpriseAttribute, UserAttributeRecord)>,
    /// Whether `organization` is the active organization.
    organization: bool,
    attributes_on: bool,
}

/// What a resource asks of the stored enterprise attributes.
pub(super) struct EnterpriseWrite {
    /// Custom attribute id → value (`None` removes it), only those that change.
    pub attributes: BTreeMap<i64, Option<String>>,
    /// The organization slug to make active, when given and different.
    pub organization: Option<String>,
}

impl EnterpriseMap {
    pub async fn load(state: &AppState) -> Result<Self> {
        let attributes_on = state.config.enable_user_attribute;
        let defined = if attributes_on {
            state.store.list_user_attributes().await?
        } else {
            Vec::new()
        };
        let text = EnterpriseAttribute::ALL
            .into_iter()
            .filter(|a| a.is_text())
            .filter_map(|a| {
                defined
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(a.name()))
                    .map(|d| (a, d.clone()))
            })
            .collect();
        Ok(Self {
            text,
            organization: state.config.enable_org,
            attributes_on,
        })
    }

    /// Where each attribute is kept, or why it is not, for the schema.
    pub fn kept(&self) -> Vec<(EnterpriseAttribute, Kept)> {
        EnterpriseAttribute::ALL
            .into_iter()
            .map(|attribute| {
                let kept = match attribute {
                    EnterpriseAttribute::Organization if self.organization => Kept::In(
                        "the user's active organization, by slug: setting it makes the user a \
                         member of that organization and their active one (which leaves their \
                         groups of the previous one); removing it changes nothing"
                            .into(),
                    ),
                    EnterpriseAttribute::Organization => {
                        Kept::Not("organizations are off (enable_org)".into())
                    }
                    EnterpriseAttribute::Manager => {
                        Kept::Not("Gatehouse keeps no reporting line".into())
                    }
                    text => match self.record(text) {
                        Some(record) => Kept::In(format!(
                            "the custom user attribute `{}` (its validation rule and uniqueness \
                             apply)",
                            record.name
                        )),
                        None if self.attributes_on => Kept::Not(format!(
                            "no custom user attribute is named `{}`; define one to store it",
                            text.name()
                        )),
                        None => Kept::Not(format!(
                            "custom user attributes are off (enable_user_attribute); with them \
                             on, one named `{}` stores it",
                            text.name()
                        )),
                    },
                };
                (attribute, kept)
            })
            .collect()
    }

    fn record(&self, attribute: EnterpriseAttribute) -> Option<&UserAttributeRecord> {
        self.text
            .iter()
            .find(|(a, _)| *a == attribute)
            .map(|(_, r)| r)
    }

    /// The extension's values for `user` (empty when nothing is stored).
    pub async fn values(&self, state: &AppState, user: &UserRecord) -> Result<Map<String, Value>> {
        let mut shown = Map::new();
        if self.organization && !user.org_slug.trim().is_empty() {
            shown.insert("organization".into(), Value::from(user.org_slug.trim()));
        }
        if !self.text.is_empty() {
            let values = state.store.user_attribute_values(user.id).await?;
            for (attribute, record) in &self.text {
                if let Some((_, value)) = values.iter().find(|(name, _)| *name == record.name) {
                    shown.insert(attribute.name().into(), Value::from(value.as_str()));
                }
            }
        }
        Ok(shown)
    }

    /// What `wanted` changes of the stored attributes, against the `current` resource. An
    /// absent stored text attribute is removed (a PUT replaces, a PATCH removes); an absent
    /// organization changes nothing.
    pub fn write(
        &self,
        current: &Value,
        wanted: &Value,
    ) -> std::result::Result<EnterpriseWrite, ScimError> {
        let value = |resource: &Value, attribute: EnterpriseAttribute| match get_attr(
            resource,
            ENTERPRISE_USER_SCHEMA,
        )
        .and_then(|e| get_attr(e, attribute.name()))
        {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(ScimError::invalid_value(format!(
                "{}:{} must be a string",
                ENTERPRISE_USER_SCHEMA,
                attribute.name()
            ))),
        };
        if let Some(extension) = get_attr(wanted, ENTERPRISE_USER_SCHEMA) {
            if !extension.is_object() && !extension.is_null() {
                return Err(ScimError::invalid_value(format!(
                    "{ENTERPRISE_USER_SCHEMA} must be an object"
                )));
            }
        }
        let mut attributes = BTreeMap::new();
        for (attribute, record) in &self.text {
            let after = value(wanted, *attribute)?;
            if after != value(current, *attribute)? {
                attributes.insert(record.id, after);
            }
        }
        let organization = if self.organization {
            value(wanted, EnterpriseAttribute::Organization)?
                .filter(|slug| Some(slug.as_str()) != text_of(current))
        } else {
            None
        };
        Ok(EnterpriseWrite {
            attributes,
            organization,
        })
    }
}

fn text_of(resource: &Value) -> Option<&str> {
    get_attr(resource, ENTERPRISE_USER_SCHEMA)
        .and_then(|e| get_attr(e, "organization"))
        .and_then(Value::as_str)
}
