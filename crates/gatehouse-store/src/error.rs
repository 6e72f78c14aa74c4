/// A storage failure. Carries no web-framework types; the server maps it to HTTP once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique rule was broken (for example a second app with the same client id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store was given settings it cannot use.
    #[error("{0}")]
    Config(String),
    /// A stored value could not be read back (a bug or a hand-edited row).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database could not be reached, or refused the connection (TLS, timeout).
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// What was connected to, without credentials (`PostgreSQL at host:port`).
        target: String,
        reason: String,
        failure: ConnectFailure,
    },
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db_err) = err.as_database_error() {
            if db_err.is_unique_violation() {
                return StoreError::Conflict(db_err.message().to_owned());
            }
        }
        StoreError::Database(err)
    }
}

/// What stopped a connection to the database, for the hint shown beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The TLS handshake: the server's certificate was refused, or TLS was not offered.
    Tls,
    /// No connection within the connect timeout (the server is down or unreachable).
    Timeout,
    /// Anything else: refused, reset, or turned away by the server (`pg_hba.conf`, sign-in).
    Refused,
}
