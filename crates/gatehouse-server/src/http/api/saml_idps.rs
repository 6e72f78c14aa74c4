//! `/api/v1/saml/idps` (root only, with `enable_saml_sso_as_sp`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::{SamlIdpFields, SamlIdpRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::crud_routes;
use super::guard::{Enabled, Guarded, Root, SamlSpFeature};
use super::json::{ApiJson, RecordId};
use super::views::{record_view, views, ErrorBody};
use crate::http::error::ApiError;
use crate::services::saml_idps;
use crate::state::AppState;

record_view! {
    pub struct SamlIdpView from |r: &SamlIdpRecord| {
        id: i64 = r.id,
        name: String = r.name.clone(),
        is_active: bool = r.is_active,
        user_id_attribute: String = r.user_id_attribute.clone(),
        email_attribute: Option<String> = r.email_attribute.clone(),
        first_name_attribute: Option<String> = r.first_name_attribute.clone(),
        last_name_attribute: Option<String> = r.last_name_attribute.clone(),
        /// The identity provider's metadata XML.
        metadata: String = r.metadata.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SamlIdpsBody {
    pub idps: Vec<SamlIdpView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SamlIdpBody {
    pub idp: SamlIdpView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostSamlIdpReq {
    /// 1–50 characters, unique.
    pub name: String,
    /// The assertion attribute holding the user's id.
    pub user_id_attribute: String,
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    /// The identity provider's metadata XML.
    pub metadata: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PutSamlIdpReq {
    pub is_active: Option<bool>,
    pub user_id_attribute: Option<String>,
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    pub metadata: Option<String>,
}

crud_routes! {
    tag "SAML", "/api/v1/saml/idps", "/api/v1/saml/idps/{id}", id "The provider's id",
    read Root ["root"], write Root ["root"], features [SamlSpFeature];

    /// List SAML identity providers. Requires `root`.
    list(state) -> SamlIdpsBody [400, 401] {
        SamlIdpsBody {
            idps: views(&saml_idps::list(&state.store).await?),
        }
    }

    /// Get a SAML identity provider. Requires `root`.
    get(state, id) -> SamlIdpBody [400, 401, 404] {
        SamlIdpBody {
            idp: (&saml_idps::get(&state.store, id).await?).into(),
        }
    }

    /// Add a SAML identity provider. Requires `root`.
    create(state, _caller, body: PostSamlIdpReq) -> SamlIdpBody [400, 401, 409] {
        let fields = SamlIdpFields {
            name: Some(body.name),
            user_id_attribute: Some(body.user_id_attribute),
            email_attribute: body.email_attribute,
            first_name_attribute: body.first_name_attribute,
            last_name_attribute: body.last_name_attribute,
            metadata: Some(body.metadata),
            is_active: None,
        };
        let idp = saml_idps::create(&state.store, fields).await?;
        SamlIdpBody { idp: (&idp).into() }
    }

    /// Update a SAML identity provider. Requires `root`.
    update(state, _caller, id, body: PutSamlIdpReq) -> SamlIdpBody [400, 401, 404] {
        let fields = SamlIdpFields {
            name: None,
            user_id_attribute: body.user_id_attribute,
            email_attribute: body.email_attribute,
            first_name_attribute: body.first_name_attribute,
            last_name_attribute: body.last_name_attribute,
            metadata: body.metadata,
            is_active: body.is_active,
        };
        let idp = saml_idps::update(&state.store, id, fields).await?;
        SamlIdpBody { idp: (&idp).into() }
    }

    /// Remove a SAML identity provider. Requires `root`.
    delete(state, _caller, id) [400, 401, 404] {
        saml_idps::delete(&state.store, id).await?
    }
}
