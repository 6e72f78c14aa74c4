//! What SCIM 2.0 provisioning stores about a user beyond the account: the `userName` and
//! `externalId` a provisioning client gave, so they round-trip.

use gatehouse_core::ids::UserId;

use crate::{now_utc, Store, StoreError, StoreFuture};

pub trait ScimUserStore {
    /// Whether a live user other than `except` shows `user_name` as their SCIM userName (their
    /// stored one, or their email when they have none), in any case.
    fn scim_user_name_taken(
        &self,
        user_name: &str,
        except: Option<UserId>,
    ) -> impl StoreFuture<bool>;
    /// Sets the user's SCIM userName and externalId (`None` clears one); a userName another
    /// live user holds is `StoreError::Conflict`.
    fn set_scim_fields(
        &self,
        user_id: UserId,
        user_name: Option<&str>,
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
        user_name: Option<&str>,
        external_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = "UPDATE users SET scim_user_name = $2, scim_external_id = $3, \
            updated_at = $4 WHERE id = $1 AND deleted_at IS NULL";
        self.execute(SQL, (user_id, user_name, external_id, now_utc()))
            .await?;
        Ok(())
    }
}
