//! Delivery logs (email, SMS) and sign-in logs.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::listing::Page;
use crate::{now_utc, Store, StoreError, StoreFuture, WebhookStore};

/// Which log. The table name comes from this fixed match, never from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Email,
    Sms,
    SignIn,
    /// The audit trail (read through [`crate::AuditStore`]).
    Audit,
    /// Webhook deliveries once delivered or given up, and their events (read through
    /// [`crate::WebhookStore`]); pending ones are never removed.
    WebhookDeliveries,
}

impl LogKind {
    fn table(self) -> &'static str {
        match self {
            LogKind::Email => "email_logs",
            LogKind::Sms => "sms_logs",
            LogKind::SignIn => "sign_in_logs",
            LogKind::Audit => "audit_log",
            LogKind::WebhookDeliveries => "webhook_deliveries",
        }
    }
}

/// A delivery log (email or SMS): the logs whose rows are [`MessageLogRecord`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLog {
    Email,
    Sms,
}

impl MessageLog {
    fn table(self) -> &'static str {
        LogKind::from(self).table()
    }
}

impl From<MessageLog> for LogKind {
    fn from(log: MessageLog) -> Self {
        match log {
            MessageLog::Email => LogKind::Email,
            MessageLog::Sms => LogKind::Sms,
        }
    }
}

/// One sent email or SMS (one-time codes are redacted before a row is written).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageLogRecord {
    pub id: i64,
    pub success: bool,
    pub receiver: String,
    pub response: String,
    pub content: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignInLogRecord {
    pub id: i64,
    pub user_id: UserId,
    pub ip: Option<String>,
    /// JSON text.
    pub detail: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub trait LogStore {
    /// Newest first, with the total count.
    fn message_logs(
        &self,
        log: MessageLog,
        page: Option<Page>,
    ) -> impl StoreFuture<(Vec<MessageLogRecord>, i64)>;
    fn message_log(&self, log: MessageLog, id: i64) -> impl StoreFuture<Option<MessageLogRecord>>;
    fn sign_in_logs(&self, page: Option<Page>) -> impl StoreFuture<(Vec<SignInLogRecord>, i64)>;
    fn sign_in_log(&self, id: i64) -> impl StoreFuture<Option<SignInLogRecord>>;
    /// Records one delivery (content already redacted).
    fn insert_message_log(
        &self,
        log: MessageLog,
        entry: &NewMessageLog<'_>,
    ) -> impl StoreFuture<()>;
    /// Soft-deletes the live rows of a log written before `before` (UTC); returns how many.
    fn delete_logs_before(&self, log: LogKind, before: NaiveDateTime) -> impl StoreFuture<u64>;
    /// Removes at most `limit` rows of a log written before `before` (UTC), soft-deleted or
    /// not, oldest first; returns how many. Each call is one short statement, so pruning a
    /// large log in calls leaves the table free to writers in between.
    fn purge_logs_before(
        &self,
        log: LogKind,
        before: NaiveDateTime,
        limit: i64,
    ) -> impl StoreFuture<u64>;
}

/// One delivery to record.
#[derive(Debug, Clone, Copy)]
pub struct NewMessageLog<'a> {
    pub success: bool,
    pub receiver: &'a str,
    pub response: &'a str,
    pub content: &'a str,
}

const MESSAGE_COLUMNS: &str = "id, success, receiver, response, content, created_at, updated_at";

impl LogStore for Store {
    async fn insert_message_log(
        &self,
        log: MessageLog,
        entry: &NewMessageLog<'_>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (success, receiver, response, content, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
            log.table()
        );
        self.execute(
            &sql,
            (
                entry.success,
                entry.receiver,
                entry.response,
                entry.content,
                now_utc(),
            ),
        )
        .await?;
        Ok(())
    }

    async fn message_logs(
        &self,
        log: MessageLog,
        page: Option<Page>,
    ) -> Result<(Vec<MessageLogRecord>, i64), StoreError> {
        let (limit, offset) = Page::limit_offset(page);
        let rows_sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM {} WHERE deleted_at IS NULL ORDER BY id DESC LIMIT $1 OFFSET $2",
            log.table()
        );
        let count_sql = format!(
            "SELECT COUNT(*) FROM {} WHERE deleted_at IS NULL",
            log.table()
        );
        self.fetch_page((&rows_sql, (limit, offset)), (&count_sql, ()))
            .await
    }

    async fn message_log(
        &self,
        log: MessageLog,
        id: i64,
    ) -> Result<Option<MessageLogRecord>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM {} WHERE id = $1 AND deleted_at IS NULL",
            log.table()
        );
        self.fetch_optional(&sql, (id,)).await
    }

    async fn sign_in_logs(
        &self,
        page: Option<Page>,
    ) -> Result<(Vec<SignInLogRecord>, i64), StoreError> {
        const ROWS: &str =
            "SELECT id, user_id, ip, detail, created_at, updated_at FROM sign_in_logs \
            WHERE deleted_at IS NULL ORDER BY id DESC LIMIT $1 OFFSET $2";
        const COUNT: &str = "SELECT COUNT(*) FROM sign_in_logs WHERE deleted_at IS NULL";
        let (limit, offset) = Page::limit_offset(page);
        self.fetch_page((ROWS, (limit, offset)), (COUNT, ())).await
    }

    async fn sign_in_log(&self, id: i64) -> Result<Option<SignInLogRecord>, StoreError> {
        const SQL: &str =
            "SELECT id, user_id, ip, detail, created_at, updated_at FROM sign_in_logs \
            WHERE id = $1 AND deleted_at IS NULL";
        self.fetch_optional(SQL, (id,)).await
    }

    async fn delete_logs_before(
        &self,
        log: LogKind,
        before: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        if log == LogKind::WebhookDeliveries {
            // Kept without soft deletes: settled deliveries go for good.
            return self.purge_webhook_deliveries_before(before, i64::MAX).await;
        }
        let sql = format!(
            "UPDATE {} SET deleted_at = $2, updated_at = $2 WHERE created_at < $1 AND deleted_at IS NULL",
            log.table()
        );
        self.execute(&sql, (before, now_utc())).await
    }

    async fn purge_logs_before(
        &self,
        log: LogKind,
        before: NaiveDateTime,
        limit: i64,
    ) -> Result<u64, StoreError> {
        if log == LogKind::WebhookDeliveries {
            return self.purge_webhook_deliveries_before(before, limit).await;
        }
        // The inner query walks the created_at index; the outer delete goes by primary key.
        let table = log.table();
        let sql = format!(
            "DELETE FROM {table} WHERE id IN \
             (SELECT id FROM {table} WHERE created_at < $1 ORDER BY created_at LIMIT $2)"
        );
        self.execute(&sql, (before, limit)).await
    }
}
