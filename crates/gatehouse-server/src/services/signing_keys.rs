//! Listing the signing keys with their state, for `gatehouse keys list` and the admin panel.

use chrono::NaiveDateTime;
use gatehouse_core::key_rotation::{self, KeyPlan, KeyTimes, RotationSchedule};
use gatehouse_store::{SigningKeyRecord, SigningKeyStore, Store};

use crate::error::ServiceError;
use crate::keys::key_times;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published on schedule; signs from its activation time.
    Next,
    /// Signs new tokens (the newest active key of its algorithm).
    Signing,
    /// Still published and accepted, until its retirement time.
    Retiring,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
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
    let keys = store.all_signing_keys().await?;
    let now_secs = now.and_utc().timestamp();
    let signing: Vec<i64> = algorithms(&keys)
        .into_iter()
        .filter_map(|algorithm| {
            key_rotation::signing_key(&live_times(&keys, algorithm, now), now_secs).map(|k| k.id)
        })
        .collect();
    Ok(keys
        .into_iter()
        .map(|key| {
            let state = if key.retire_at.is_some_and(|at| at <= now) {
                KeyState::Retired
            } else if key_rotation::is_pending(&key_times(&key), now_secs) {
                KeyState::Next
            } else if signing.contains(&key.id) {
                KeyState::Signing
            } else {
                KeyState::Retiring
            };
            (key, state)
        })
        .collect())
}

/// The algorithms of `keys`, in their order.
fn algorithms(keys: &[SigningKeyRecord]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for key in keys {
        if !names.contains(&key.algorithm.as_str()) {
            names.push(&key.algorithm);
        }
    }
    names
}

/// The schedule's view of the keys of `algorithm` live at `now`.
fn live_times(keys: &[SigningKeyRecord], algorithm: &str, now: NaiveDateTime) -> Vec<KeyTimes> {
    keys.iter()
        .filter(|k| k.algorithm == algorithm && k.retire_at.is_none_or(|at| at > now))
        .map(key_times)
        .collect()
}

/// The rotation schedule of the server's signing algorithm at `now`, as the panel shows it.
pub async fn schedule(
    store: &Store,
    algorithm: &str,
    schedule: RotationSchedule,
    now: NaiveDateTime,
) -> Result<KeyPlan, ServiceError> {
    let keys = store.live_signing_keys(now).await?;
    Ok(key_rotation::plan(
        &live_times(&keys, algorithm, now),
        now.and_utc().timestamp(),
        schedule,
    ))
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
