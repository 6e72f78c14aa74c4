//! What SCIM 2.0 provisioning stores beyond the accounts, roles and organization groups: the
//! `userName`, `externalId` and email labels a provisioning client gave a user, and the
//! `externalId` it gave a group, so they round-trip.

use std::collections::HashMap;

use gatehouse_core::ids::UserId;
use gatehouse_core::scim::ScimGroups;

use crate::{now_utc, Store, StoreError, StoreFuture};

/// What a provisioning client gave a user; `None` clears a field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScimUserFields<'a> {
    pub user_name: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub email_type: Option<&'a str>,
    pub email_primary: Option<bool>,
}

pub trait ScimUserStore {
    /// Whether a live user other than `except` shows `user_name` as their SCIM userName (their
    /// stored one, or their email when they have none), in any case.
    fn scim_user_name_taken(
        &self,
        user_name: &str,
        except: Option<UserId>,
    ) -> impl StoreFuture<bool>;
    /// Sets the user's SCIM fields; a userName another live user holds is
    /// `StoreError::Conflict`.
    fn set_scim_fields(&self, user_id: UserId, fields: ScimUserFields<'_>) -> impl StoreFuture<()>;
    /// The externalId of every live group (of the table SCIM Groups are) that has one.
    fn group_external_ids(&self, groups: ScimGroups) -> impl StoreFuture<HashMap<i64, String>>;
    /// Sets (or with `None` clears) a group's externalId.
    fn set_group_external_id(
        &self,
        groups: ScimGroups,
        id: i64,
        external_id: Option<&str>,
    ) -> impl StoreFuture<()>;
}

impl ScimUserStore for Store {
    async fn scim_user_name_taken(
        &self,
        user_name: &str,
        except: Option<UserId>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL \
            AND LOWER(COALESCE(scim_user_name, email)) = LOWER($1) AND ($2 IS NULL OR id <> $2)";
        let (n,): (i64,) = self.fetch_one(SQL, (user_name, except)).await?;
        Ok(n > 0)
    }

    async fn set_scim_fields(
        &self,
        user_id: UserId,
        fields: ScimUserFields<'_>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET scim_user_name = $2, scim_external_id = $3, \
            scim_email_type = $4, scim_email_primary = $5, updated_at = $6 \
            WHERE id = $1 AND deleted_at IS NULL";
        let ScimUserFields {
            user_name,
            external_id,
            email_type,
            email_primary,
        } = fields;
        let params = (
            user_id,
            user_name,
            external_id,
            email_type,
            email_primary,
            now_utc(),
        );
        self.execute(SQL, params).await?;
        Ok(())
    }

    async fn group_external_ids(
        &self,
        groups: ScimGroups,
    ) -> Result<HashMap<i64, String>, StoreError> {
        let sql = match groups {
            ScimGroups::Roles => {
                "SELECT id, scim_external_id FROM roles \
                 WHERE scim_external_id IS NOT NULL AND deleted_at IS NULL"
            }
            ScimGroups::OrgGroups => {
                "SELECT id, scim_external_id FROM org_groups \
                 WHERE scim_external_id IS NOT NULL AND deleted_at IS NULL"
            }
        };
        let rows: Vec<(i64, String)> = self.fetch_all(sql, ()).await?;
        Ok(rows.into_iter().collect())
    }

    async fn set_group_external_id(
        &self,
        groups: ScimGroups,
        id: i64,
        external_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = match groups {
            ScimGroups::Roles => {
                "UPDATE roles SET scim_external_id = $2, updated_at = $3 \
                 WHERE id = $1 AND deleted_at IS NULL"
            }
            ScimGroups::OrgGroups => {
                "UPDATE org_groups SET scim_external_id = $2, updated_at = $3 \
                 WHERE id = $1 AND deleted_at IS NULL"
            }
        };
        self.execute(sql, (id, external_id, now_utc())).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RoleStore;

    #[tokio::test]
    async fn a_group_external_id_is_set_read_and_cleared() {
        let store = Store::memory().await.unwrap();
        let role = store.insert_role("editors", "").await.unwrap();
        store
            .set_group_external_id(ScimGroups::Roles, role.id, Some("ext-7"))
            .await
            .unwrap();
        let ids = store.group_external_ids(ScimGroups::Roles).await.unwrap();
        assert_eq!(ids.get(&role.id).map(String::as_str), Some("ext-7"));
        assert!(store
            .group_external_ids(ScimGroups::OrgGroups)
            .await
            .unwrap()
            .is_empty());
        store
            .set_group_external_id(ScimGroups::Roles, role.id, None)
            .await
            .unwrap();
        assert!(store
            .group_external_ids(ScimGroups::Roles)
            .await
            .unwrap()
            .is_empty());
    }
}
