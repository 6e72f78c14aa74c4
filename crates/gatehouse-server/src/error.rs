//! The service layer's error: what went wrong below HTTP. The HTTP layer maps it once.

use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::TokenError;
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

impl ServiceError {
    /// A short, greppable code for the log line and the response of an internal failure.
    pub fn internal_code(&self) -> &'static str {
        match self {
            ServiceError::Token(_)
            | ServiceError::SignIn(_)
            | ServiceError::Rule(_)
            | ServiceError::Connect(_)
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
