//! The service layer's error: what went wrong below HTTP. The HTTP layer maps it once.

use gatehouse_core::TokenError;
use gatehouse_store::{CacheError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The client's request was refused by a protocol rule.
    #[error(transparent)]
    Token(#[from] TokenError),
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
            ServiceError::Token(_) => "GH-CLIENT",
            ServiceError::Store(StoreError::Conflict(_)) => "GH-CONFLICT",
            ServiceError::Store(_) => "GH-STORE",
            ServiceError::Cache(_) => "GH-CACHE",
            ServiceError::Internal(_) => "GH-INTERNAL",
        }
    }
}
