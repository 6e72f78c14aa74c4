//! The admin dashboard: its figures, read from the counts the store keeps (one short query per
//! chart, whatever the number of users), and the counting of what only the server sees
//! (refused passwords, deliveries), which never holds up the request that caused it.

use chrono::NaiveDate;
use gatehouse_core::dashboard::{first_day, per_day, ActiveUsers, CHART_DAYS};
use gatehouse_core::lockout::LOCKED_ACCOUNTS;
use gatehouse_store::{now_utc, CountedEvent, DailyCount, StatsStore, UserTotals};

use crate::error::ServiceError;
use crate::state::AppState;

/// A backlog is counted up to this many deliveries; the page says "at least" beyond.
pub const BACKLOG_CAP: i64 = 100_000;

/// Two daily series drawn as one chart: what went through, and what did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    pub succeeded: Vec<u64>,
    pub failed: Vec<u64>,
}

/// Everything the dashboard draws; each daily series has one value per day from `first_day`
/// to today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub first_day: NaiveDate,
    pub sign_ins: Outcomes,
    pub sign_ups: Vec<u64>,
    pub active: ActiveUsers,
    pub users: UserTotals,
    pub locked_accounts: i64,
    pub emails: Outcomes,
    pub sms: Outcomes,
    pub webhook_backlog: i64,
}

/// The last [`CHART_DAYS`] days of `count`, ending `today`.
async fn daily(
    state: &AppState,
    count: DailyCount,
    today: NaiveDate,
) -> Result<Vec<u64>, ServiceError> {
    let first = first_day(today, CHART_DAYS);
    let stored = state.store.daily_counts(count, first, today).await?;
    Ok(per_day(first, CHART_DAYS, &stored))
}

async fn outcomes(
    state: &AppState,
    (succeeded, failed): (DailyCount, DailyCount),
    today: NaiveDate,
) -> Result<Outcomes, ServiceError> {
    Ok(Outcomes {
        succeeded: daily(state, succeeded, today).await?,
        failed: daily(state, failed, today).await?,
    })
}

/// The dashboard's figures as of `today` (UTC).
pub async fn figures(state: &AppState, today: NaiveDate) -> Result<Figures, ServiceError> {
    let first = first_day(today, CHART_DAYS);
    let last_sign_ins = state
        .store
        .daily_counts(DailyCount::LastSignIns, first, today)
        .await?;
    Ok(Figures {
        first_day: first,
        sign_ins: outcomes(
            state,
            (DailyCount::SignIns, DailyCount::FailedSignIns),
            today,
        )
        .await?,
        sign_ups: daily(state, DailyCount::SignUps, today).await?,
        active: ActiveUsers::from_last_sign_ins(today, &last_sign_ins),
        users: state.store.user_totals().await?,
        locked_accounts: state.cache.count_marked(LOCKED_ACCOUNTS).await?,
        emails: outcomes(
            state,
            (DailyCount::EmailsSent, DailyCount::EmailsFailed),
            today,
        )
        .await?,
        sms: outcomes(state, (DailyCount::SmsSent, DailyCount::SmsFailed), today).await?,
        webhook_backlog: state.store.webhook_backlog(BACKLOG_CAP).await?,
    })
}

/// Counts `event` for today in the background.
pub(crate) fn count_event<S>(store: &S, event: CountedEvent)
where
    S: StatsStore + Clone + Send + Sync + 'static,
{
    let store = store.clone();
    tokio::spawn(async move {
        if let Err(err) = store.count_event(event, now_utc().date()).await {
            tracing::warn!(error = %err, "could not count an event for the dashboard");
        }
    });
}
