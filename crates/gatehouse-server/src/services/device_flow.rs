//! The device authorization grant (RFC 8628). A device asks for a device code and a user code;
//! the user types the user code on `/device` in a browser, signs in on the usual pages (MFA,
//! lockouts and consent included) and approves; the device polls the token endpoint until then.
//!
//! Everything lives in the shared cache, so any instance serves any step:
//! - `DG-<sha256 of the device code>`: the [`DeviceGrant`], kept a while past its expiry so a
//!   late poll learns `expired_token` rather than `invalid_grant`;
//! - `DU-<user code>`: the grant's key, until the user approves or denies (taken once);
//! - `DD-<grant key>`: the user's decision;
//! - `DP-<grant key>`: set for `interval` seconds by each poll (a poll that finds it slows down);
//! - `DW-<ip>`: wrong user codes typed from an address.

use std::time::Duration;

use gatehouse_core::grant::device_code::{
    self, check_poll, Approval, DeviceDecision, DeviceGrant, Poll, USER_CODE_ALPHABET,
    USER_CODE_LEN,
};
use gatehouse_core::grant::AppType;
use gatehouse_core::scope::{grant_scopes, parse_scope_list};
use gatehouse_core::signin::{SignInError, Subject};
use gatehouse_core::TokenError;
use gatehouse_store::App;
use serde::{Deserialize, Serialize};

use super::user_tokens::{sign_in_tokens, FinishedSignIn, IdentifiedClient, UserTokens};
use crate::crypto::{random_from, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

/// The verification page, under the issuer.
pub const PAGE: &str = "/device";

const GRANT_PREFIX: &str = "DG-";
const USER_CODE_PREFIX: &str = "DU-";
const DECISION_PREFIX: &str = "DD-";
const POLL_PREFIX: &str = "DP-";
const WRONG_CODE_PREFIX: &str = "DW-";
/// How long wrong user codes are counted per address.
const WRONG_CODE_WINDOW_SECS: u64 = 15 * 60;
/// How long after expiry a poll is still told `expired_token`.
const EXPIRED_GRACE_SECS: u64 = 600;
/// Fresh user codes drawn before giving up on finding a free one (each draw has ~2^34.6 values).
const USER_CODE_DRAWS: usize = 5;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// As people read it: `BCDF-GHJK`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// A sign-in made to approve a device: ends with the approval instead of a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTarget {
    /// The grant's cache key suffix (the device code's SHA-256).
    pub grant_key: String,
    /// The user code the user typed, in its stored form.
    pub user_code: String,
}

/// A pending device request found by its user code: what the verification page shows.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub target: DeviceTarget,
    pub grant: DeviceGrant,
    pub app: std::sync::Arc<App>,
}

fn grant_cache_key(grant_key: &str) -> String {
    format!("{GRANT_PREFIX}{grant_key}")
}

fn user_code_key(user_code: &str) -> String {
    format!("{USER_CODE_PREFIX}{user_code}")
}

fn decision_key(grant_key: &str) -> String {
    format!("{DECISION_PREFIX}{grant_key}")
}

/// The app may start the device flow: it signs users in and an operator allowed it.
fn device_app(app: &App) -> Result<(), TokenError> {
    if app.app_type == AppType::S2s || !app.allow_device_flow {
        return Err(TokenError::GrantNotAllowed("device_code"));
    }
    if !app.is_active {
        return Err(TokenError::AppDisabled);
    }
    Ok(())
}

/// `POST /oauth2/v1/device_authorization`: a new device code and user code for `client` (which
/// names itself, or authenticates when confidential).
pub async fn authorize_device(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    scope: Option<&str>,
    now: i64,
) -> Result<DeviceAuthorization, ServiceError> {
    let client = client.ok_or(TokenError::MissingParameter("client_id"))?;
    let app = &client.app;
    device_app(app)?;
    let scopes = grant_scopes(&parse_scope_list(scope.unwrap_or_default()), &app.scopes);
    let config = &state.config;
    let device_code = random_token::<32>();
    let grant_key = sha256_hex(device_code.as_bytes());
    let lifetime = Duration::from_secs(config.device_code_expires_in);
    let mut user_code = None;
    for _ in 0..USER_CODE_DRAWS {
        let code = random_from(USER_CODE_ALPHABET, USER_CODE_LEN);
        if state
            .cache
            .set_if_absent(&user_code_key(&code), &grant_key, lifetime)
            .await?
        {
            user_code = Some(code);
            break;
        }
    }
    let user_code = user_code
        .ok_or_else(|| ServiceError::Internal("no free device user code after 5 draws".into()))?;
    let grant = DeviceGrant {
        client_id: app.client_id.clone(),
        scopes,
        user_code: user_code.clone(),
        expires_at: now + config.device_code_expires_in as i64,
    };
    let kept = Duration::from_secs(config.device_code_expires_in + EXPIRED_GRACE_SECS);
    state
        .cache
        .set_json(&grant_cache_key(&grant_key), &grant, kept)
        .await?;
    let shown = device_code::display_user_code(&user_code);
    let verification_uri = format!("{}{PAGE}", config.issuer);
    Ok(DeviceAuthorization {
        device_code,
        verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
        user_code: shown,
        verification_uri,
        expires_in: config.device_code_expires_in,
        interval: config.device_code_interval,
    })
}

