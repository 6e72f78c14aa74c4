//! `/api/v1/user-attributes` (with `enable_user_attribute`): reading needs `read_user`, every
//! change needs `root`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::UserAttributeRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::crud::crud_routes;
use super::guard::{Enabled, Guarded, ReadUser, Root, UserAttributeFeature};
use super::json::{ApiJson, RecordId};
use super::views::{locale_texts, record_view, views, ErrorBody, LocaleText};
use crate::http::error::ApiError;
use crate::services::user_attributes::{self, AttributeInput};
use crate::state::AppState;

record_view! {
    pub struct UserAttributeView from |r: &UserAttributeRecord| {
        id: i64 = r.id,
        name: String = r.name.clone(),
        locales: Vec<LocaleText> = locale_texts(&r.locales),
        include_in_sign_up_form: bool = r.include_in_sign_up_form,
        required_in_sign_up_form: bool = r.required_in_sign_up_form,
        include_in_id_token_body: bool = r.include_in_id_token_body,
        include_in_user_info: bool = r.include_in_user_info,
        unique: bool = r.is_unique,
        /// Empty when values are not checked.
        validation_regex: String = r.validation_regex.clone().unwrap_or_default(),
        validation_locales: Vec<LocaleText> = locale_texts(&r.validation_locales),
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

crud_routes! {
    tag "User attributes", "/api/v1/user-attributes", "/api/v1/user-attributes/{id}",
    id "The attribute's id",
    read ReadUser ["read_user"], write Root ["root"], features [UserAttributeFeature];

    /// List user attributes. Requires `read_user`.
    list(state) -> UserAttributesBody [400, 401] {
        UserAttributesBody {
            user_attributes: views(&user_attributes::list(&state.store).await?),
        }
    }

    /// Get a user attribute. Requires `read_user`.
    get(state, id) -> UserAttributeBody [400, 401, 404] {
        UserAttributeBody {
            user_attribute: (&user_attributes::get(&state.store, id).await?).into(),
        }
    }

    /// Create a user attribute. Requires `root`.
    create(state, _caller, body: AttributeInput) -> UserAttributeBody [400, 401, 409] {
        UserAttributeBody {
            user_attribute: (&user_attributes::create(&state.store, body).await?).into(),
        }
    }

    /// Update a user attribute. Requires `root`.
    update(state, _caller, id, body: AttributeInput) -> UserAttributeBody [400, 401, 404, 409] {
        let updated = user_attributes::update(&state.store, id, body).await?;
        UserAttributeBody {
            user_attribute: (&updated).into(),
        }
    }

    /// Delete a user attribute and its values. Requires `root`.
    delete(state, _caller, id) [400, 401, 404] {
        user_attributes::delete(&state.store, id).await?
    }
}
