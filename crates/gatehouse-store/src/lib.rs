//! Durable storage (SQLite or PostgreSQL, chosen by URL at run time) and the short-lived cache
//! (in-process or Redis). Every query is written once, with `$1…` placeholders, and runs on both
//! databases; the backend is branched on only inside this crate.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod accounts;
mod apps;
mod audit;
mod backup;
mod banners;
mod browser_sessions;
pub mod cache;
pub mod changes;
mod connect;
mod connect_apps;
mod error;
mod held_denials;
mod import;
#[cfg(test)]
mod landed_migrations;
mod leases;
mod lifecycle;
mod listing;
mod logout_notices;
mod logs;
mod melody_source;
mod mfa;
mod orgs;
mod refresh_tokens;
mod resource_servers;
mod roles;
mod saml_idps;
mod scim_users;
mod scopes;
mod settings;
mod signing_keys;
mod social;
mod sql;
mod stats;
#[cfg(test)]
mod testing;
mod user_attributes;
mod user_search;
mod users;
mod webhooks;

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Timelike, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

use crate::sql::{Binds, Row};

pub use accounts::{AccountStore, AttributeAudience, NewSignUp, PasswordAccount};
pub use apps::{App, AppChanges, AppStore, ClientSecurity, LogoutChannels, NewApp};
pub use audit::{AuditFilter, AuditRecord, AuditStore};
pub use backup::{check_sqlite_file, latest_sqlite_schema, SchemaVersion};
pub use banners::{BannerChanges, BannerRecord, BannerStore};
pub use browser_sessions::{
    BrowserSession, BrowserSessionStore, BrowserSessionSummary, FrontChannelApp, NewBrowserSession,
    SignedOut,
};
pub use cache::{Cache, CacheError, RedisOptions};
pub use connect::{postgres_url_verifies_certificate, DatabaseOptions};
pub use connect_apps::{ConnectAppChange, ConnectAppRecord, ConnectAppStore, NewConnectApp};
pub use error::{ConnectFailure, StoreError};
pub use held_denials::{DenialKind, DenialStore, HeldDenial};
pub use import::{ImportOutcome, ImportTx};
pub use leases::LeaseStore;
pub use lifecycle::{InvitedUser, LifecycleStore};
pub use listing::Page;
pub use logout_notices::{LogoutNotice, LogoutNoticeStore};
pub use logs::{LogKind, LogStore, MessageLog, MessageLogRecord, NewMessageLog, SignInLogRecord};
pub use melody_source::{MelodySource, MelodySourceError, SourceTableRows};
pub use mfa::{MfaStore, StoredPasskey};
pub use orgs::{OrgChanges, OrgGroupRecord, OrgRecord, OrgStore};
pub use refresh_tokens::{ActiveSession, NewRefreshToken, RefreshTokenRecord, RefreshTokenStore};
pub use resource_servers::{ResourceServerFields, ResourceServerRecord, ResourceServerStore};
pub use roles::{RoleRecord, RoleStore};
pub use saml_idps::{SamlIdpFields, SamlIdpRecord, SamlIdpStore};
pub use scim_users::{ScimUserFields, ScimUserStore};
pub use scopes::{NewScope, ScopeChanges, ScopeLocaleRecord, ScopeRecord, ScopeStore};
pub use settings::SettingsStore;
pub use signing_keys::{NewSigningKey, SigningKeyRecord, SigningKeyStore};
pub use social::{LinkedIdentity, NewSocialUser, SocialAccountStore};
pub use stats::{CountedEvent, DailyCount, StatsStore, UserTotals};
pub use user_attributes::{UserAttributeFields, UserAttributeRecord, UserAttributeStore};
pub use user_search::{UserList, UserPage, UserSearchStore, COUNT_EXACT_UP_TO};
pub use users::{NewInvitedUser, PasskeyRecord, UserChanges, UserRecord, UserStore};
pub use webhooks::{
    AttemptOutcome, DeliveryFilter, DeliveryRecord, DeliveryStatus, DueDelivery,
    NewWebhookEndpoint, Resent, WebhookEndpointChanges, WebhookEndpointRecord, WebhookStore,
};

/// What every store call returns: a future of `Result<T, StoreError>` that can be sent to
/// another thread (the server awaits store calls inside spawned tasks).
pub trait StoreFuture<T>: Future<Output = Result<T, StoreError>> + Send {}

impl<T, F: Future<Output = Result<T, StoreError>> + Send> StoreFuture<T> for F {}

/// Runs the same expression against whichever pool the store holds. The expression is compiled
/// once per backend, so a query that does not fit both fails to build rather than at run time.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::Database::Sqlite($pool) => {
                #[allow(unused_imports)]
                use $crate::BeginWrite as _;
                $body
            }
            $crate::Database::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::BeginWrite as _;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Inserts a row with `$insert` (which returns the new id) and reads it back with `$read`
