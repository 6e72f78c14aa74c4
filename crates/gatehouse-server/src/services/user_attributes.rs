//! Managing custom user attributes.

use std::collections::BTreeMap;

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_store::{Store, UserAttributeFields, UserAttributeRecord, UserAttributeStore};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{conflict_as, ServiceError};
use crate::services::found;

const NOT_FOUND: &str = "No user attribute found";
const TAKEN: &str = "A user attribute with this name already exists";

/// A display text in one locale, as posted and as shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LocaleText {
    pub locale: String,
    pub value: String,
}

/// Posted locale texts as the services store them: `(locale, text)` pairs.
pub fn text_pairs(texts: Option<Vec<LocaleText>>) -> Option<Vec<(String, String)>> {
    texts.map(|l| l.into_iter().map(|t| (t.locale, t.value)).collect())
}

/// Fields of an attribute, as the S2S API posts them and the panel fills them: all optional on
/// update, `name` required on create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserAttributeReq)]
pub struct AttributeInput {
    pub name: Option<String>,
    pub locales: Option<Vec<LocaleText>>,
    pub include_in_sign_up_form: Option<bool>,
    pub required_in_sign_up_form: Option<bool>,
    pub include_in_id_token_body: Option<bool>,
    pub include_in_user_info: Option<bool>,
    pub unique: Option<bool>,
    /// A regular expression values must match (empty: no check).
    pub validation_regex: Option<String>,
    pub validation_locales: Option<Vec<LocaleText>>,
}

/// Locale texts are stored as one JSON object `{locale: text}`.
pub fn locale_object(pairs: Vec<(String, String)>) -> Result<String, ServiceError> {
    let mut map = BTreeMap::new();
    for (locale, text) in pairs {
        map.insert(bounded_text("locale", &locale, 5)?, text);
    }
    serde_json::to_string(&map).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Whether `value` passes the attribute's validation rule (an empty rule passes everything).
pub fn value_matches_rule(attribute: &UserAttributeRecord, value: &str) -> bool {
    match attribute
        .validation_regex
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(pattern) => regex::Regex::new(pattern).is_ok_and(|re| re.is_match(value)),
        None => true,
    }
}

/// What a person is told when a value breaks the rule: the attribute's own text in `locale`,
/// else the generic message.
pub fn rule_message(attribute: &UserAttributeRecord, locale: &str) -> String {
    locale_text(&attribute.validation_locales, locale).unwrap_or_else(|| {
        AdminRuleError::AttributeValidationFailed(attribute.name.clone()).to_string()
    })
}

/// The attribute's label in `locale`, else its name.
pub fn label(attribute: &UserAttributeRecord, locale: &str) -> String {
    locale_text(&attribute.locales, locale).unwrap_or_else(|| attribute.name.clone())
}

/// The non-empty text stored for `locale`, if any.
fn locale_text(stored: &str, locale: &str) -> Option<String> {
    locale_pairs(stored)
        .into_iter()
        .find(|(l, text)| l.eq_ignore_ascii_case(locale) && !text.is_empty())
        .map(|(_, text)| text)
}

/// Reads stored locale texts back as pairs; a malformed value reads as none.
pub fn locale_pairs(stored: &str) -> Vec<(String, String)> {
    serde_json::from_str::<BTreeMap<String, String>>(stored)
        .map(|m| m.into_iter().collect())
        .unwrap_or_default()
}

fn fields(input: AttributeInput) -> Result<UserAttributeFields, ServiceError> {
    if let Some(pattern) = &input.validation_regex {
        if !pattern.is_empty() && regex::Regex::new(pattern).is_err() {
            return Err(AdminRuleError::InvalidRegex.into());
        }
    }
    Ok(UserAttributeFields {
        name: input
            .name
            .map(|n| bounded_text("name", &n, 50))
            .transpose()?,
        include_in_sign_up_form: input.include_in_sign_up_form,
        required_in_sign_up_form: input.required_in_sign_up_form,
        include_in_id_token_body: input.include_in_id_token_body,
        include_in_user_info: input.include_in_user_info,
        locales: text_pairs(input.locales).map(locale_object).transpose()?,
        is_unique: input.unique,
        validation_regex: input.validation_regex,
        validation_locales: text_pairs(input.validation_locales)
            .map(locale_object)
            .transpose()?,
    })
}

pub async fn list(store: &Store) -> Result<Vec<UserAttributeRecord>, ServiceError> {
    Ok(store.list_user_attributes().await?)
}

pub async fn get(store: &Store, id: i64) -> Result<UserAttributeRecord, ServiceError> {
    found(store.user_attribute_by_id(id), NOT_FOUND).await
}

pub async fn create(
    store: &Store,
    input: AttributeInput,
) -> Result<UserAttributeRecord, ServiceError> {
    if input.name.is_none() {
        return Err(AdminRuleError::Length {
            field: "name",
            max: 50,
        }
        .into());
    }
    store
        .insert_user_attribute(&fields(input)?)
        .await
        .map_err(conflict_as(TAKEN))
}

pub async fn update(
    store: &Store,
    id: i64,
    input: AttributeInput,
) -> Result<UserAttributeRecord, ServiceError> {
    get(store, id).await?;
    store
        .update_user_attribute(id, &fields(input)?)
        .await
        .map_err(conflict_as(TAKEN))?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    if !store.delete_user_attribute(id).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}
