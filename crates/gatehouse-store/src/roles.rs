//! Roles users can hold (`super_admin` is built in).

use std::future::Future;

use crate::{now_utc, on_pool, Store, StoreError};

pub trait RoleStore {
    /// Creates the role unless a live one has that name; returns whether it was created.
    fn insert_role_if_absent(
        &self,
        name: &str,
        note: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl RoleStore for Store {
    async fn insert_role_if_absent(&self, name: &str, note: &str) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO roles (name, note, created_at, updated_at) \
            SELECT $1, $2, $3, $3 WHERE NOT EXISTS \
            (SELECT 1 FROM roles WHERE name = $1 AND deleted_at IS NULL)";
        let done = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(name)
            .bind(note)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}
