//! Back-channel logout (OIDC Back-Channel Logout 1.0): sends the logout notices the store owes
//! apps. Every instance runs the sender; each notice is claimed by one of them for one attempt,
//! so an app hears once per attempt however many instances there are, and a crash mid-send
//! only delays the notice to the next attempt. The sender also ends sessions that ran out idle,
//! so that their apps hear of expiry too.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime};
use gatehouse_core::logout::{logout_token_claims, retry_delay, settled_by, LOGOUT_TOKEN_TYPE};
use gatehouse_store::{BrowserSessionStore, LogoutNotice, LogoutNoticeStore};
use tokio::task::JoinHandle;

use crate::crypto::random_token;
use crate::error::ServiceError;
use crate::state::AppState;

/// Notices sent per round, and how many at once.
const BATCH: i64 = 32;
const CONCURRENT: usize = 8;
/// How long a claimed notice is left to its claimer before another instance may try it: well
/// past the outbound timeout.
const LEASE_SECS: i64 = 60;
/// Sessions ended per round when they ran out idle.
const EXPIRED_BATCH: i64 = 200;

fn at(unix: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// Runs rounds until the server stops: when this instance ends a session (woken), and every
/// `logout_notice_interval` for what other instances owe and for retries.
pub fn spawn_sender(state: AppState) -> JoinHandle<()> {
    let interval = Duration::from_secs(state.config.logout_notice_interval.max(1));
    tokio::spawn(async move {
        loop {
            if let Err(err) = round(&state, chrono::Utc::now().timestamp()).await {
                tracing::warn!(code = "GH-LOGOUT", error = %err, "logout notices could not be sent this round");
            }
            tokio::select! {
                () = state.logout_wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}

/// One round: ends sessions that ran out idle, then sends what is due; how many were sent.
pub async fn round(state: &AppState, now: i64) -> Result<usize, ServiceError> {
    if state.config.server_session_expires_in > 0 {
        state
            .store
            .end_expired_browser_sessions(at(now), EXPIRED_BATCH)
            .await?;
    }
    let due = state.store.due_logout_notices(at(now), BATCH).await?;
    let mut claimed = Vec::with_capacity(due.len());
    for notice in due {
        let lease = at(now + LEASE_SECS);
        if state
            .store
            .claim_logout_notice(notice.id, notice.attempts, lease)
            .await?
        {
            claimed.push(notice);
        }
    }
    let count = claimed.len();
    let mut sends = tokio::task::JoinSet::new();
    let mut waiting = claimed.into_iter();
    loop {
        while sends.len() < CONCURRENT {
            let Some(notice) = waiting.next() else { break };
            let state = state.clone();
            sends.spawn(async move { send(&state, notice, now).await });
        }
        match sends.join_next().await {
            Some(Ok(Err(err))) => {
                tracing::warn!(code = "GH-LOGOUT", error = %err, "a logout notice could not be settled");
            }
            Some(_) => {}
            None => break,
        }
    }
    Ok(count)
}

/// One attempt at a claimed notice: a fresh logout token, signed as the app's ID tokens are,
/// POSTed to its back-channel URI; settled, or put off until its next attempt.
async fn send(state: &AppState, notice: LogoutNotice, now: i64) -> Result<(), ServiceError> {
    let claims = logout_token_claims(
        &state.config.issuer,
        &notice.client_id,
        (&notice.subject, notice.session_id),
        random_token::<16>(),
        now,
    );
    let alg = notice.id_token_signed_response_alg.as_deref();
    let token = state.keys.sign_for(alg, &claims, LOGOUT_TOKEN_TYPE).await?;
    let answer = state
        .client_keys
        .outbound
        .post_form(&notice.backchannel_logout_uri, &[("logout_token", &token)])
        .await;
    let client_id = notice.client_id.as_str();
    let failure = match answer {
        Ok(status) if settled_by(status) => {
            if status >= 400 {
                tracing::warn!(
                    code = "GH-LOGOUT",
                    client_id,
                    status,
                    "an app refused its logout token"
                );
            }
            state.metrics.logout_notice(true);
            return Ok(state.store.finish_logout_notice(notice.id).await?);
        }
        Ok(status) => format!("status {status}"),
        Err(err) => err.to_string(),
    };
    state.metrics.logout_notice(false);
    let attempt = notice.attempts + 1;
    match retry_delay(attempt) {
        Some(delay) => {
            tracing::info!(client_id, attempt, error = %failure, "a logout notice will be sent again");
            let next = at(now + delay);
            state
                .store
                .postpone_logout_notice(notice.id, next, &failure)
                .await?;
        }
        None => {
            tracing::warn!(code = "GH-LOGOUT", client_id, attempt, error = %failure, "a logout notice was given up after a day of retries");
            state.store.finish_logout_notice(notice.id).await?;
        }
    }
    Ok(())
}
