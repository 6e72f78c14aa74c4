//! Writing imported records: one transaction for a whole import, so a failed run leaves the
//! database as it was and a dry run is the same run rolled back.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;
use gatehouse_core::melody::{Cell, Record, Table};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::changes::RecordChanges;
use crate::{now_utc, BeginWrite, Database, Store, StoreError};

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Written now, with its new id.
    Inserted(i64),
    /// A live row with the same natural key was there already.
    Present(i64),
    /// Another live row holds one of the record's other unique values (the columns named).
    Conflict(Vec<&'static str>),
}

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// An import in progress. Dropped without `commit`, it writes nothing.
pub struct ImportTx {
    tx: Tx,
    /// The users written, counted on PostgreSQL once at the end (its counting triggers are
    /// deferred for the import: see migration 0022).
    imported_users: Vec<i64>,
}

/// Runs `$body` with `$conn` bound to the transaction's connection, on either backend.
macro_rules! on_tx {
    ($self:expr, |$conn:ident| $body:expr) => {
        match &mut $self.tx {
            Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Binds cells in order; time cells are parsed here (core checked their shape).
macro_rules! bind_cells {
    ($query:expr, $cells:expr) => {{
        let mut query = $query;
        for cell in $cells {
            query = match cell {
                Cell::Text(value) => query.bind(value.clone()),
                Cell::Int(value) => query.bind(*value),
                Cell::Bool(value) => query.bind(*value),
                Cell::Time(value) => query.bind(parse_time(value.as_deref())?),
            };
        }
        query
    }};
}

fn parse_time(text: Option<&str>) -> Result<Option<NaiveDateTime>, StoreError> {
    text.map(|t| {
        NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
            .map_err(|e| StoreError::Config(format!("timestamp {t}: {e}")))
    })
    .transpose()
}

/// `col = $n` for values, `col IS NULL` for missing text (which binds nothing).
fn where_clause(key: &[(&'static str, Cell)]) -> (String, Vec<Cell>) {
    let mut parts = Vec::new();
    let mut bound = Vec::new();
    for (column, cell) in key {
        match cell {
            Cell::Text(None) | Cell::Time(None) => parts.push(format!("{column} IS NULL")),
            other => {
                bound.push(other.clone());
                parts.push(format!("{column} = ${}", bound.len()));
            }
        }
    }
    parts.push("deleted_at IS NULL".into());
    (parts.join(" AND "), bound)
}

impl Store {
    /// Starts an import. Its writes are seen by nobody until `commit`.
    pub async fn begin_import(&self) -> Result<ImportTx, StoreError> {
        let tx = match &self.db {
            Database::Sqlite(pool) => Tx::Sqlite(pool.begin_write().await?),
            Database::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                // The lookups are prepared once and run a million times while the tables grow
                // from empty: a plan cached for the empty table reads every row, each time.
                // Planning each run for the table as it is keeps them index lookups.
                for setting in [
                    "SET LOCAL gatehouse.deferred_counts = 'on'",
                    "SET LOCAL plan_cache_mode = force_custom_plan",
                ] {
                    sqlx::query(setting).execute(&mut *tx).await?;
                }
                Tx::Postgres(tx)
            }
        };
        Ok(ImportTx {
            tx,
            imported_users: Vec::new(),
        })
    }
}

impl ImportTx {
    /// The id of the live row of `table` matching every key column.
    pub async fn find(
        &mut self,
        table: Table,
        key: &[(&'static str, Cell)],
    ) -> Result<Option<i64>, StoreError> {
        let (condition, cells) = where_clause(key);
        let sql = format!(
            "SELECT id FROM {} WHERE {condition} ORDER BY id LIMIT 1",
            table.as_str()
        );
        let found: Option<(i64,)> = on_tx!(self, |conn| {
            bind_cells!(sqlx::query_as(&sql), &cells)
                .fetch_optional(conn)
                .await?
        });
        Ok(found.map(|(id,)| id))
    }

    /// Writes the record unless a live row has its natural key; a row holding one of its other
    /// unique values is a conflict and nothing is written.
    pub async fn import(&mut self, record: &Record) -> Result<ImportOutcome, StoreError> {
        if let Some(id) = self.find(record.table, &record.key).await? {
            return Ok(ImportOutcome::Present(id));
        }
        for other in &record.other_keys {
            if self.find(record.table, other).await?.is_some() {
                let columns: Vec<&'static str> = other.iter().map(|(c, _)| *c).collect();
                return Ok(ImportOutcome::Conflict(columns));
            }
        }
        let id = self.insert(record).await?;
        if record.table == Table::Users && matches!(self.tx, Tx::Postgres(_)) {
            self.imported_users.push(id);
        }
        Ok(ImportOutcome::Inserted(id))
    }

    async fn insert(&mut self, record: &Record) -> Result<i64, StoreError> {
        let cells: Vec<&(&'static str, Cell)> =
            record.key.iter().chain(record.values.iter()).collect();
        let mut columns: Vec<&str> = cells.iter().map(|(c, _)| *c).collect();
        columns.extend(["created_at", "updated_at"]);
        let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) RETURNING id",
            record.table.as_str(),
            columns.join(", "),
            placeholders.join(", ")
        );
        let now = now_utc();
        let created = parse_time(record.created_at.as_deref())?.unwrap_or(now);
        let updated = parse_time(record.updated_at.as_deref())?.unwrap_or(created);
        let values = cells.iter().map(|(_, cell)| cell);
        let (id,): (i64,) = on_tx!(self, |conn| {
            bind_cells!(sqlx::query_as(&sql), values)
                .bind(created)
                .bind(updated)
                .fetch_one(conn)
                .await?
        });
        Ok(id)
    }

    /// Stores an imported user's TOTP secret, sealed by the caller for that user's id.
    pub async fn set_otp_secret(
        &mut self,
        user_id: UserId,
        sealed: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET otp_secret = $2 WHERE id = $1";
        on_tx!(self, |conn| {
            sqlx::query(SQL)
                .bind(user_id)
                .bind(sealed)
                .execute(conn)
                .await?;
        });
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(mut tx) => {
                tx.record_changes().await?;
                tx.commit().await?
            }
            Tx::Postgres(mut tx) => {
                count_imported(&mut tx, &self.imported_users).await?;
                tx.record_changes().await?;
                tx.commit().await?
            }
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Counts on PostgreSQL what the deferred triggers skipped: the imported users toward the
/// dashboard's totals and their sign-up days, and the users holding passkeys afresh (the import
/// may have given passkeys to users that were there before).
async fn count_imported(
    tx: &mut Transaction<'static, Postgres>,
    imported_users: &[i64],
) -> Result<(), StoreError> {
    const USER_TOTALS: &str = "UPDATE user_counts SET count = user_counts.count + added.n \
        FROM (SELECT counted, COUNT(*) AS n FROM users, unnest(user_count_names(mfa_types)) AS counted \
              WHERE id = ANY($1) AND deleted_at IS NULL GROUP BY counted) AS added \
        WHERE user_counts.name = added.counted";
    const SIGN_UP_DAYS: &str = "INSERT INTO daily_counts (name, day, count) \
        SELECT 'sign_ups', CAST(created_at AS DATE), COUNT(*) FROM users WHERE id = ANY($1) GROUP BY 2 \
        ON CONFLICT (name, day) DO UPDATE SET count = daily_counts.count + excluded.count";
    const PASSKEY_HOLDERS: &str = "UPDATE user_counts SET count = \
        (SELECT COUNT(DISTINCT p.user_id) FROM user_passkeys p JOIN users u ON u.id = p.user_id \
         WHERE p.deleted_at IS NULL AND u.deleted_at IS NULL) \
        WHERE name = 'users_with_passkeys'";
    sqlx::query("SET LOCAL gatehouse.deferred_counts = 'off'")
        .execute(&mut **tx)
        .await?;
    if !imported_users.is_empty() {
        sqlx::query(USER_TOTALS)
            .bind(imported_users)
            .execute(&mut **tx)
            .await?;
        sqlx::query(SIGN_UP_DAYS)
            .bind(imported_users)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(PASSKEY_HOLDERS).execute(&mut **tx).await?;
    Ok(())
}
