//! Pushed authorization requests (RFC 9126): a checked request kept in the shared cache under
//! the hash of its `request_uri`, for `pushed_authorization_request_expires_in` seconds, and
//! taken (read and deleted at once) by the authorization endpoint, so it is used once.

use std::time::Duration;

use gatehouse_core::par::{self, Pairs, ParError, REQUEST_URI_PREFIX};

use crate::crypto::{random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

fn cache_key(reference: &str) -> String {
    format!("PR-{}", sha256_hex(reference.as_bytes()))
}

/// Keeps a checked request; returns its `request_uri` and how long it is good for.
pub async fn push(state: &AppState, request: &Pairs) -> Result<(String, u64), ServiceError> {
    let reference = random_token::<32>();
    let lifetime = state.config.pushed_authorization_request_expires_in;
    state
        .cache
        .set_json(
            &cache_key(&reference),
            request,
            Duration::from_secs(lifetime),
        )
        .await?;
    Ok((format!("{REQUEST_URI_PREFIX}{reference}"), lifetime))
}

/// The parameters the authorization endpoint goes on with: `query` itself, or, when it names a
/// `request_uri`, the pushed request (taken, so a second use finds nothing).
pub async fn resolve(state: &AppState, query: Pairs) -> Result<Pairs, ServiceError> {
    let Some((_, request_uri)) = query.iter().find(|(name, _)| name == "request_uri") else {
        return Ok(query);
    };
    let reference = par::reference(request_uri).ok_or(ParError::UnknownRequestUri)?;
    let stored = state
        .cache
        .take(&cache_key(reference))
        .await?
        .ok_or(ParError::UnknownRequestUri)?;
    let pushed: Pairs = serde_json::from_str(&stored).map_err(|_| ParError::UnknownRequestUri)?;
    Ok(par::take_pushed(&query, pushed)?)
}
