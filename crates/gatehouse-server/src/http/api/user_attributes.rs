//! `/api/v1/user-attributes` (with `enable_user_attribute`): reading needs `read_user`, every
//! change needs `root`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::{format_timestamp, UserAttributeRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::guard::{Enabled, Guarded, ReadUser, Root, UserAttributeFeature};
use super::json::{ApiJson, RecordId};
use super::views::{ErrorBody, LocaleText};
use crate::http::error::ApiError;
use crate::services::user_attributes::{self, locale_pairs, AttributeInput};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct LocaleTextView {
    pub locale: String,
    pub value: String,
}

fn texts(stored: &str) -> Vec<LocaleTextView> {
    locale_pairs(stored)
        .into_iter()
        .map(|(locale, value)| LocaleTextView { locale, value })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAttributeView {
    pub id: i64,
    pub name: String,
    pub locales: Vec<LocaleTextView>,
    pub include_in_sign_up_form: bool,
    pub required_in_sign_up_form: bool,
    pub include_in_id_token_body: bool,
    pub include_in_user_info: bool,
    pub unique: bool,
    /// Empty when values are not checked.
    pub validation_regex: String,
    pub validation_locales: Vec<LocaleTextView>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<&UserAttributeRecord> for UserAttributeView {
    fn from(r: &UserAttributeRecord) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            locales: texts(&r.locales),
            include_in_sign_up_form: r.include_in_sign_up_form,
            required_in_sign_up_form: r.required_in_sign_up_form,
            include_in_id_token_body: r.include_in_id_token_body,
            include_in_user_info: r.include_in_user_info,
            unique: r.is_unique,
            validation_regex: r.validation_regex.clone().unwrap_or_default(),
            validation_locales: texts(&r.validation_locales),
            created_at: format_timestamp(&r.created_at),
            updated_at: format_timestamp(&r.updated_at),
            deleted_at: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAttributesBody {
    pub user_attributes: Vec<UserAttributeView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAttributeBody {
    pub user_attribute: UserAttributeView,
}

/// Fields of an attribute; all optional on update, `name` required on create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAttributeReq {
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

impl From<UserAttributeReq> for AttributeInput {
    fn from(b: UserAttributeReq) -> Self {
        let pairs = |v: Option<Vec<LocaleText>>| {
            v.map(|l| l.into_iter().map(|t| (t.locale, t.value)).collect())
        };
        AttributeInput {
            name: b.name,
            locales: pairs(b.locales),
            include_in_sign_up_form: b.include_in_sign_up_form,
            required_in_sign_up_form: b.required_in_sign_up_form,
            include_in_id_token_body: b.include_in_id_token_body,
            include_in_user_info: b.include_in_user_info,
            unique: b.unique,
            validation_regex: b.validation_regex,
            validation_locales: pairs(b.validation_locales),
        }
    }
}

/// List user attributes. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/user-attributes", tag = "User attributes", security(("oauth2" = ["read_user"])),
    responses((status = 200, body = UserAttributesBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadUser>,
    _: Enabled<UserAttributeFeature>,
    State(state): State<AppState>,
) -> Result<Json<UserAttributesBody>, ApiError> {
    let all = user_attributes::list(&state.store).await?;
    Ok(Json(UserAttributesBody {
        user_attributes: all.iter().map(Into::into).collect(),
    }))
}

/// Get a user attribute. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/user-attributes/{id}", tag = "User attributes", security(("oauth2" = ["read_user"])),
    params(("id" = i64, Path, description = "The attribute's id")),
    responses((status = 200, body = UserAttributeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Guarded<ReadUser>,
    _: Enabled<UserAttributeFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<UserAttributeBody>, ApiError> {
    Ok(Json(UserAttributeBody {
        user_attribute: (&user_attributes::get(&state.store, id).await?).into(),
    }))
}

/// Create a user attribute. Requires `root`.
#[utoipa::path(post, path = "/api/v1/user-attributes", tag = "User attributes", request_body = UserAttributeReq, security(("oauth2" = ["root"])),
    responses((status = 201, body = UserAttributeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    _: Guarded<Root>,
    _: Enabled<UserAttributeFeature>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserAttributeReq>,
) -> Result<(StatusCode, Json<UserAttributeBody>), ApiError> {
    let created = user_attributes::create(&state.store, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserAttributeBody {
            user_attribute: (&created).into(),
        }),
    ))
}

/// Update a user attribute. Requires `root`.
#[utoipa::path(put, path = "/api/v1/user-attributes/{id}", tag = "User attributes", request_body = UserAttributeReq, security(("oauth2" = ["root"])),
    params(("id" = i64, Path, description = "The attribute's id")),
    responses((status = 200, body = UserAttributeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    _: Guarded<Root>,
    _: Enabled<UserAttributeFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<UserAttributeReq>,
) -> Result<Json<UserAttributeBody>, ApiError> {
    let updated = user_attributes::update(&state.store, id, body.into()).await?;
    Ok(Json(UserAttributeBody {
        user_attribute: (&updated).into(),
    }))
}

/// Delete a user attribute and its values. Requires `root`.
#[utoipa::path(delete, path = "/api/v1/user-attributes/{id}", tag = "User attributes", security(("oauth2" = ["root"])),
    params(("id" = i64, Path, description = "The attribute's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    _: Guarded<Root>,
    _: Enabled<UserAttributeFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    user_attributes::delete(&state.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
