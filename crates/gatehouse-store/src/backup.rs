//! Copies of the embedded (SQLite) database: a consistent snapshot of a live one, and the
//! checks a copy passes before it replaces one. PostgreSQL has its own tools (pg_dump).

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::{Database, Store, StoreError};

/// The schema version of a database: the newest migration applied to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaVersion(pub i64);

/// The newest SQLite migration this binary carries.
pub fn latest_sqlite_schema() -> SchemaVersion {
    SchemaVersion(
        sqlx::migrate!("./migrations/sqlite")
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0),
    )
}

impl Store {
    /// Writes a consistent copy of the SQLite database to `destination` (which must not
    /// exist) with `VACUUM INTO`: one read transaction, so writers carry on meanwhile.
    pub async fn backup_into(&self, destination: &Path) -> Result<(), StoreError> {
        let Database::Sqlite(pool) = &self.db else {
            return Err(StoreError::Config(
                "backups of a PostgreSQL database are made with pg_dump".into(),
            ));
        };
        let destination = destination.to_str().ok_or_else(|| {
            StoreError::Config(format!(
                "the backup path {} is not valid UTF-8",
                destination.display()
            ))
        })?;
        sqlx::query("VACUUM INTO ?1")
            .bind(destination)
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// Checks that the SQLite file at `path` is whole (`PRAGMA integrity_check`) and a Gatehouse
/// database, and returns its schema version. The file is opened for writing (a copy in WAL
/// mode needs its `-shm`), never created.
pub async fn check_sqlite_file(path: &Path) -> Result<SchemaVersion, StoreError> {
    let unusable = |e: sqlx::Error| {
        StoreError::Corrupt(format!(
            "{} is not a usable SQLite database: {e}",
            path.display()
        ))
    };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(unusable)?;
    let result = check_pool(&pool, path).await;
    pool.close().await;
    result
}

async fn check_pool(pool: &sqlx::SqlitePool, path: &Path) -> Result<SchemaVersion, StoreError> {
    let problems: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(pool)
        .await
        .map_err(|e| {
            StoreError::Corrupt(format!(
                "{} is not a usable SQLite database: {e}",
                path.display()
            ))
        })?;
    if problems.len() != 1 || problems[0].0 != "ok" {
        let shown: Vec<&str> = problems.iter().take(5).map(|(p,)| p.as_str()).collect();
        return Err(StoreError::Corrupt(format!(
            "{} failed the integrity check: {}",
            path.display(),
            shown.join("; ")
        )));
    }
    let version: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_optional(pool)
            .await
            .map_err(|_| {
                StoreError::Corrupt(format!(
                    "{} is not a Gatehouse database: it has no record of migrations",
                    path.display()
                ))
            })?;
    match version.and_then(|(v,)| v) {
        Some(version) => Ok(SchemaVersion(version)),
        None => Err(StoreError::Corrupt(format!(
            "{} is not a Gatehouse database: no migration was applied to it",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_backup_passes_the_check_at_the_binarys_schema_version() {
        let dir = std::env::temp_dir().join(format!("gh_store_backup_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(&format!("sqlite:{}", dir.join("live.db").display()), 2)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let copy = dir.join("copy.db");
        store.backup_into(&copy).await.unwrap();
        assert_eq!(
            check_sqlite_file(&copy).await.unwrap(),
            latest_sqlite_schema()
        );
        // VACUUM INTO refuses to overwrite.
        assert!(store.backup_into(&copy).await.is_err());
        std::fs::write(dir.join("junk.db"), b"not a database at all, just text").unwrap();
        assert!(matches!(
            check_sqlite_file(&dir.join("junk.db")).await,
            Err(StoreError::Corrupt(_))
        ));
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
