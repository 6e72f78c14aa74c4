//! The Simple-OAuth token API (simple-oauth.md): a user id and password buy a one-hour token;
//! the app's server asks whose it is. Passwords are checked against the real store under the
//! same lockout as every sign-in; a user with a second factor (enrolled, or required by the
//! server) gets no token unless `simple_oauth_allow_without_mfa` says so. Tokens are random and
//! only their hash is kept (in the cache, so every instance sees them).

use std::time::Duration;

use gatehouse_core::ids::UserId;
use gatehouse_core::mfa::password_alone_suffices;
use gatehouse_store::{AccountStore, CountedEvent};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::crypto::{random_hex, sha256_hex, PasswordCheck};
use crate::error::ServiceError;
use crate::services::mfa;
use crate::services::signin::PasswordLockout;
use crate::state::AppState;

#[derive(Serialize, Deserialize)]
struct Issued {
    user_id: UserId,
    expires_at: i64,
}

fn token_key(token: &str) -> String {
    format!("SOT-{}", sha256_hex(token.as_bytes()))
}

fn refusal(status: u16, message: &str) -> Value {
    json!({ "status": status, "errmsg": message })
}

/// `/token/get`: a 32-hex token for the right id and password of a user who owes no second
/// factor; `PFALSE` for anything else.
pub async fn get_token(
    state: &AppState,
    id: &str,
    password: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<Value, ServiceError> {
    let user = match id.trim().parse::<i64>() {
        Ok(id) if id > 0 => state.store.user_by_id(UserId::new(id)).await?,
        _ => None,
    };
    let email = user
        .as_ref()
        .and_then(|u| u.email.clone())
        .unwrap_or_default();
    // Unknown ids are counted under the id, so a lockout says nothing about which ids exist.
    let subject = if email.is_empty() {
        format!("simple-oauth-id:{}", id.trim())
    } else {
        email.clone()
    };
    let lockout = PasswordLockout::new(state, &subject, ip);
    if lockout.is_locked().await? {
        crate::services::dashboard::count_event(&state.store, CountedEvent::FailedSignIn);
        return Ok(refusal(
            401,
            "Account temporarily locked due to excessive login failures",
        ));
    }
    let account = match &user {
        Some(u) if u.social_account_id.is_none() => state.store.password_account(&email).await?,
        _ => None,
    }
    .filter(|a| user.as_ref().is_some_and(|u| u.id == a.id));
    // The hash runs for unknown ids too, so the answer's timing tells nothing.
    let check = state
        .passwords
        .verify(
            password.to_owned(),
            account.as_ref().and_then(|a| a.password_hash.clone()),
        )
        .await?;
    let matched = matches!(check, PasswordCheck::Match { .. });
    let Some(account) = account.filter(|a| matched && a.is_active) else {
        // Wrong passwords count toward the lockout, for real and unknown ids alike.
        if !matched {
            lockout.failed(user.is_some()).await?;
        }
        crate::services::dashboard::count_event(&state.store, CountedEvent::FailedSignIn);
        return Ok(refusal(301, "PFALSE"));
    };
    lockout.clear().await?;
    // The right password, as the sign-in page would have taken it before asking for the
    // second factor; this API has no second step, so a user who owes one gets no token.
    let password_suffices = password_alone_suffices(
        &mfa::requirement(state, None, false),
        &account.mfa_types,
        account.otp_verified,
    );
    if !password_suffices && !state.config.simple_oauth_allow_without_mfa {
        return Ok(refusal(301, "PFALSE"));
    }
    let token = random_hex::<16>();
    let lifetime = state.config.simple_oauth_token_expires_in;
    let issued = Issued {
        user_id: account.id,
        expires_at: now + lifetime as i64,
    };
    // Kept past its end for as long again, so a late caller hears "out of date", not "no token".
    state
        .cache
        .set_json(
            &token_key(&token),
            &issued,
            Duration::from_secs(lifetime * 2),
        )
        .await?;
    Ok(json!({ "status": 200, "token": token }))
}

/// `/token/id`: whose token this is.
pub async fn resolve(state: &AppState, token: &str, now: i64) -> Result<Value, ServiceError> {
    let token = token.trim();
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(refusal(300, "NO TOKEN"));
    }
    let Some(raw) = state
        .cache
        .get(&token_key(&token.to_ascii_lowercase()))
        .await?
    else {
        return Ok(refusal(300, "NO TOKEN"));
    };
    let Ok(issued) = serde_json::from_str::<Issued>(&raw) else {
        return Ok(refusal(300, "NO TOKEN"));
    };
    if issued.expires_at <= now {
        return Ok(refusal(300, "TOKEN OUT DATE"));
    }
    Ok(json!({ "status": 200, "USER_ID": issued.user_id }))
}

/// Whether a `/token/id` caller is an app's server: HTTP Basic with an active S2S app's
/// credentials.
pub async fn s2s_basic_allowed(
    state: &AppState,
    client_id: &str,
    secret: &str,
) -> Result<bool, ServiceError> {
    use gatehouse_core::grant::AppType;
    let Some(app) = state.clients.app(client_id).await? else {
        return Ok(false);
    };
    let secret_ok = crate::services::clients::secret_matches(&app, secret);
    Ok(secret_ok && app.is_active && app.app_type == AppType::S2s)
}
