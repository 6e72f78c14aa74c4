//! One-time codes and their counters (melody.md §11): a code kept in the cache and checked in
//! constant time, wrong codes counted toward a lockout, sends counted toward a limit. Every
//! counter is per subject (a user id or an email) and client IP, in the shared cache.

use std::time::Duration;

use gatehouse_core::lockout::Counter;
use gatehouse_core::mfa::is_code;
use gatehouse_core::signin::SignInError;

use crate::crypto::constant_time_eq;
use crate::error::ServiceError;
use crate::state::AppState;

/// Melody's window for the failed-code and send counters.
pub(crate) const WINDOW: Duration = Duration::from_secs(30 * 60);

/// Whether `presented` is the six-digit code stored under `key`.
pub(crate) async fn code_matches(
    state: &AppState,
    key: &str,
    presented: &str,
) -> Result<bool, ServiceError> {
    let presented = presented.trim();
    let Some(stored) = state.cache.get(key).await? else {
        return Ok(false);
    };
    Ok(is_code(presented) && constant_time_eq(stored.as_bytes(), presented.as_bytes()))
}

/// Refuses with `refusal` once `counter` has reached `threshold` (0 = no limit).
pub(crate) async fn check_lockout(
    state: &AppState,
    counter: Counter,
    subject: &str,
    ip: Option<&str>,
    threshold: u32,
    refusal: SignInError,
) -> Result<(), ServiceError> {
    if threshold > 0
        && state.cache.counter(&counter.key(subject, ip)).await? >= i64::from(threshold)
    {
        return Err(refusal.into());
    }
    Ok(())
}

/// Counts one wrong code.
pub(crate) async fn count_failure(
    state: &AppState,
    counter: Counter,
    subject: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    state
        .cache
        .increment(&counter.key(subject, ip), WINDOW)
        .await?;
    Ok(())
}

/// Forgets the wrong codes once the right one came.
pub(crate) async fn clear_failures(
    state: &AppState,
    counter: Counter,
    subject: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    state.cache.delete(&counter.key(subject, ip)).await?;
    Ok(())
}

/// Counts one send and refuses with `refusal` past `threshold` in `window` (0 = no limit).
pub(crate) async fn within_send_limit(
    state: &AppState,
    counter: Counter,
    subject: &str,
    ip: Option<&str>,
    (threshold, window): (u32, Duration),
    refusal: SignInError,
) -> Result<(), ServiceError> {
    let sent = state
        .cache
        .increment(&counter.key(subject, ip), window)
        .await?;
    if threshold > 0 && sent > i64::from(threshold) {
        return Err(refusal.into());
    }
    Ok(())
}

/// Counts one emailed code to `subject` against the emailed-code send limit (sign-in codes,
/// passwordless codes and verification codes share it).
pub(crate) async fn within_email_code_limit(
    state: &AppState,
    subject: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    let limit = (state.config.email_mfa_email_threshold, WINDOW);
    let refusal = SignInError::EmailSendLimit;
    within_send_limit(state, Counter::EmailCodeSends, subject, ip, limit, refusal).await
}

/// A fresh code kept under `key` for `expires_in` seconds, replacing any earlier one.
pub(crate) async fn new_code(
    state: &AppState,
    key: &str,
    expires_in: u64,
) -> Result<String, ServiceError> {
    let code = crate::crypto::random_code();
    let ttl = Duration::from_secs(expires_in);
    state.cache.set(key, &code, ttl).await?;
    Ok(code)
}

/// Checks `presented` against the code under `key`, with its wrong codes counted under
/// `counter` for `subject` and `ip`: refused with `lockout` once `threshold` wrong ones came,
/// and a wrong one is counted and refused as an invalid code.
pub(crate) async fn check_counted_code(
    state: &AppState,
    (key, presented): (&str, &str),
    (counter, subject, ip): (Counter, &str, Option<&str>),
    (threshold, lockout): (u32, SignInError),
) -> Result<(), ServiceError> {
    check_lockout(state, counter, subject, ip, threshold, lockout).await?;
    if !code_matches(state, key, presented).await? {
        count_failure(state, counter, subject, ip).await?;
        return Err(SignInError::InvalidCode.into());
    }
    Ok(())
}