async fn read_grant(
    state: &AppState,
    grant_key: &str,
) -> Result<Option<DeviceGrant>, ServiceError> {
    let raw = state.cache.get(&grant_cache_key(grant_key)).await?;
    Ok(raw.and_then(|raw| serde_json::from_str(&raw).ok()))
}

/// The pending request a typed user code names, for the verification page. Wrong codes are
/// counted per address; past `device_user_code_threshold` in 15 minutes every code is refused.
pub async fn pending(
    state: &AppState,
    typed: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<PendingDevice, ServiceError> {
    let wrong_key = format!("{WRONG_CODE_PREFIX}{}", ip.unwrap_or("-"));
    let threshold = i64::from(state.config.device_user_code_threshold);
    if state.cache.counter(&wrong_key).await? >= threshold {
        return Err(SignInError::UserCodeLockout.into());
    }
    match find(state, typed, now).await? {
        Some(found) => Ok(found),
        None => {
            let window = Duration::from_secs(WRONG_CODE_WINDOW_SECS);
            state.cache.increment(&wrong_key, window).await?;
            Err(SignInError::UnknownUserCode.into())
        }
    }
}

async fn find(
    state: &AppState,
    typed: &str,
    now: i64,
) -> Result<Option<PendingDevice>, ServiceError> {
    let Some(user_code) = device_code::normalize_user_code(typed) else {
        return Ok(None);
    };
    let Some(grant_key) = state.cache.get(&user_code_key(&user_code)).await? else {
        return Ok(None);
    };
    let Some(grant) = read_grant(state, &grant_key).await? else {
        return Ok(None);
    };
    if grant.expires_at <= now || grant.user_code != user_code {
        return Ok(None);
    }
    let Some(app) = state.clients.app(&grant.client_id).await? else {
        return Ok(None);
    };
    if device_app(&app).is_err() {
        return Ok(None);
    }
    Ok(Some(PendingDevice {
        target: DeviceTarget {
            grant_key,
            user_code,
        },
        grant,
        app,
    }))
}

/// Records the user's decision. The user code is taken first, so a code is decided once: a
/// second browser that typed the same code (or a replayed form) is told the code is not valid.
async fn decide(
    state: &AppState,
    target: &DeviceTarget,
    decision: &DeviceDecision,
) -> Result<(), ServiceError> {
    let taken = state.cache.take(&user_code_key(&target.user_code)).await?;
    if taken.as_deref() != Some(target.grant_key.as_str()) {
        return Err(SignInError::UnknownUserCode.into());
    }
    let ttl = Duration::from_secs(state.config.device_code_expires_in + EXPIRED_GRACE_SECS);
    state
        .cache
        .set_json(&decision_key(&target.grant_key), decision, ttl)
        .await?;
    Ok(())
}

/// The signed-in user approved the device (the end of its sign-in transaction).
pub async fn approve(
    state: &AppState,
    target: &DeviceTarget,
    user: Subject,
    (auth_time, amr): (i64, &[String]),
    session_id: Option<i64>,
) -> Result<(), ServiceError> {
    let approval = Approval {
        user,
        auth_time,
        amr: amr.to_vec(),
        session_id,
    };
    decide(state, target, &DeviceDecision::Approved(approval)).await
}

/// The user refused the device (on the verification page or the consent page).
pub async fn deny(state: &AppState, target: &DeviceTarget) -> Result<(), ServiceError> {
    decide(state, target, &DeviceDecision::Denied).await
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: the device's poll.
pub async fn poll(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    (device_code, dpop): (&str, Option<&str>),
    ip: Option<&str>,
    now: i64,
) -> Result<UserTokens, ServiceError> {
    if device_code.is_empty() {
        return Err(TokenError::MissingParameter("device_code").into());
    }
    let client = client.ok_or(TokenError::MissingParameter("client_id"))?;
    device_app(&client.app)?;
    let grant_key = sha256_hex(device_code.as_bytes());
    let grant = read_grant(state, &grant_key)
        .await?
        .ok_or(TokenError::InvalidDeviceCode)?;
    let interval = Duration::from_secs(state.config.device_code_interval);
    let paced = state
        .cache
        .set_if_absent(&format!("{POLL_PREFIX}{grant_key}"), "1", interval)
        .await?;
    let decision: Option<DeviceDecision> = state
        .cache
        .get(&decision_key(&grant_key))
        .await?
        .and_then(|raw| serde_json::from_str(&raw).ok());
    let approval = check_poll(
        &grant,
        decision.as_ref(),
        &Poll {
            client_id: &client.app.client_id,
            now,
            too_soon: !paced,
        },
    )?
    .clone();
    // One set of tokens per approval: of two polls racing here, one takes the grant.
    if state
        .cache
        .take(&grant_cache_key(&grant_key))
        .await?
        .is_none()
    {
        return Err(TokenError::InvalidDeviceCode.into());
    }
    state.cache.delete(&decision_key(&grant_key)).await?;
    let finished = FinishedSignIn {
        user_id: approval.user.id,
        requested: &grant.scopes,
        nonce: None,
        auth_time: approval.auth_time,
        session_id: approval.session_id,
        resource: None,
        amr: &approval.amr,
        id_token_claims: &[],
        userinfo_claims: &[],
        dpop,
    };
    let grant_name = "device_code";
    let (tokens, _, _) =
        sign_in_tokens(state, &client.app, finished, (grant_name, ip), now).await?;
    Ok(tokens)
}
