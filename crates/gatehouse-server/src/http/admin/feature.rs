//! Panel pages of a feature the configuration can switch off (organizations, app banners, user
//! attributes, SAML): the extractors here let a handler in only when the feature is on; when it
//! is off the admin gets a page saying so (with the S2S API's message) instead of forms that
//! fail. The check runs once the admin is known and, for a form, once its CSRF token is checked.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::auth::{AdminForm, AdminUser};
use super::i18n::Words;
use super::view::{feature_on, PageError};
use crate::http::api::{
    AppBannerFeature, FeatureFlag, OrgFeature, SamlSpFeature, UserAttributeFeature,
};
use crate::state::AppState;

/// A switchable feature as the panel names it.
pub trait PanelFeature: FeatureFlag {
    /// The title of the page that says the feature is off.
    fn title(w: &Words) -> &'static str;
}

/// Each switchable feature's page title.
macro_rules! panel_features {
    ($($feature:ident => $title:ident),* $(,)?) => {$(
        impl PanelFeature for $feature {
            fn title(w: &Words) -> &'static str {
                w.$title
            }
        }
    )*};
}

panel_features! {
    OrgFeature => orgs,
    AppBannerFeature => banners,
    UserAttributeFeature => attributes,
    SamlSpFeature => saml,
}

fn check<F: PanelFeature>(state: &AppState, admin: &AdminUser) -> Result<(), PageError> {
    feature_on(F::enabled(&state.config), admin, F::title, F::MESSAGE)
}

/// A signed-in admin on a page of feature `F`, which is on.
pub struct FeatureAdmin<F> {
    pub admin: AdminUser,
    feature: PhantomData<F>,
}

impl<F: PanelFeature> FromRequestParts<AppState> for FeatureAdmin<F> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let admin = AdminUser::from_request_parts(parts, state).await?;
        check::<F>(state, &admin).map_err(IntoResponse::into_response)?;
        Ok(Self {
            admin,
            feature: PhantomData,
        })
    }
}

/// A CSRF-checked form posted to feature `F`, which is on, with the state to handle it.
pub struct FeatureForm<F, T> {
    pub state: AppState,
    pub form: T,
    feature: PhantomData<F>,
}

impl<F: PanelFeature, T: DeserializeOwned + Send> FromRequest<AppState> for FeatureForm<F, T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let AdminForm { state, admin, form } = AdminForm::<T>::from_request(request, state).await?;
        check::<F>(&state, &admin).map_err(IntoResponse::into_response)?;
        Ok(Self {
            state,
            form,
            feature: PhantomData,
        })
    }
}
