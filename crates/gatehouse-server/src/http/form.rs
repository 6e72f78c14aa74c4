//! Reading `application/x-www-form-urlencoded` bodies of OAuth endpoints, with every failure
//! answered as an OAuth error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use gatehouse_core::request_headers::is_form_content_type;
use serde::de::DeserializeOwned;

use super::error::OAuthError;

pub struct OAuthForm<T>(pub T);

impl<S, T> FromRequest<S> for OAuthForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_form_content_type);
        if !is_form {
            return Err(OAuthError::InvalidRequest {
                status: StatusCode::BAD_REQUEST,
                description: "The request body must be application/x-www-form-urlencoded".into(),
            });
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let description = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "The request body is too large".to_owned()
            } else {
                "The request body could not be read".to_owned()
            };
            OAuthError::InvalidRequest {
                status,
                description,
            }
        })?;
        serde_urlencoded::from_bytes(&body)
            .map(OAuthForm)
            .map_err(|err| OAuthError::InvalidRequest {
                status: StatusCode::BAD_REQUEST,
                description: format!("The request body is not a valid form: {err}"),
            })
    }
}
