//! Opening the database: pool size, timeouts and, for PostgreSQL, TLS (`sslmode` in the URL,
//! the CA certificates from the operator).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::ConnectFailure;
use crate::{Database, Store, StoreError};

/// How to connect to the database, beyond its URL.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a connection: a free one from the pool, or a new one
    /// (TCP, TLS handshake and sign-in) before it fails.
    pub connect_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection; `None` leaves the server's own.
    pub statement_timeout: Option<Duration>,
    /// PEM certificates of the authorities that signed the PostgreSQL server's certificate,
    /// trusted besides the system's. Only `sslmode=verify-ca` and `verify-full` check them.
    pub ca_pem: Option<Vec<u8>>,
}

impl DatabaseOptions {
    /// A pool of `max_connections` with the default timeouts and no extra CA.
    pub fn pool_of(max_connections: u32) -> Self {
        Self {
            max_connections,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: None,
            ca_pem: None,
        }
    }
}

/// Whether a PostgreSQL URL asks for the server's certificate to be checked against a CA
/// (`sslmode=verify-ca` or `verify-full`), so a CA file given beside it is used.
pub fn postgres_url_verifies_certificate(url: &str) -> Result<bool, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    Ok(matches!(
        options.get_ssl_mode(),
        PgSslMode::VerifyCa | PgSslMode::VerifyFull
    ))
}

impl Store {
    /// Connects to `url` with a pool of `max_connections` and the default timeouts.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, &DatabaseOptions::pool_of(max_connections)).await
    }

    /// Connects to `url`: `postgres://…`/`postgresql://…` (TLS as its `sslmode` says), or
    /// `sqlite:PATH` (the file is created when missing). One connection is opened at once, so
    /// an unreachable server or a refused certificate is reported here.
    pub async fn connect_with(url: &str, options: &DatabaseOptions) -> Result<Self, StoreError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Database::Postgres(connect_postgres(url, options).await?)
        } else if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // An in-memory database exists once per connection, so it must have exactly one.
            let max = if url.contains(":memory:") {
                1
            } else {
                options.max_connections
            };
            // A SQLite connection is a file handle in this process: pinging it before each
            // use (the pool's default) only costs a round trip to its worker thread, a
            // third of what a query costs. The pool still pings it on release.
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .test_before_acquire(false)
                .acquire_timeout(options.connect_timeout)
                .after_release(|conn, _| Box::pin(outside_any_transaction(conn)))
                .connect_with(connect)
                .await?;
            Database::Sqlite(pool)
        } else {
            return Err(StoreError::Config(
                "database_url must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        };
        Ok(Self::over(db))
    }
}

/// Whether a released SQLite connection may go back to the pool: only outside any
/// transaction. On a full disk (or an I/O error) SQLite rolls a transaction back by itself, so
/// the driver's own ROLLBACK fails and it would count the connection as still inside one,
/// refusing every later `BEGIN` on it for good; such a connection is closed instead. Most
/// releases are outside any transaction and cost one atomic read; only a connection still
/// counting one is pinged, which lets the rollback queued by a dropped transaction run first.
async fn outside_any_transaction(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::{Connection, TransactionManager};
    let depth = <sqlx::Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth;
    if depth(conn) == 0 {
        return Ok(true);
    }
    conn.ping().await?;
    Ok(depth(conn) == 0)
}

async fn connect_postgres(
    url: &str,
    options: &DatabaseOptions,
) -> Result<sqlx::PgPool, StoreError> {
    let mut connect = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    // Named where the URL leaves it out, so an operator finds these connections in
    // pg_stat_activity.
    if connect.get_application_name().is_none() {
        connect = connect.application_name("gatehouse");
    }
    if let Some(pem) = &options.ca_pem {
        connect = connect.ssl_root_cert_from_pem(pem.clone());
    }
    if let Some(timeout) = options.statement_timeout {
        // Sent in the start-up packet: the session's default, with no extra round trip.
        connect = connect.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
    }
    // The host and port only: the URL may hold a password.
    let target = format!(
        "PostgreSQL at {}:{}",
        connect.get_host(),
        connect.get_port()
    );
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        .connect_with(connect)
        .await
        .map_err(|err| {
            let (failure, reason) = match err {
                sqlx::Error::Tls(cause) => (
                    ConnectFailure::Tls,
                    format!("the TLS handshake failed: {cause}"),
                ),
                // rustls reports a refused certificate through the socket, as an I/O error.
                sqlx::Error::Io(cause) if rustls_error(&cause).is_some() => (
                    ConnectFailure::Tls,
                    format!(
                        "the TLS handshake failed: {}",
                        rustls_error(&cause).map_or_else(String::new, ToString::to_string)
                    ),
                ),
                sqlx::Error::PoolTimedOut => (
                    ConnectFailure::Timeout,
                    format!(
                        "no connection within {} s",
                        options.connect_timeout.as_secs()
                    ),
                ),
                sqlx::Error::Database(cause) => {
                    (ConnectFailure::Refused, cause.message().to_owned())
                }
                other => (ConnectFailure::Refused, other.to_string()),
            };
            StoreError::Connect {
                target,
                reason,
                failure,
            }
        })
}

fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a full disk does: SQLite rolls the transaction back under the driver, whose own
    /// ROLLBACK then fails. The connection must not come back from the pool stuck in it.
    #[tokio::test]
    async fn a_transaction_sqlite_rolled_back_itself_does_not_poison_the_pool() {
        let store = Store::connect("sqlite::memory:", 1).await.unwrap();
        let Database::Sqlite(pool) = &store.db else {
            panic!("not SQLite");
        };
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        drop(tx);
        let again = pool.begin_with("BEGIN IMMEDIATE").await;
        assert!(again.is_ok(), "{:?}", again.err());
    }

    /// Waits until every open connection is back in the pool (a released one is handed back
    /// by a task of its own).
    async fn all_idle(store: &Store) -> (u32, usize) {
        for _ in 0..200 {
            let (open, idle) = store.connections();
            if open as usize == idle {
                return (open, idle);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        store.connections()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn surplus_sqlite_connections_close_only_when_none_is_in_use() {
        let dir = std::env::temp_dir().join(format!("gh_store_surplus_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite:{}", dir.join("gatehouse.db").display());
        let store = Store::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let Database::Sqlite(pool) = &store.db else {
            panic!("not SQLite");
        };
        let held = [
            pool.acquire().await.unwrap(),
            pool.acquire().await.unwrap(),
            pool.acquire().await.unwrap(),
        ];
        // One in use: nothing is closed, not even the idle ones beside it.
        let [first, second, third] = held;
        drop((first, second));
        while store.connections().1 < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(store.close_surplus_connections().await, 0);
        assert_eq!(store.connections().0, 3);
        drop(third);
        assert_eq!(all_idle(&store).await, (3, 3));
        assert_eq!(store.close_surplus_connections().await, 2);
        assert_eq!(store.connections(), (1, 1));
        // A lone connection stays, and the data is still there through it.
        assert_eq!(store.close_surplus_connections().await, 0);
        let (tables,): (i64,) = sqlx::query_as("SELECT count(*) FROM sqlite_master")
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(tables > 0);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
