//! Scopes (with their type: `spa` or `s2s`).

use std::future::Future;

use crate::{now_utc, on_pool, Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewScope {
    pub name: String,
    pub scope_type: String,
    pub note: String,
}

pub trait ScopeStore {
    /// Creates the scope unless a live one has that name; returns whether it was created.
    fn insert_scope_if_absent(
        &self,
        scope: &NewScope,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn scope_names(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

impl ScopeStore for Store {
    async fn insert_scope_if_absent(&self, scope: &NewScope) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO scopes (name, type, note, created_at, updated_at) \
            SELECT $1, $2, $3, $4, $4 WHERE NOT EXISTS \
            (SELECT 1 FROM scopes WHERE name = $1 AND deleted_at IS NULL)";
        let done = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&scope.name)
            .bind(&scope.scope_type)
            .bind(&scope.note)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    async fn scope_names(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT name FROM scopes WHERE deleted_at IS NULL ORDER BY id";
        let rows: Vec<(String,)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }
}
