//! Reads a Melody Auth database: its PostgreSQL schema (knex) or its SQLite file (a D1 export).
//! The two differ only in dialect, and quoted camelCase names with every value cast to text read
//! the same on both, so there is one set of queries.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use gatehouse_core::melody::{SourceRow, SourceTable, SOURCE_TABLES};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::Row;

use crate::Database;

/// Why a Melody source could not be read. Nothing has been written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum MelodySourceError {
    #[error("cannot open the Melody database: {0}")]
    Open(String),
    #[error("not a Melody Auth database: {0}")]
    NotMelody(String),
    #[error("reading the Melody database failed: {0}")]
    Read(String),
}

/// One Melody table as read; `rows` is `None` when the source has no such table (a Melody
/// release from before it was added).
#[derive(Debug, Clone)]
pub struct SourceTableRows {
    pub table: SourceTable,
    pub rows: Option<Vec<SourceRow>>,
    /// Columns the import reads that this source lacks (read as missing values).
    pub absent_columns: Vec<&'static str>,
}

/// An open Melody database, read-only.
pub struct MelodySource {
    db: Database,
}

impl MelodySource {
    /// Connects to Melody's PostgreSQL database (`postgres://…`).
    pub async fn open_postgres(url: &str) -> Result<Self, MelodySourceError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| MelodySourceError::Open(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| MelodySourceError::Open(e.to_string()))?;
        Ok(Self {
            db: Database::Postgres(pool),
        })
    }

    /// Opens Melody's SQLite file read-only; a missing file is an error, never created.
    pub async fn open_sqlite(path: &Path) -> Result<Self, MelodySourceError> {
        if !path.is_file() {
            return Err(MelodySourceError::Open(format!(
                "no such file: {}",
                path.display()
            )));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| MelodySourceError::Open(e.to_string()))?;
        Ok(Self {
            db: Database::Sqlite(pool),
        })
    }

    /// Reads every table the import knows, checking first that the source is Melody's schema.
    pub async fn read_all(&self) -> Result<Vec<SourceTableRows>, MelodySourceError> {
        let mut tables = Vec::with_capacity(SOURCE_TABLES.len());
        for table in SOURCE_TABLES {
            tables.push(self.read_table(table).await?);
        }
        Ok(tables)
    }

    async fn read_table(&self, table: SourceTable) -> Result<SourceTableRows, MelodySourceError> {
        if !self
            .answers(&format!("SELECT 1 FROM \"{}\" WHERE 1 = 0", table.name))
            .await?
        {
            if table.required {
                return Err(MelodySourceError::NotMelody(format!(
                    "it has no table \"{}\"",
                    table.name
                )));
            }
            return Ok(SourceTableRows {
                table,
                rows: None,
                absent_columns: Vec::new(),
            });
        }
        let mut present = Vec::new();
        let mut absent_columns = Vec::new();
        for &column in table.columns {
            // Qualified by the table: SQLite reads an unknown double-quoted name alone as a
            // string literal, so `SELECT "socialAccountId"` would "find" a missing column and
            // read its name as every row's value.
            let probe = format!(
                "SELECT \"{0}\".\"{column}\" FROM \"{0}\" WHERE 1 = 0",
                table.name
            );
            if self.answers(&probe).await? {
                present.push(column);
            } else if table.key_columns.contains(&column) {
                return Err(MelodySourceError::NotMelody(format!(
                    "table \"{}\" has no column \"{column}\"",
                    table.name
                )));
            } else {
                absent_columns.push(column);
            }
        }
        let select: Vec<String> = present
            .iter()
            .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
            .collect();
        let order = if present.contains(&"id") {
            " ORDER BY \"id\""
        } else {
            ""
        };
        let sql = format!(
            "SELECT {} FROM \"{}\"{order}",
            select.join(", "),
            table.name
        );
        let rows = crate::on_pool!(self, |pool| {
            let rows = sqlx::query(&sql)
                .fetch_all(pool)
                .await
                .map_err(|e| MelodySourceError::Read(format!("table \"{}\": {e}", table.name)))?;
            rows.iter()
                .map(|row| {
                    let values = present
                        .iter()
                        .enumerate()
                        .map(|(i, &column)| Ok((column, row.try_get::<Option<String>, _>(i)?)))
                        .collect::<Result<Vec<_>, sqlx::Error>>()
                        .map_err(|e| {
                            MelodySourceError::Read(format!("table \"{}\": {e}", table.name))
                        })?;
                    Ok(SourceRow::new(values))
                })
                .collect::<Result<Vec<_>, MelodySourceError>>()
        })?;
        Ok(SourceTableRows {
            table,
            rows: Some(rows),
            absent_columns,
        })
    }

    /// Whether the database accepts a query: a database error (no such table or column) is
    /// `false`; a lost connection is an error.
    async fn answers(&self, sql: &str) -> Result<bool, MelodySourceError> {
        let result = crate::on_pool!(self, |pool| sqlx::query(sql)
            .fetch_all(pool)
            .await
            .map(|_| ()));
        match result {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(_)) => Ok(false),
            Err(e) => Err(MelodySourceError::Read(e.to_string())),
        }
    }

    pub async fn close(&self) {
        crate::on_pool!(self, |pool| pool.close().await)
    }
}
