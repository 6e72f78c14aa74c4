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
            return Err(ApiError::Unauthorized(format!(
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
}
