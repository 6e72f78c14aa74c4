//! The service layer's error: what went wrong below HTTP. The HTTP layer maps it once.

use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::{ErrorClass, TokenError};
use gatehouse_store::{CacheError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The client's request was refused by a protocol rule.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A sign-in step was refused.
    #[error(transparent)]
    SignIn(#[from] gatehouse_core::signin::SignInError),
    /// A management request broke a rule.
    #[error(transparent)]
    Rule(#[from] AdminRuleError),
    /// A connect app's settings were refused.
    #[error(transparent)]
    Connect(#[from] gatehouse_core::connect::ConnectError),
    /// A self-registration was refused (RFC 7591).
    #[error(transparent)]
    Registration(#[from] crate::services::registration::RegistrationError),
    /// The named thing does not exist (the message is what clients show).
    #[error("{0}")]
    NotFound(&'static str),
    /// The request conflicts with what exists (a name already taken).
    #[error("{0}")]
    Conflict(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cache: {0}")]
    Cache(#[from] CacheError),
    #[error("{0}")]
    Internal(String),
}

/// Refusals of the token-endpoint family (client assertions, DPoP proofs, pushed requests) are
/// token errors, answered with their RFC codes.
macro_rules! token_refusal {
    ($($error:ty),*) => {$(
        impl From<$error> for ServiceError {
            fn from(err: $error) -> Self {
                ServiceError::Token(err.into())
            }
        }
    )*};
}

token_refusal!(
    gatehouse_core::client_assertion::ClientAssertionError,
    gatehouse_core::dpop::DpopError,
    gatehouse_core::par::ParError,
    gatehouse_core::request_object::RequestObjectError,
    gatehouse_core::fapi::FapiError
);

impl ServiceError {
    /// What kind of failure this is; each HTTP surface maps the class to its status once.
    pub fn class(&self) -> ErrorClass {
        match self {
            ServiceError::Token(err) => err.class(),
            ServiceError::SignIn(err) => err.class(),
            ServiceError::Rule(err) => err.class(),
            ServiceError::Connect(err) => err.class(),
            ServiceError::Registration(err) => err.class(),
            ServiceError::NotFound(_) => ErrorClass::NotFound,
            ServiceError::Conflict(_) => ErrorClass::Conflict,
            // A value that cannot be written as JSON is a bug, not an outage.
            ServiceError::Cache(CacheError::Encode(_)) => ErrorClass::Internal,
            // A unique violation no service turned into a `Conflict` is a race past the
            // service's own check: answered like a store failure (503, `GH-CONFLICT`), so the
            // client retries and the operator finds it in the log.
            ServiceError::Store(_) | ServiceError::Cache(_) => ErrorClass::Unavailable,
            ServiceError::Internal(_) => ErrorClass::Internal,
        }
    }

    /// A short, greppable code for the log line and the response of an internal failure.
    pub fn internal_code(&self) -> &'static str {
        match self {
            ServiceError::Token(_)
            | ServiceError::SignIn(_)
            | ServiceError::Rule(_)
            | ServiceError::Connect(_)
            | ServiceError::Registration(_)
            | ServiceError::NotFound(_)
            | ServiceError::Conflict(_) => "GH-CLIENT",
            ServiceError::Store(StoreError::Conflict(_)) => "GH-CONFLICT",
            ServiceError::Store(_) => "GH-STORE",
            ServiceError::Cache(_) => "GH-CACHE",
            ServiceError::Internal(_) => "GH-INTERNAL",
        }
    }
}

/// Turns a unique-key violation into a clear conflict message.
pub fn conflict_as(message: &str) -> impl FnOnce(gatehouse_store::StoreError) -> ServiceError + '_ {
    move |err| match err {
        gatehouse_store::StoreError::Conflict(_) => ServiceError::Conflict(message.to_owned()),
        other => ServiceError::Store(other),
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::signin::SignInError;

    use super::*;

    #[test]
    fn service_errors_take_the_class_of_what_went_wrong() {
        let cases = [
            (
                ServiceError::from(TokenError::UnknownClient),
                ErrorClass::Unauthenticated,
            ),
            (
                ServiceError::from(TokenError::InvalidAuthCode),
                ErrorClass::Invalid,
            ),
            (
                ServiceError::from(SignInError::NoUserFound),
                ErrorClass::NotFound,
            ),
            (
                ServiceError::from(SignInError::CsrfMismatch),
                ErrorClass::Forbidden,
            ),
            (
                ServiceError::from(SignInError::ProviderUnavailable("corp".into())),
                ErrorClass::Upstream,
            ),
            (
                ServiceError::from(AdminRuleError::NotAnImpersonator),
                ErrorClass::Unauthenticated,
            ),
            (
                ServiceError::from(AdminRuleError::RootScopeNeedsRoot),
                ErrorClass::Invalid,
            ),
            (
                ServiceError::from(gatehouse_core::connect::ConnectError::BadName),
                ErrorClass::Invalid,
            ),
            (ServiceError::NotFound("No app found"), ErrorClass::NotFound),
            (ServiceError::Conflict("taken".into()), ErrorClass::Conflict),
            (
                ServiceError::Store(StoreError::Conflict("unique".into())),
                ErrorClass::Unavailable,
            ),
            (
                ServiceError::Store(StoreError::Corrupt("row".into())),
                ErrorClass::Unavailable,
            ),
            (
                ServiceError::Cache(CacheError::InvalidUrl("x".into())),
                ErrorClass::Unavailable,
            ),
            (
                ServiceError::Cache(CacheError::Timeout(std::time::Duration::from_secs(1))),
                ErrorClass::Unavailable,
            ),
            (ServiceError::Internal("bug".into()), ErrorClass::Internal),
            (
                ServiceError::Cache(CacheError::Encode(
                    serde_json::from_str::<u8>("x").unwrap_err(),
                )),
                ErrorClass::Internal,
            ),
        ];
        for (err, class) in cases {
            assert_eq!(err.class(), class, "{err:?}");
        }
    }
}
