//! Scope guards for `/api/v1`: a handler names what it needs with a type, so a route without its
//! guard does not compile. A caller holding `root` passes every guard.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use gatehouse_core::scope::satisfies;

use crate::http::auth::S2sCaller;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The scopes a guard demands (all of them).
pub trait Requirement: Send + Sync {
    const SCOPES: &'static [&'static str];
}

/// An S2S caller that holds every scope of `R` (or `root`).
pub struct Guarded<R: Requirement> {
    pub caller: S2sCaller,
    requirement: PhantomData<R>,
}

impl<R: Requirement> FromRequestParts<AppState> for Guarded<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = S2sCaller::from_request_parts(parts, state).await?;
        if let Some(missing) = R::SCOPES.iter().find(|s| !satisfies(&caller.scopes, s)) {
            return Err(ApiError::unauthorized(format!(
                "Insufficient scope: this operation requires {missing}"
            )));
        }
        Ok(Self {
            caller,
            requirement: PhantomData,
        })
    }
}

macro_rules! requirements {
    ($($name:ident => [$($scope:literal),+];)*) => {
        $(
            pub struct $name;
            impl Requirement for $name {
                const SCOPES: &'static [&'static str] = &[$($scope),+];
            }
        )*
    };
}

requirements! {
    ReadScope => ["read_scope"];
    WriteScope => ["write_scope"];
    ReadRole => ["read_role"];
    WriteRole => ["write_role"];
    ReadUserAndRole => ["read_user", "read_role"];
    ReadApp => ["read_app"];
    WriteApp => ["write_app"];
    ReadUser => ["read_user"];
    WriteUser => ["write_user"];
    ReadOrg => ["read_org"];
    WriteOrg => ["write_org"];
    ReadOrgAndUser => ["read_org", "read_user"];
    WriteOrgAndUser => ["write_org", "write_user"];
    ReadWebhooks => ["read_webhooks"];
    WriteWebhooks => ["write_webhooks"];
    Root => ["root"];
}

/// Feature-gated routes answer 400 with the configuration error's text when the feature is off
/// (checked after the scope guard, as the guard runs first).
pub fn feature(enabled: bool, message: &'static str) -> Result<(), ApiError> {
    if enabled {
        Ok(())
    } else {
        Err(ApiError::bad_request(message.to_owned()))
    }
}

/// A switch of the configuration that turns a group of routes on.
pub trait FeatureFlag: Send + Sync {
    const MESSAGE: &'static str;
    fn enabled(config: &crate::config::Config) -> bool;
}

/// Present only when the feature `F` is on. Handlers list it right after their scope guard, so
/// the check runs before the body is read.
pub struct Enabled<F: FeatureFlag>(PhantomData<F>);

impl<F: FeatureFlag> FromRequestParts<AppState> for Enabled<F> {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        feature(F::enabled(&state.config), F::MESSAGE)?;
        Ok(Self(PhantomData))
    }
}

/// Each switch: its name, the configuration field that turns it on, and the refusal when off.
macro_rules! feature_flags {
    ($($(#[$meta:meta])* $name:ident => $field:ident, $message:ident;)*) => {$(
        $(#[$meta])*
        pub struct $name;
        impl FeatureFlag for $name {
            const MESSAGE: &'static str = $message;
            fn enabled(config: &crate::config::Config) -> bool {
                config.$field
            }
        }
    )*};
}

feature_flags! {
    OrgFeature => enable_org, ORG_NOT_ENABLED;
    /// Organization groups need organizations too; the first missing switch is reported.
    OrgGroupFeature => enable_org_group, ORG_GROUP_NOT_ENABLED;
    AppBannerFeature => enable_app_banner, APP_BANNER_NOT_ENABLED;
    SamlSpFeature => enable_saml_sso_as_sp, SAML_SP_NOT_ENABLED;
    UserAttributeFeature => enable_user_attribute, USER_ATTRIBUTE_NOT_ENABLED;
}

pub const ORG_NOT_ENABLED: &str = "Organization is not enabled";
pub const ORG_GROUP_NOT_ENABLED: &str = "Organization group is not enabled";
pub const APP_BANNER_NOT_ENABLED: &str = "App banner is not enabled";
pub const USER_ATTRIBUTE_NOT_ENABLED: &str = "User attribute is not enabled";
pub const SAML_SP_NOT_ENABLED: &str = "SAML SP feature is not enabled";
