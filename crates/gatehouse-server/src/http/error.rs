//! The one place errors become HTTP responses. [`status_of`] is the only mapping of an
//! [`ErrorClass`] to a status; every surface uses it: RFC 6749 JSON ([`OAuthError`]), the JSON
//! APIs ([`ApiError`]), the sign-in pages and the admin panel.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::dpop::DpopError;
use gatehouse_core::error::OAuthErrorCode;
use gatehouse_core::{ErrorClass, TokenError};
use serde_json::json;

use crate::error::ServiceError;

/// The HTTP status of each class of error.
pub fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::Invalid => StatusCode::BAD_REQUEST,
        ErrorClass::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Upstream => StatusCode::BAD_GATEWAY,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error from an OAuth endpoint: RFC 6749 §5.2 JSON, Melody's message as the description.
#[derive(Debug)]
pub enum OAuthError {
    Token(TokenError),
    /// The request could not be read at all (wrong content type, bad encoding, too large), or
    /// was refused for a reason RFC 6749 has no code of its own for.
    InvalidRequest {
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
            other if other.class().is_server_fault() => OAuthError::Internal(other),
            other => OAuthError::InvalidRequest {
                status: status_of(other.class()),
                description: other.to_string(),
            },
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            OAuthError::Token(err) => {
                (status_of(err.class()), err.code().as_str(), err.to_string())
            }
            OAuthError::InvalidRequest {
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

/// An error from the JSON APIs (`/info`, `/api/v1`, the embedded auth API): `{error,
/// error_description}` with the human message clients show. The class gives the status and the
/// `error` code.
#[derive(Debug)]
pub enum ApiError {
    Refused {
        class: ErrorClass,
        message: String,
    },
    /// A DPoP-bound token without a proof that holds (RFC 9449 §7.1): 401 with the `DPoP`
    /// challenge, and the nonce to use when that is what was missing.
    Dpop {
        error: DpopError,
        nonce: Option<String>,
    },
    Internal(ServiceError),
}

impl ApiError {
    /// No usable bearer token, or a token without the required scope.
    pub fn unauthorized(message: String) -> Self {
        Self::refused(ErrorClass::Unauthenticated, message)
    }

    pub fn bad_request(message: String) -> Self {
        Self::refused(ErrorClass::Invalid, message)
    }

    pub fn not_found(message: String) -> Self {
        Self::refused(ErrorClass::NotFound, message)
    }

    pub fn refused(class: ErrorClass, message: String) -> Self {
        ApiError::Refused { class, message }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        if let ServiceError::Token(TokenError::Dpop(error)) = err {
            return ApiError::Dpop { error, nonce: None };
        }
        let class = err.class();
        if class.is_server_fault() {
            return ApiError::Internal(err);
        }
        ApiError::refused(class, err.to_string())
    }
}

/// The `error` code of the JSON APIs for each class.
pub fn api_error_code(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Invalid => "bad_request",
        ErrorClass::Unauthenticated => "unauthorized",
        ErrorClass::Forbidden => "forbidden",
        ErrorClass::NotFound => "not_found",
        ErrorClass::Conflict => "conflict",
        ErrorClass::Upstream => "bad_gateway",
        ErrorClass::Unavailable | ErrorClass::Internal => "server_error",
    }
}

/// The message of a refusal, kept beside its JSON body for callers that want the text alone
/// (`api::text_errors`).
#[derive(Clone)]
pub struct RefusalMessage(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (class, message) = match self {
            ApiError::Refused { class, message } => (class, message),
            ApiError::Dpop { error, nonce } => return dpop_challenge(&error, nonce.as_deref()),
            ApiError::Internal(err) => return internal_error(&err),
        };
        let mut response = (
            status_of(class),
            axum::Json(json!({ "error": api_error_code(class), "error_description": message })),
        )
            .into_response();
        response.extensions_mut().insert(RefusalMessage(message));
        if class == ErrorClass::Unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// The answer of a resource to a DPoP failure (RFC 9449 §7.1): the `DPoP` challenge with the
/// error code, and the nonce when one is wanted.
pub fn dpop_challenge(error: &DpopError, nonce: Option<&str>) -> Response {
    let code = match error {
        DpopError::UseNonce => "use_dpop_nonce",
        DpopError::BoundTokenAsBearer | DpopError::NotBound | DpopError::WrongKey => {
            "invalid_token"
        }
        _ => "invalid_dpop_proof",
    };
    let description = error.to_string();
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response();
    let challenge = format!(
        "DPoP algs=\"RS256 PS256 ES256 EdDSA\", error=\"{code}\", error_description=\"{description}\""
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(n).ok()) {
        headers.insert(crate::services::dpop::DPOP_NONCE, value);
        let exposed = HeaderValue::from_static("DPoP-Nonce, WWW-Authenticate");
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
    }
    response
}

/// Logs the cause with a greppable code and answers 500 (or 503 when a backing service is
/// down) without internals.
fn internal_error(err: &ServiceError) -> Response {
    let code = err.internal_code();
    tracing::error!(code, error = %err, "request failed");
    let status = status_of(err.class());
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
    let status = status_of(err.class());
    // A backing service that is away is not the server's fault: say it will pass.
    let title = if status == StatusCode::SERVICE_UNAVAILABLE {
        "Temporarily unavailable"
    } else {
        "Server error"
    };
    super::identity::pages::message(
        config,
        locale,
        status,
        title,
        &format!("The server could not complete the request ({code}). Try again later."),
    )
}

#[cfg(test)]
mod tests {
    use gatehouse_core::admin::AdminRuleError;
    use gatehouse_core::signin::SignInError;

    use super::*;

    #[test]
    fn each_class_has_its_status_and_api_code() {
        let table = [
            (ErrorClass::Invalid, 400, "bad_request"),
            (ErrorClass::Unauthenticated, 401, "unauthorized"),
            (ErrorClass::Forbidden, 403, "forbidden"),
            (ErrorClass::NotFound, 404, "not_found"),
            (ErrorClass::Conflict, 409, "conflict"),
            (ErrorClass::Upstream, 502, "bad_gateway"),
            (ErrorClass::Unavailable, 503, "server_error"),
            (ErrorClass::Internal, 500, "server_error"),
        ];
        for (class, status, code) in table {
            assert_eq!(
                (status_of(class).as_u16(), api_error_code(class)),
                (status, code),
                "{class:?}"
            );
        }
    }

    /// Refusals whose status the API and the token endpoint once gave differently.
    fn refusals() -> Vec<ServiceError> {
        vec![
            SignInError::NoUserFound.into(),
            SignInError::CsrfMismatch.into(),
            SignInError::ProviderUnavailable("corp".into()).into(),
            AdminRuleError::NotAnImpersonator.into(),
            ServiceError::NotFound("No app found"),
        ]
    }

    #[test]
    fn a_refusal_answers_the_same_status_from_the_api_and_the_token_endpoint() {
        for (api, oauth) in refusals().into_iter().zip(refusals()) {
            let expected = status_of(api.class());
            let api = ApiError::from(api).into_response().status();
            let oauth = OAuthError::from(oauth).into_response().status();
            assert_eq!((api, oauth), (expected, expected));
        }
    }

    #[test]
    fn a_store_failure_is_a_503() {
        let err = ServiceError::Store(gatehouse_store::StoreError::Corrupt("secret row".into()));
        let response = ApiError::from(err).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
