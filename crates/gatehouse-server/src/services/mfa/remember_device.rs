//! The remember-device cookie: a device that passed a factor skips it for a while.

use std::time::Duration;

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::MfaType;
use serde::{Deserialize, Serialize};

use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

/// The remember-device cookie: `<device id>.<secret>`.
pub const DEVICE_COOKIE: &str = "gh_device";

/// What a remember-device entry holds: the secret's hash and the factors it skips.
#[derive(Serialize, Deserialize)]
struct Remembered {
    secret_hash: String,
    types: Vec<MfaType>,
}

fn device_key(user_id: UserId, device_id: &str) -> String {
    format!("MRD-{user_id}-{device_id}")
}

/// The factors this device may skip for `user_id`.
pub async fn remembered(
    state: &AppState,
    user_id: UserId,
    cookie: Option<&str>,
) -> Result<Vec<MfaType>, ServiceError> {
    if !state.config.enable_mfa_remember_device {
        return Ok(Vec::new());
    }
    let Some((device_id, secret)) = cookie.and_then(|c| c.split_once('.')) else {
        return Ok(Vec::new());
    };
    let Some(raw) = state.cache.get(&device_key(user_id, device_id)).await? else {
        return Ok(Vec::new());
    };
    let Ok(entry) = serde_json::from_str::<Remembered>(&raw) else {
        return Ok(Vec::new());
    };
    let presented = sha256_hex(secret.as_bytes());
    if constant_time_eq(presented.as_bytes(), entry.secret_hash.as_bytes()) {
        Ok(entry.types)
    } else {
        Ok(Vec::new())
    }
}

/// Remembers that this device passed `kind` for the user; returns the cookie value to set.
pub async fn remember(
    state: &AppState,
    user_id: UserId,
    kind: MfaType,
    cookie: Option<&str>,
) -> Result<String, ServiceError> {
    let mut types = remembered(state, user_id, cookie).await?;
    let (device_id, secret) = match cookie.and_then(|c| c.split_once('.')) {
        Some((id, secret)) if !types.is_empty() => (id.to_owned(), secret.to_owned()),
        _ => (random_token::<12>(), random_token::<32>()),
    };
    if !types.contains(&kind) {
        types.push(kind);
    }
    let entry = Remembered {
        secret_hash: sha256_hex(secret.as_bytes()),
        types,
    };
    let ttl = Duration::from_secs(state.config.mfa_remember_device_expires_in);
    state
        .cache
        .set_json(&device_key(user_id, &device_id), &entry, ttl)
        .await?;
    Ok(format!("{device_id}.{secret}"))
}
