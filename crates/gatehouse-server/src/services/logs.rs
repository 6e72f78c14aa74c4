//! Reading and pruning the email, SMS and sign-in logs.

use chrono::NaiveDateTime;
use gatehouse_store::{
    LogKind, LogStore, MessageLog, MessageLogRecord, Page, SignInLogRecord, Store,
};

use crate::error::ServiceError;
use crate::services::found;

const NO_LOG: &str = "No log found";

pub async fn messages(
    store: &Store,
    log: MessageLog,
    page: Option<Page>,
) -> Result<(Vec<MessageLogRecord>, i64), ServiceError> {
    Ok(store.message_logs(log, page).await?)
}

pub async fn message(
    store: &Store,
    log: MessageLog,
    id: i64,
) -> Result<MessageLogRecord, ServiceError> {
    found(store.message_log(log, id), NO_LOG).await
}

pub async fn sign_ins(
    store: &Store,
    page: Option<Page>,
) -> Result<(Vec<SignInLogRecord>, i64), ServiceError> {
    Ok(store.sign_in_logs(page).await?)
}

pub async fn sign_in(store: &Store, id: i64) -> Result<SignInLogRecord, ServiceError> {
    found(store.sign_in_log(id), NO_LOG).await
}

/// Removes the entries of a log written before `before` (UTC).
pub async fn prune(
    store: &Store,
    log: LogKind,
    before: NaiveDateTime,
) -> Result<u64, ServiceError> {
    Ok(store.delete_logs_before(log, before).await?)
}
