//! Custom user attributes: the list, creating one (sign-up form, token and userinfo switches,
//! uniqueness, a validation pattern), deleting.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::UserAttributeRecord;
use serde::Deserialize;

use super::auth::NoFields;
use super::feature::{FeatureAdmin, FeatureForm};
use super::view::{buttons, render, see_other, Frame, PageResult};
use crate::http::api::UserAttributeFeature;
use crate::services::user_attributes::{self, AttributeInput};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/attributes", get(list).post(create))
        .route("/admin/attributes/{id}/delete", post(delete))
}

/// The pages' guard: an admin, with user attributes switched on.
type Attributes<T = NoFields> = FeatureForm<UserAttributeFeature, T>;

#[derive(Template)]
#[template(path = "admin/attributes.html")]
struct AttributesPage {
    f: Frame,
    attributes: Vec<UserAttributeRecord>,
}

async fn list(
    State(state): State<AppState>,
    page: FeatureAdmin<UserAttributeFeature>,
) -> PageResult {
    let admin = page.admin;
    let w = admin.words();
    let attributes = user_attributes::list(&state.store).await?;
    let f = Frame::new(&admin, "attributes", w.attributes, "/admin/attributes");
    Ok(render(StatusCode::OK, &AttributesPage { f, attributes }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewAttributeForm {
    name: String,
    validation_regex: String,
    include_in_sign_up_form: Option<String>,
    required_in_sign_up_form: Option<String>,
    include_in_id_token_body: Option<String>,
    include_in_user_info: Option<String>,
    unique: Option<String>,
}

async fn create(posted: Attributes<NewAttributeForm>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    let regex = form.validation_regex.trim();
    let input = AttributeInput {
        name: Some(form.name),
        locales: None,
        include_in_sign_up_form: Some(form.include_in_sign_up_form.is_some()),
        required_in_sign_up_form: Some(form.required_in_sign_up_form.is_some()),
        include_in_id_token_body: Some(form.include_in_id_token_body.is_some()),
        include_in_user_info: Some(form.include_in_user_info.is_some()),
        unique: Some(form.unique.is_some()),
        validation_regex: (!regex.is_empty()).then(|| regex.to_owned()),
        validation_locales: None,
    };
    user_attributes::create(&state.store, input).await?;
    Ok(see_other("/admin/attributes"))
}

buttons! {
    delete(state, id => i64, _ => Attributes) {
        user_attributes::delete(&state.store, id)
    } => "/admin/attributes";
}