/// (`$1` = the id) in the same write transaction `$tx`.
macro_rules! insert_and_read {
    ($tx:ident, $insert:expr, $params:expr, $read:expr $(,)?) => {{
        let (id,): (i64,) = $crate::sql::fetch_one(&mut *$tx, $insert, $params).await?;
        $crate::sql::fetch_one(&mut *$tx, $read, (id,)).await?
    }};
}
pub(crate) use insert_and_read;

/// Soft-deletes the live rows of `$table` whose `$column` is `$1`, stamping them with `$2`: one
/// statement of a [`Store::soft_delete_cascade`].
macro_rules! soft_delete {
    ($table:literal, $column:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET deleted_at = $2, updated_at = $2 WHERE ",
            $column,
            " = $1 AND deleted_at IS NULL"
        )
    };
}
pub(crate) use soft_delete;

/// The statements every table of soft-deleted records shares: its live rows in id order, the
/// live row with the id `$1`, and the soft delete of that row (stamped `$2`).
pub(crate) struct LiveRows {
    pub all: &'static str,
    pub by_id: &'static str,
    pub delete: &'static str,
}

/// The [`LiveRows`] of `$table`, selecting the columns its `$columns!()` macro lists.
macro_rules! live_rows {
    ($columns:ident, $table:literal) => {
        $crate::LiveRows {
            all: concat!(
                "SELECT ",
                $columns!(),
                " FROM ",
                $table,
                " WHERE deleted_at IS NULL ORDER BY id"
            ),
            by_id: concat!(
                "SELECT ",
                $columns!(),
                " FROM ",
                $table,
                " WHERE id = $1 AND deleted_at IS NULL"
            ),
            delete: $crate::soft_delete!($table, "id"),
        }
    };
}
pub(crate) use live_rows;

/// A transaction that will write. SQLite takes the write lock at `BEGIN IMMEDIATE`, so a
/// transaction that reads first and then writes waits for another writer (busy timeout) instead
/// of failing with `SQLITE_BUSY_SNAPSHOT`; PostgreSQL's row locks need nothing more.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send {
        self.begin()
    }
}

#[derive(Debug, Clone)]
enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A `Store` method that runs the `sql` module's query function of the same name on the pool.
/// A write while a change is pending runs in a transaction of its own that records the change
/// when `$touched` says the statement touched a row.
macro_rules! pool_fetch {
    ($(#[$doc:meta])* $name:ident -> $output:ty, |$row:ident| $touched:expr) => {
        $(#[$doc])*
        pub(crate) async fn $name<'q, O: Row>(
            &self,
            sql: &'q str,
            params: impl Binds<'q>,
        ) -> Result<$output, StoreError> {
            if changes::pending() && changes::is_write(sql) {
                return on_pool!(self, |pool| {
                    let mut tx = pool.begin_write().await?;
                    let $row = sql::$name(&mut *tx, sql, params).await?;
                    if $touched {
                        self.commit(tx).await?;
                    } else {
                        tx.commit().await?;
                    }
                    Ok($row)
                });
            }
            on_pool!(self, |pool| sql::$name(pool, sql, params).await)
        }
    };
}

/// Moves the user-data generation on when dropped ([`Store::writing_user_data`]).
pub(crate) struct UserDataWrite<'a>(&'a AtomicU64);

impl Drop for UserDataWrite<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// The durable store. Cheap to clone: it holds a connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    /// Counts the committed writes to what userinfo shows (users, their roles, role names,
    /// attribute values and definitions), so a cache of those facts knows when its copy may
    /// be older than the database ([`Store::user_data_generation`]).
    user_data: Arc<AtomicU64>,
    outbox: Arc<tokio::sync::Notify>,
}

