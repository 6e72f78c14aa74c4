//! Sign-in lockouts on a user's email.

use super::user;
use crate::error::ServiceError;
use crate::state::AppState;

/// The IPs (`""` for the IP-less counter) from which the user's email is locked out.
pub async fn locked_ips(state: &AppState, auth_id: &str) -> Result<Vec<String>, ServiceError> {
    use gatehouse_core::lockout::{failed_login_ip, failed_login_prefix};
    let current = user(&state.store, auth_id).await?;
    let Some(email) = current.email.as_deref() else {
        return Ok(Vec::new());
    };
    let threshold = i64::from(state.config.account_lockout_threshold);
    // A cache that lost its counters shows the held lockouts, as the sign-in sees them.
    state.held_denials().ensure_restored().await?;
    let mut locked = Vec::new();
    for key in state
        .cache
        .keys_with_prefix(&failed_login_prefix(email))
        .await?
    {
        let Some(ip) = failed_login_ip(email, &key) else {
            continue;
        };
        if state.cache.counter(&key).await? >= threshold {
            locked.push(ip.to_owned());
        }
    }
    Ok(locked)
}

/// Clears every failed-password counter of the user's email (every IP).
pub async fn unlock(state: &AppState, auth_id: &str) -> Result<(), ServiceError> {
    let current = user(&state.store, auth_id).await?;
    let Some(email) = current.email.as_deref() else {
        return Ok(());
    };
    lift_lockouts(state, email).await?;
    // Kept in the cache, so recorded on its own.
    let change = gatehouse_store::changes::Change::of("user", &current.auth_id, "unlocked");
    state.store.record_change(change).await?;
    Ok(())
}

/// Ends every lockout of `email`, from every IP: the held ones first, so that a cache put back
/// from them in between cannot bring back a counter cleared here.
pub(crate) async fn lift_lockouts(state: &AppState, email: &str) -> Result<(), ServiceError> {
    use gatehouse_core::lockout::{failed_login_ip, failed_login_prefix, LOCKED_ACCOUNTS};
    state.held_denials().lift_lockouts(email).await?;
    for key in state
        .cache
        .keys_with_prefix(&failed_login_prefix(email))
        .await?
    {
        if failed_login_ip(email, &key).is_some() {
            state.cache.delete(&key).await?;
        }
    }
    state.cache.unmark(LOCKED_ACCOUNTS, email).await?;
    Ok(())
}
