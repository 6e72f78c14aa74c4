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
    use gatehouse_core::lockout::{failed_login_ip, failed_login_prefix};
    let current = user(&state.store, auth_id).await?;
    let Some(email) = current.email.as_deref() else {
        return Ok(());
    };
    for key in state
        .cache
        .keys_with_prefix(&failed_login_prefix(email))
        .await?
    {
        if failed_login_ip(email, &key).is_some() {
            state.cache.delete(&key).await?;
        }
    }
    state
        .cache
        .unmark(gatehouse_core::lockout::LOCKED_ACCOUNTS, email)
        .await?;
    // Kept in the cache, so recorded on its own.
    let change = gatehouse_store::changes::Change::of("user", &current.auth_id, "unlocked");
    state.store.record_change(change).await?;
    Ok(())
}
