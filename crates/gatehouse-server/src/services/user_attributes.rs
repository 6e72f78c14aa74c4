//! Managing custom user attributes.

use std::collections::BTreeMap;

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{Store, UserAttributeFields, UserAttributeRecord, UserAttributeStore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
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

/// Stored locale texts as the audit trail shows them: the object, not its text.
fn stored_texts(stored: &str) -> Value {
    serde_json::from_str(stored).unwrap_or_else(|_| json!(stored))
}

/// An attribute's fields by their API names, as the audit trail compares them.
fn record_json(a: &UserAttributeRecord) -> Value {
    json!({
        "name": a.name,
        "locales": stored_texts(&a.locales),
        "includeInSignUpForm": a.include_in_sign_up_form,
        "requiredInSignUpForm": a.required_in_sign_up_form,
        "includeInIdTokenBody": a.include_in_id_token_body,
        "includeInUserInfo": a.include_in_user_info,
        "unique": a.is_unique,
        "validationRegex": a.validation_regex.as_deref().unwrap_or_default(),
        "validationLocales": stored_texts(&a.validation_locales),
    })
}

/// The fields a request sets (`null`: left as they are), named as in [`record_json`].
fn fields_json(f: &UserAttributeFields) -> Value {
    json!({
        "name": f.name,
        "locales": f.locales.as_deref().map(stored_texts),
        "includeInSignUpForm": f.include_in_sign_up_form,
        "requiredInSignUpForm": f.required_in_sign_up_form,
        "includeInIdTokenBody": f.include_in_id_token_body,
        "includeInUserInfo": f.include_in_user_info,
        "unique": f.is_unique,
        "validationRegex": f.validation_regex,
        "validationLocales": f.validation_locales.as_deref().map(stored_texts),
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
    let fields = fields(input)?;
    let change = Change::created("user_attribute").fields_new(&fields_json(&fields));
    recording(change, store.insert_user_attribute(&fields))
        .await
        .map_err(conflict_as(TAKEN))
}

pub async fn update(
    store: &Store,
    id: i64,
    input: AttributeInput,
) -> Result<UserAttributeRecord, ServiceError> {
    let current = get(store, id).await?;
    let fields = fields(input)?;
    let change = Change::of("user_attribute", id, "updated")
        .fields_set(&record_json(&current), &fields_json(&fields));
    recording(change, store.update_user_attribute(id, &fields))
        .await
        .map_err(conflict_as(TAKEN))?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    // Read first: a delete of several statements records its change even when the attribute
    // is not there.
    let current = get(store, id).await?;
    let change =
        Change::of("user_attribute", id, "deleted").field("name", &current.name, Value::Null);
    if !recording(change, store.delete_user_attribute(id)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::fixture::{self, audit_row, audit_trail};

    fn named(name: &str) -> AttributeInput {
        AttributeInput {
            name: Some(name.into()),
            locales: None,
            include_in_sign_up_form: None,
            required_in_sign_up_form: None,
            include_in_id_token_body: None,
            include_in_user_info: None,
            unique: None,
            validation_regex: None,
            validation_locales: None,
        }
    }

    #[tokio::test]
    async fn attribute_changes_are_recorded_with_what_they_changed() {
        let store = fixture::store().await;
        let created = create(
            &store,
            AttributeInput {
                include_in_user_info: Some(true),
                ..named("team")
            },
        )
        .await
        .unwrap();
        let id = created.id;
        let change = AttributeInput {
            name: None,
            locales: Some(vec![LocaleText {
                locale: "en".into(),
                value: "Team".into(),
            }]),
            include_in_user_info: Some(true),
            unique: Some(true),
            ..named("")
        };
        update(&store, id, change).await.unwrap();
        delete(&store, id).await.unwrap();
        assert_eq!(
            audit_trail(&store).await,
            [
                audit_row(
                    "user_attribute",
                    id,
                    "created",
                    json!({"name": [null, "team"], "includeInUserInfo": [null, true]})
                ),
                audit_row(
                    "user_attribute",
                    id,
                    "updated",
                    json!({"locales": [{}, {"en": "Team"}], "unique": [false, true]})
                ),
                audit_row(
                    "user_attribute",
                    id,
                    "deleted",
                    json!({"name": ["team", null]})
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refused_attribute_changes_record_nothing() {
        let store = fixture::store().await;
        let team = create(&store, named("team")).await.unwrap();
        assert!(create(&store, named("team")).await.is_err());
        let bad_rule = AttributeInput {
            validation_regex: Some("(".into()),
            ..named("other")
        };
        assert!(create(&store, bad_rule).await.is_err());
        assert!(update(&store, 9_999, named("x")).await.is_err());
        assert!(delete(&store, 9_999).await.is_err());
        assert_eq!(
            audit_trail(&store).await,
            [audit_row(
                "user_attribute",
                team.id,
                "created",
                json!({"name": [null, "team"]})
            )]
        );
    }
}
