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
