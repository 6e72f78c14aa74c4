//! SAML identity providers: the list, adding one (name, attribute mapping, metadata XML),
//! switching one on or off, deleting.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::{SamlIdpFields, SamlIdpRecord};
use serde::Deserialize;

use super::auth::{ActiveForm, NoFields};
use super::feature::{FeatureAdmin, FeatureForm};
use super::view::{buttons, render, see_other, Frame, PageResult};
use crate::http::api::SamlSpFeature;
use crate::services::saml_idps;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/saml", get(list).post(create))
        .route("/admin/saml/{id}/active", post(set_active))
        .route("/admin/saml/{id}/delete", post(delete))
}

/// The pages' guard: an admin, with SAML sign-in switched on.
type Saml<T = NoFields> = FeatureForm<SamlSpFeature, T>;

#[derive(Template)]
#[template(path = "admin/saml.html")]
struct SamlPage {
    f: Frame,
    idps: Vec<SamlIdpRecord>,
    /// What an IdP is told about this SP.
    sp_metadata_url: String,
    acs_url: String,
}

async fn list(State(state): State<AppState>, page: FeatureAdmin<SamlSpFeature>) -> PageResult {
    let admin = page.admin;
    let w = admin.words();
    let idps = saml_idps::list(&state.store).await?;
    let f = Frame::new(&admin, "saml", w.saml, "/admin/saml");
    let sp = crate::services::saml_sp::service_provider(&state);
    Ok(render(
        StatusCode::OK,
        &SamlPage {
            f,
            idps,
            sp_metadata_url: sp.entity_id,
            acs_url: sp.acs_url,
        },
    ))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewIdpForm {
    name: String,
    user_id_attribute: String,
    email_attribute: String,
    first_name_attribute: String,
    last_name_attribute: String,
    metadata: String,
}

async fn create(posted: Saml<NewIdpForm>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    let fields = SamlIdpFields {
        name: Some(form.name),
        user_id_attribute: Some(form.user_id_attribute),
        // Blank optional attributes are none (the service's rule, as for the API).
        email_attribute: Some(form.email_attribute),
        first_name_attribute: Some(form.first_name_attribute),
        last_name_attribute: Some(form.last_name_attribute),
        metadata: Some(form.metadata),
        is_active: Some(true),
    };
    saml_idps::create(&state.store, fields).await?;
    Ok(see_other("/admin/saml"))
}

async fn set_active(Path(id): Path<i64>, posted: Saml<ActiveForm>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    let fields = SamlIdpFields {
        is_active: Some(form.is_active()),
        ..SamlIdpFields::default()
    };
    saml_idps::update(&state.store, id, fields).await?;
    Ok(see_other("/admin/saml"))
}

buttons! {
    delete(state, id => i64, _ => Saml) { saml_idps::delete(&state.store, id) } => "/admin/saml";
}
