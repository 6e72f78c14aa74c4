//! Scopes (with their type: `spa` or `s2s`).

use chrono::NaiveDateTime;

use crate::{
    live_rows, now_utc, on_pool, soft_delete, sql, LiveRows, Store, StoreError, StoreFuture,
};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScopeRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(rename = "type")]
    pub scope_type: String,
    pub note: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScopeLocaleRecord {
    pub id: i64,
    pub scope_id: i64,
    pub locale: String,
    pub value: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Changes to a scope; `None` leaves a field as it is, `Some` locales replace them all.
#[derive(Debug, Clone, Default)]
pub struct ScopeChanges {
    pub name: Option<String>,
    pub note: Option<String>,
    pub locales: Option<Vec<(String, String)>>,
}

macro_rules! scope_columns {
    () => {
        "id, name, type, note, created_at, updated_at"
    };
}

const SCOPES: LiveRows = live_rows!(scope_columns, "scopes");

#[derive(Debug, Clone)]
pub struct NewScope {
    pub name: String,
    pub scope_type: String,
    pub note: String,
}

pub trait ScopeStore {
    /// Creates the scope unless a live one has that name; returns whether it was created.
    fn insert_scope_if_absent(&self, scope: &NewScope) -> impl StoreFuture<bool>;
    fn scope_names(&self) -> impl StoreFuture<Vec<String>>;
    fn list_scopes(&self) -> impl StoreFuture<Vec<ScopeRecord>>;
    fn scope_by_id(&self, id: i64) -> impl StoreFuture<Option<ScopeRecord>>;
    fn scope_locales(&self, scope_id: i64) -> impl StoreFuture<Vec<ScopeLocaleRecord>>;
    /// Creates a scope with its locale texts. A live scope with that name is a `Conflict`.
    fn insert_scope(
        &self,
        scope: &NewScope,
        locales: &[(String, String)],
    ) -> impl StoreFuture<ScopeRecord>;
    /// Applies the changes; `None` when there is no live scope with that id.
    fn update_scope(
        &self,
        id: i64,
        changes: &ScopeChanges,
    ) -> impl StoreFuture<Option<ScopeRecord>>;
    /// Soft-deletes the scope, its locale texts and its app links; whether it existed.
    fn delete_scope(&self, id: i64) -> impl StoreFuture<bool>;
}

impl ScopeStore for Store {
    async fn insert_scope_if_absent(&self, scope: &NewScope) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO scopes (name, type, note, created_at, updated_at) \
            SELECT $1, $2, $3, $4, $4 WHERE NOT EXISTS \
            (SELECT 1 FROM scopes WHERE name = $1 AND deleted_at IS NULL)";
        let done = self
            .execute(
                SQL,
                (&scope.name, &scope.scope_type, &scope.note, now_utc()),
            )
            .await?;
        Ok(done == 1)
    }

    async fn scope_names(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT name FROM scopes WHERE deleted_at IS NULL ORDER BY id";
        let rows: Vec<(String,)> = self.fetch_all(SQL, ()).await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn list_scopes(&self) -> Result<Vec<ScopeRecord>, StoreError> {
        self.fetch_all(SCOPES.all, ()).await
    }

    async fn scope_by_id(&self, id: i64) -> Result<Option<ScopeRecord>, StoreError> {
        self.fetch_optional(SCOPES.by_id, (id,)).await
    }

    async fn scope_locales(&self, scope_id: i64) -> Result<Vec<ScopeLocaleRecord>, StoreError> {
        const SQL: &str = "SELECT id, scope_id, locale, value, created_at, updated_at \
            FROM scope_locales WHERE scope_id = $1 AND deleted_at IS NULL ORDER BY id";
        self.fetch_all(SQL, (scope_id,)).await
    }

    async fn insert_scope(
        &self,
        scope: &NewScope,
        locales: &[(String, String)],
    ) -> Result<ScopeRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO scopes (name, type, note, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING ",
            scope_columns!()
        );
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let record: ScopeRecord = sql::fetch_one(
                &mut *tx,
                INSERT,
                (&scope.name, &scope.scope_type, &scope.note, now),
            )
            .await?;
            for (locale, value) in locales {
                sql::execute(&mut *tx, INSERT_LOCALE, (record.id, locale, value, now)).await?;
            }
            self.commit(tx).await?;
            Ok(record)
        })
    }

    async fn update_scope(
        &self,
        id: i64,
        changes: &ScopeChanges,
    ) -> Result<Option<ScopeRecord>, StoreError> {
        const UPDATE: &str = concat!(
            "UPDATE scopes SET name = COALESCE($2, name), note = COALESCE($3, note), updated_at = $4 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            scope_columns!()
        );
        const DROP_LOCALES: &str = "UPDATE scope_locales SET deleted_at = $2, updated_at = $2 \
            WHERE scope_id = $1 AND deleted_at IS NULL";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let record: Option<ScopeRecord> =
                sql::fetch_optional(&mut *tx, UPDATE, (id, &changes.name, &changes.note, now))
                    .await?;
            if record.is_some() {
                if let Some(locales) = &changes.locales {
                    sql::execute(&mut *tx, DROP_LOCALES, (id, now)).await?;
                    for (locale, value) in locales {
                        sql::execute(&mut *tx, INSERT_LOCALE, (id, locale, value, now)).await?;
                    }
                }
            }
            self.commit(tx).await?;
            Ok(record)
        })
    }

    async fn delete_scope(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(
            SCOPES.delete,
            &[
                soft_delete!("scope_locales", "scope_id"),
                soft_delete!("app_scopes", "scope_id"),
            ],
            id,
        )
        .await
    }
}

const INSERT_LOCALE: &str =
    "INSERT INTO scope_locales (scope_id, locale, value, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $4)";
