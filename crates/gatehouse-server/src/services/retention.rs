//! Log retention: entries older than their log's configured number of days are removed for
//! good. Every instance runs the pruner; each pass is taken by one of them through a lease in
//! the database, and deletes in small batches with a pause between, so writers are never held
//! up for long.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use gatehouse_store::{LeaseStore, LogKind, LogStore, Store};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::crypto::{random_bytes, random_hex};
use crate::error::ServiceError;
use crate::state::AppState;

/// The lease's name in `job_leases`.
const LEASE: &str = "log_retention";
/// Time between passes; each instance adds up to a tenth of it at random, so instances do not
/// wake together.
const PASS_INTERVAL: Duration = Duration::from_secs(3600);
/// Rows removed per statement, and the pause between statements.
pub const BATCH: i64 = 1000;
const BATCH_PAUSE: Duration = Duration::from_millis(50);

/// Each log with its retention in days (0: kept forever). A new log is one more line here.
pub fn retention(config: &Config) -> [(LogKind, u64); 5] {
    [
        (LogKind::SignIn, config.sign_in_log_retention_days),
        (LogKind::Email, config.email_log_retention_days),
        (LogKind::Sms, config.sms_log_retention_days),
        (LogKind::Audit, config.audit_log_retention_days),
        (
            LogKind::WebhookDeliveries,
            config.webhook_log_retention_days,
        ),
    ]
}

/// What one pass removed, per log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub logs: Vec<(LogKind, u64)>,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.logs.iter().map(|(_, n)| n).sum()
    }
}

/// One pass at `now` by `holder` (this instance): `None` when another instance holds the lease
/// (it is pruning, or pruned within the pass interval).
pub async fn prune_pass(
    store: &Store,
    logs: &[(LogKind, u64)],
    holder: &str,
    now: NaiveDateTime,
) -> Result<Option<Pruned>, ServiceError> {
    if logs.iter().all(|&(_, days)| days == 0) {
        return Ok(Some(Pruned::default()));
    }
    // Held for most of an interval: the next pass of any instance finds it free.
    let until = now + TimeDelta::from_std(PASS_INTERVAL * 9 / 10).unwrap_or(TimeDelta::MAX);
    if !store.take_lease(LEASE, holder, now, until).await? {
        return Ok(None);
    }
    let mut pruned = Pruned::default();
    for &(log, days) in logs {
        if days == 0 {
            continue;
        }
        let days = i64::try_from(days).unwrap_or(i64::MAX);
        let Some(before) = TimeDelta::try_days(days).and_then(|d| now.checked_sub_signed(d)) else {
            continue;
        };
        let mut removed = 0;
        loop {
            let n = store.purge_logs_before(log, before, BATCH).await?;
            removed += n;
            if n < BATCH as u64 {
                break;
            }
            tokio::time::sleep(BATCH_PAUSE).await;
        }
        pruned.logs.push((log, removed));
    }
    Ok(Some(pruned))
}

/// Runs a pass every interval (plus jitter) until the server stops.
pub fn spawn_pruner(state: AppState) -> JoinHandle<()> {
    let holder = random_hex::<8>();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(jittered(PASS_INTERVAL)).await;
            let logs = retention(&state.config);
            match prune_pass(&state.store, &logs, &holder, gatehouse_store::now_utc()).await {
                Ok(Some(pruned)) if pruned.total() > 0 => {
                    tracing::info!(removed = pruned.total(), "old log entries removed");
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(code = "GH-LOG-RETENTION", error = %err, "pruning the logs failed; trying again next pass");
                }
            }
        }
    })
}

fn jittered(interval: Duration) -> Duration {
    let spread = interval.as_millis() as u64 / 10;
    let r = u64::from_le_bytes(random_bytes::<8>());
    interval + Duration::from_millis(r % spread.max(1))
}
