//! The handlers of a resource addressed by a string key in its path (a user's `authId`, a connect
//! app's name), written once: [`keyed_routes!`] gives each its guard, feature switches,
//! extractors, status and OpenAPI annotation, and the module supplies only what differs — the
//! service call that makes the answer, the documented refusals and the doc text.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::json::positive_id;
use crate::http::error::ApiError;

/// The path's segments, read as axum's `Path` reads them. A type of its own, so the OpenAPI
/// annotation takes the parameters from its `params` alone.
pub struct Segments<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = PathRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PathRejection> {
        let Path(segments) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(segments))
    }
}

/// A path segment after the key, as a handler takes it. It is read after the body, as the
/// handlers always have: ids must be positive integers (a 400 naming the segment), names are
/// taken as they are.
pub trait PathSegment: Sized {
    fn parse(raw: String, name: &str) -> Result<Self, ApiError>;
}

impl PathSegment for i64 {
    fn parse(raw: String, name: &str) -> Result<Self, ApiError> {
        positive_id(&raw, name)
    }
}

impl PathSegment for String {
    fn parse(raw: String, _: &str) -> Result<Self, ApiError> {
        Ok(raw)
    }
}

/// Writes handlers whose path starts from one string key.
///
/// The header names the OpenAPI tag, the key's name in the path and its description. Each
/// handler then gives its doc comment; the method, the path, the guard with the scopes it stands
/// for and the feature switches (`+ Feature`) checked after it; the names it binds (the state,
/// the caller, the key, a further path segment `/ name: i64|String "pathName" "description"`,
/// a JSON body `json name: Type`); the status it answers with (200 or 204) and, for a 200, the
/// body type; the error statuses it documents (`ErrorBody`); and a block that evaluates to the body
/// (or to `()` for a 204; `?` answers with the error).
macro_rules! keyed_routes {
    (
        tag $tag:literal, key $key:literal $key_doc:literal;
        $(
            $(#[$meta:meta])*
            $method:ident $path:literal, $guard:ident [$($scope:tt),+] $(+ $feature:ident)*;
            fn $name:ident($state:ident, $caller:ident, $key_var:ident
                $(/ $seg:ident: $seg_ty:ident $seg_name:literal $seg_doc:literal)?
                $(, json $body:ident: $req:ident)?)
            -> $status:tt $($answer:ident)? [$($err:tt),*] $block:block
        )+
    ) => {$(
        $(#[$meta])*
        #[utoipa::path($method, path = $path, tag = $tag, $(request_body = $req,)?
            security(("oauth2" = [$($scope),+])),
            params(($key = String, Path, description = $key_doc)
                $(, ($seg_name = $seg_ty, Path, description = $seg_doc))?),
            responses((status = $status $(, body = $answer)?) $(, (status = $err, body = ErrorBody))*))]
        pub async fn $name(
            guard: Guarded<$guard>,
            $(_: Enabled<$feature>,)*
            State($state): State<AppState>,
            $crate::http::api::keyed::Segments(segments): $crate::http::api::keyed::Segments<[String; 1 $(+ $crate::http::api::keyed::keyed_routes!(@one $seg))?]>,
            $(ApiJson($body): ApiJson<$req>,)?
        ) -> Result<$crate::http::api::keyed::keyed_routes!(@answer_type $($answer)?), ApiError> {
            let $caller = &guard.caller;
            let [$key_var $(, $seg)?] = segments;
            $(let $seg = <$seg_ty as $crate::http::api::keyed::PathSegment>::parse($seg, $seg_name)?;)?
            $crate::http::api::keyed::keyed_routes!(@answer $status $block $($answer)?)
        }
    )+};
    (@one $seg:ident) => { 1 };
    (@answer_type) => { StatusCode };
    (@answer_type $answer:ident) => { Json<$answer> };
    (@answer 204 $block:block) => {{
        $block;
        Ok(StatusCode::NO_CONTENT)
    }};
    (@answer 200 $block:block $answer:ident) => { Ok(Json($block)) };
}

pub(super) use keyed_routes;
