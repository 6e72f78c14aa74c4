//! Roles users can hold (`super_admin` is built in).

use chrono::NaiveDateTime;

use crate::users::{user_columns_u, UserRecord};
use crate::{live_rows, now_utc, soft_delete, LiveRows, Store, StoreError, StoreFuture};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleRecord {
    pub id: i64,
    pub name: String,
    pub note: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

macro_rules! role_columns {
    () => {
        "id, name, note, created_at, updated_at"
    };
}

const ROLES: LiveRows = live_rows!(role_columns, "roles");

pub trait RoleStore {
    /// Creates the role unless a live one has that name; returns whether it was created.
    fn insert_role_if_absent(&self, name: &str, note: &str) -> impl StoreFuture<bool>;
    fn list_roles(&self) -> impl StoreFuture<Vec<RoleRecord>>;
    fn role_by_id(&self, id: i64) -> impl StoreFuture<Option<RoleRecord>>;
    /// A live role with that name is a `Conflict`.
    fn insert_role(&self, name: &str, note: &str) -> impl StoreFuture<RoleRecord>;
    /// `None` fields stay as they are; `None` result when there is no live role with that id.
    fn update_role(
        &self,
        id: i64,
        name: Option<&str>,
        note: Option<&str>,
    ) -> impl StoreFuture<Option<RoleRecord>>;
    /// Soft-deletes the role and who holds it; whether it existed.
    fn delete_role(&self, id: i64) -> impl StoreFuture<bool>;
    /// Live users holding the role, oldest first.
    fn users_with_role(&self, role_id: i64) -> impl StoreFuture<Vec<UserRecord>>;
}

impl RoleStore for Store {
    async fn insert_role_if_absent(&self, name: &str, note: &str) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO roles (name, note, created_at, updated_at) \
            SELECT $1, $2, $3, $3 WHERE NOT EXISTS \
            (SELECT 1 FROM roles WHERE name = $1 AND deleted_at IS NULL)";
        let done = self.execute(SQL, (name, note, now_utc())).await?;
        Ok(done == 1)
    }

    async fn list_roles(&self) -> Result<Vec<RoleRecord>, StoreError> {
        self.fetch_all(ROLES.all, ()).await
    }

    async fn role_by_id(&self, id: i64) -> Result<Option<RoleRecord>, StoreError> {
        self.fetch_optional(ROLES.by_id, (id,)).await
    }

    async fn insert_role(&self, name: &str, note: &str) -> Result<RoleRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO roles (name, note, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING ",
            role_columns!()
        );
        self.fetch_one(INSERT, (name, note, now_utc())).await
    }

    async fn update_role(
        &self,
        id: i64,
        name: Option<&str>,
        note: Option<&str>,
    ) -> Result<Option<RoleRecord>, StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = concat!(
            "UPDATE roles SET name = COALESCE($2, name), note = COALESCE($3, note), updated_at = $4 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            role_columns!()
        );
        self.fetch_optional(SQL, (id, name, note, now_utc())).await
    }

    async fn delete_role(&self, id: i64) -> Result<bool, StoreError> {
        let _changed = self.writing_user_data();
        self.soft_delete_cascade(ROLES.delete, &[soft_delete!("user_roles", "role_id")], id)
            .await
    }

    async fn users_with_role(&self, role_id: i64) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u JOIN user_roles ur ON ur.user_id = u.id \
             WHERE ur.role_id = $1 AND ur.deleted_at IS NULL AND u.deleted_at IS NULL ORDER BY u.id"
        );
        self.fetch_all(SQL, (role_id,)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{store, user};
    use crate::{UserChanges, UserStore};

    #[tokio::test]
    async fn a_role_name_is_held_by_one_live_role() {
        let store = store().await;
        assert!(store
            .insert_role_if_absent("super_admin", "built in")
            .await
            .expect("seed"));
        assert!(!store
            .insert_role_if_absent("super_admin", "again")
            .await
            .expect("reseed"));
        let taken = store.insert_role("super_admin", "").await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        let roles = store.list_roles().await.expect("list");
        let names: Vec<(&str, &str)> = roles
            .iter()
            .map(|r| (r.name.as_str(), r.note.as_str()))
            .collect();
        assert_eq!(names, [("super_admin", "built in")]);
    }

    #[tokio::test]
    async fn updating_a_role_keeps_what_is_not_given() {
        let store = store().await;
        let role = store.insert_role("editor", "edits").await.expect("insert");
        let renamed = store
            .update_role(role.id, Some("writer"), None)
            .await
            .expect("update");
        let renamed = renamed.expect("the role is live");
        assert_eq!(
            (renamed.name.as_str(), renamed.note.as_str()),
            ("writer", "edits")
        );
        assert_eq!(
            store.role_by_id(role.id).await.expect("read"),
            Some(renamed)
        );
        assert_eq!(
            store
                .update_role(role.id + 1, None, Some("x"))
                .await
                .expect("none"),
            None
        );
    }

    #[tokio::test]
    async fn deleting_a_role_takes_it_from_every_holder() {
        let store = store().await;
        let role = store.insert_role("admin", "").await.expect("insert");
        let holder = user(&store, "a@example.com").await;
        let changes = UserChanges::default();
        store
            .update_user(holder.id, &changes, Some(&[role.id]))
            .await
            .expect("assign");
        let holders = store.users_with_role(role.id).await.expect("holders");
        assert_eq!(
            holders.iter().map(|u| u.id).collect::<Vec<_>>(),
            [holder.id]
        );

        assert!(store.delete_role(role.id).await.expect("delete"));
        assert!(store
            .users_with_role(role.id)
            .await
            .expect("holders")
            .is_empty());
        assert!(store
            .user_role_names(holder.id)
            .await
            .expect("names")
            .is_empty());
        assert_eq!(store.role_by_id(role.id).await.expect("read"), None);
        assert!(!store.delete_role(role.id).await.expect("again"));
        // The name is free again once the role is gone.
        assert!(store
            .insert_role_if_absent("admin", "")
            .await
            .expect("reuse"));
    }
}