impl Store {
    /// A migrated SQLite database in memory, empty but for what the migrations seed: the
    /// store fixture for unit tests here and in the server crate. Each connection to
    /// `sqlite::memory:` is a database of its own, so the pool holds exactly one connection
    /// and never closes it; the database lives as long as the store.
    pub async fn memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let store = Self::over(Database::Sqlite(pool));
        store.migrate().await?;
        Ok(store)
    }

    fn over(db: Database) -> Self {
        Self {
            db,
            user_data: Arc::new(AtomicU64::new(0)),
            outbox: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// How many writes to user data this store has committed (see [`Store`]'s `user_data`).
    /// A copy read after this value was taken is current unless the value has moved on since.
    pub fn user_data_generation(&self) -> u64 {
        self.user_data.load(Ordering::Acquire)
    }

    /// The first statement of every method that writes user data: the guard moves the
    /// generation on when the method ends, after its commit (or its failure, which changed
    /// nothing and costs a cache only a read). A reader that took the generation before its
    /// read and saw the old rows then holds a generation already behind.
    pub(crate) fn writing_user_data(&self) -> UserDataWrite<'_> {
        UserDataWrite(&self.user_data)
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations embedded in the binary that the database has not seen yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Database::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Database::Postgres(pool) => {
                // A migration may rebuild an index over every row: it runs without the
                // configured statement_timeout, on a connection closed afterwards.
                let mut conn = pool.acquire().await?;
                conn.close_on_drop();
                sqlx::query("SET statement_timeout = 0")
                    .execute(&mut *conn)
                    .await?;
                sqlx::migrate!("./migrations/postgres")
                    .run(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.execute("SELECT 1", ()).await.map(|_| ())
    }

    /// Soft-deletes a row and its dependents in one transaction. Every statement binds `$1` to
    /// `id` and `$2` to now; `main` is the row itself, and whether it touched a row is returned.
    pub(crate) async fn soft_delete_cascade(
        &self,
        main: &str,
        dependents: &[&str],
        id: i64,
    ) -> Result<bool, StoreError> {
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let deleted = sql::execute(&mut *tx, main, (id, now)).await?;
            for dependent in dependents {
                sql::execute(&mut *tx, dependent, (id, now)).await?;
            }
            // A change is recorded only when the row was there to delete.
            if deleted.rows_affected() > 0 {
                self.commit(tx).await?;
            } else {
                tx.commit().await?;
            }
            Ok(deleted.rows_affected() > 0)
        })
    }

    /// Runs one statement on the pool; how many rows it touched.
    pub(crate) async fn execute<'q>(
        &self,
        sql: &'q str,
        params: impl Binds<'q>,
    ) -> Result<u64, StoreError> {
        if changes::pending() && changes::is_write(sql) {
            return on_pool!(self, |pool| {
                let mut tx = pool.begin_write().await?;
                let touched = sql::execute(&mut *tx, sql, params).await?.rows_affected();
                if touched > 0 {
                    self.commit(tx).await?;
                } else {
                    tx.commit().await?;
                }
                Ok(touched)
            });
        }
        on_pool!(self, |pool| Ok(sql::execute(pool, sql, params)
            .await?
            .rows_affected()))
    }

    /// Commits a write transaction with the task's pending changes recorded in it, and wakes
    /// the webhook sender when they raised events.
    pub(crate) async fn commit<DB: sqlx::Database>(
        &self,
        mut tx: sqlx::Transaction<'static, DB>,
    ) -> Result<(), StoreError>
    where
        DB::Connection: changes::RecordChanges,
    {
        use changes::RecordChanges as _;
        let evented = tx.record_changes().await?;
        tx.commit().await?;
        if evented {
            self.outbox.notify_one();
        }
        Ok(())
    }

    /// Woken when a committed change raised webhook events (the sender waits on it).
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.outbox)
    }

    pool_fetch!(
        /// The row a query on the pool returns, if any.
        fetch_optional -> Option<O>, |row| row.is_some()
    );

    pool_fetch!(
        /// The one row a query on the pool returns; none is an error.
        fetch_one -> O, |row| { let _ = &row; true }
    );

    pool_fetch!(
        /// Every row a query on the pool returns.
        fetch_all -> Vec<O>, |rows| !rows.is_empty()
    );

    /// A page of rows, and how many rows there are in all: two statements, each with its values.
    pub(crate) async fn fetch_page<'q, O: Row>(
        &self,
        (rows, rows_params): (&'q str, impl Binds<'q>),
        (count, count_params): (&'q str, impl Binds<'q>),
    ) -> Result<(Vec<O>, i64), StoreError> {
        let rows = self.fetch_all(rows, rows_params).await?;
        let (count,): (i64,) = self.fetch_one(count, count_params).await?;
        Ok((rows, count))
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }

    /// The connections the store holds open: `(open, of them idle)`.
    #[cfg(test)]
    pub(crate) fn connections(&self) -> (u32, usize) {
        on_pool!(self, |pool| (pool.size(), pool.num_idle()))
    }

    /// Closes the embedded database's connections but one when none is in use. Each SQLite
    /// connection holds a worker thread, the parsed schema and its own page cache (some
    /// 0.4 MiB), and the pool opens a new one whenever a query starts while the last one is
    /// still being handed back, so a few queries in a row leave three or four open for good.
    /// Opening one again costs about a millisecond. PostgreSQL connections are left to the
    /// pool's own idle timeout: their cost is on the server's side.
    pub async fn close_surplus_connections(&self) -> u32 {
        let Database::Sqlite(pool) = &self.db else {
            return 0;
        };
        let open = pool.size();
        if open <= 1 || pool.num_idle() != open as usize {
            return 0;
        }
        let mut closed = 0;
        for _ in 1..open {
            // An idle connection taken here is one no query is waiting for; if a query took
            // one meanwhile, fewer are closed.
            let Some(connection) = pool.try_acquire() else {
                break;
            };
            if connection.close().await.is_ok() {
                closed += 1;
            }
        }
        closed
    }
}

/// The current UTC time at the one-second precision every stored timestamp has.
/// A list kept as a JSON array column: NULL when empty.
pub(crate) fn list_json(list: &[String]) -> Option<String> {
    (!list.is_empty())
        .then(|| serde_json::to_string(list).ok())
        .flatten()
}

/// A JSON array column read back: empty when NULL or unreadable.
pub(crate) fn json_list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

pub fn now_utc() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(0).unwrap_or(now)
}

/// Formats a stored timestamp the way the API shows it: `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_timestamp(ts: &NaiveDateTime) -> String {
    ts.format("%Y-%m-%d %H:%M:%S").to_string()
}
