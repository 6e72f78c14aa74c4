//! The one place errors become HTTP responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::error::OAuthErrorCode;
use gatehouse_core::TokenError;
use serde_json::json;

use crate::error::ServiceError;

/// An error from an OAuth endpoint: RFC 6749 §5.2 JSON, Melody's message as the description.
#[derive(Debug)]
pub enum OAuthError {
    Token(TokenError),
    /// The request could not be read at all (wrong content type, bad encoding, too large).
    BadRequest {
        status: StatusCode,
        description: String,
    },
    Internal(ServiceError),
}

impl From<TokenError> for OAuthError {
    fn from(err: TokenError) -> Self {
        OAuthError::Token(err)
    }
}

impl From<ServiceError> for OAuthError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Token(err) => OAuthError::Token(err),
            ServiceError::SignIn(err) => OAuthError::BadRequest {
                status: StatusCode::BAD_REQUEST,
                description: err.to_string(),
            },
            other => OAuthError::Internal(other),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            OAuthError::Token(err) => (
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST),
                err.code().as_str(),
                err.to_string(),
            ),
            OAuthError::BadRequest {
                status,
                description,
            } => (status, OAuthErrorCode::InvalidRequest.as_str(), description),
            OAuthError::Internal(err) => return internal_error(&err),
        };
        let mut response = (
            status,
            [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            axum::Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gatehouse\""),
            );
        }
        response
    }
}

/// An error from the JSON APIs (`/info`, `/api/v1`): `{error, error_description}` with the
/// human message clients show.
#[derive(Debug)]
pub enum ApiError {
    /// No usable bearer token, or a token without the required scope.
    Unauthorized(String),
    BadRequest(String),
    NotFound(String),
    Conflict(String),
    Internal(ServiceError),
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Rule(rule) if rule.status() == 401 => {
                ApiError::Unauthorized(rule.to_string())
            }
            ServiceError::Rule(rule) => ApiError::BadRequest(rule.to_string()),
            ServiceError::Connect(err) => ApiError::BadRequest(err.to_string()),
            ServiceError::Token(token) => ApiError::BadRequest(token.to_string()),
            ServiceError::SignIn(err) => match err.status() {
                404 => ApiError::NotFound(err.to_string()),
                _ => ApiError::BadRequest(err.to_string()),
            },
            ServiceError::NotFound(message) => ApiError::NotFound(message.to_owned()),
            ServiceError::Conflict(message) => ApiError::Conflict(message),
            // Listed, not a wildcard: a new kind of refusal must be given its status here.
            other @ (ServiceError::Store(_)
            | ServiceError::Cache(_)
            | ServiceError::Internal(_)) => ApiError::Internal(other),
        }
    }
}

fn api_error_body(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "error_description": message })),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized(message) => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({ "error": "unauthorized", "error_description": message })),
                )
                    .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"gatehouse\", error=\"invalid_token\""),
                );
                response
            }
            ApiError::BadRequest(message) => {
                api_error_body(StatusCode::BAD_REQUEST, "bad_request", message)
            }
            ApiError::NotFound(message) => {
                api_error_body(StatusCode::NOT_FOUND, "not_found", message)
            }
            ApiError::Conflict(message) => {
                api_error_body(StatusCode::CONFLICT, "conflict", message)
            }
            ApiError::Internal(err) => internal_error(&err),
        }
    }
}

/// Logs the cause with a greppable code and answers 500 (or 503 when a backing service is
/// down) without internals.
fn internal_error(err: &ServiceError) -> Response {
    let code = err.internal_code();
    tracing::error!(code, error = %err, "request failed");
    let status = match err {
        ServiceError::Store(_) | ServiceError::Cache(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        axum::Json(json!({
            "error": "server_error",
            "error_description": format!("The server could not complete the request ({code}). Try again later."),
        })),
    )
        .into_response()
}

/// An internal failure on a page: logged with its code, shown without internals.
pub fn page_internal_error(
    config: &crate::config::Config,
    locale: &str,
    err: &ServiceError,
) -> Response {
    let code = err.internal_code();
    tracing::error!(code, error = %err, "page request failed");
    let status = match err {
        ServiceError::Store(_) | ServiceError::Cache(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    super::identity::pages::message(
        config,
        locale,
        status,
        "Server error",
        &format!("The server could not complete the request ({code}). Try again later."),
    )
}
