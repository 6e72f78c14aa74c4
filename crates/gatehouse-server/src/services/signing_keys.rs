//! Listing the signing keys with their state, for `gatehouse keys list` and the admin panel.

use chrono::NaiveDateTime;
use gatehouse_store::{SigningKeyRecord, SigningKeyStore, Store};

use crate::error::ServiceError;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new tokens (the newest key without a retirement time).
    Signing,
    /// Still published and accepted, until its retirement time.
    Retiring,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signing => "signing",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }
}

/// Every key, newest first as the store lists them, with its state at `now`.
pub async fn list(
    store: &Store,
    now: NaiveDateTime,
) -> Result<Vec<(SigningKeyRecord, KeyState)>, ServiceError> {
    let mut signing_seen = false;
    Ok(store
        .all_signing_keys()
        .await?
        .into_iter()
        .map(|key| {
            let state = match key.retire_at {
                Some(at) if at <= now => KeyState::Retired,
                Some(_) => KeyState::Retiring,
                None if !signing_seen => {
                    signing_seen = true;
                    KeyState::Signing
                }
                None => KeyState::Retiring,
            };
            (key, state)
        })
        .collect())
}

/// A setting naming the algorithm an app's or an API's tokens are signed with: one of the
/// algorithms the server can sign with (a key is made for it now if none is live), or an empty
/// string for the server's own. `None` leaves it unchanged.
pub async fn algorithm_setting(
    state: &crate::state::AppState,
    field: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ServiceError> {
    let value = match value {
        Some(value) if !value.is_empty() => value,
        unchanged_or_cleared => return Ok(unchanged_or_cleared),
    };
    let algorithm = crate::crypto::Algorithm::parse(&value).ok_or(
        gatehouse_core::admin::AdminRuleError::OneOf {
            field,
            allowed: "RS256, ES256, EdDSA",
        },
    )?;
    state.keys.ensure(algorithm).await?;
    Ok(Some(value))
}
