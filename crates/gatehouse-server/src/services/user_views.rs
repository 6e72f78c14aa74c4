//! What userinfo shows about the user an access token names, kept in memory for a short,
//! configured time (`user_cache_ttl`) so a page load does not read the database.
//!
//! A change written through this instance is seen at once: the store counts its committed
//! writes to user data (`Store::user_data_generation`), and a view read before the latest one
//! is never served. A change written by another instance is seen within the time to live.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::tokens::IdTokenProfile;
use gatehouse_store::{
    format_timestamp, AccountStore, AttributeAudience, Store, UserRecord, UserStore,
};

use super::memo::Memo;
use crate::error::ServiceError;

/// A user as userinfo shows them, with what each answer would otherwise work out again.
pub struct UserView {
    pub user: ShownUser,
    /// The standard claims (OIDC Core §5.1) of the user.
    pub profile: IdTokenProfile,
    /// The linked account, when there is one.
    pub linked: Option<ShownUser>,
    /// Attributes flagged for userinfo (`enable_user_attribute`).
    pub attributes: Option<Vec<(String, String)>>,
}

/// An account with its roles and its timestamps as answers show them.
pub struct ShownUser {
    pub record: UserRecord,
    pub roles: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ShownUser {
    fn new(record: UserRecord, roles: Vec<String>) -> Self {
        Self {
            created_at: format_timestamp(&record.created_at),
            updated_at: format_timestamp(&record.updated_at),
            record,
            roles,
        }
    }
}

pub struct UserViews {
    store: Store,
    attributes: bool,
    /// Each view with the store's user-data generation read before it was.
    views: Memo<(Arc<UserView>, u64)>,
}

/// Beyond this many users the views are cleared rather than grown.
const MAX_ENTRIES: usize = 4096;

impl UserViews {
    pub fn new(store: Store, ttl: Duration, attributes: bool) -> Self {
        Self {
            store,
            attributes,
            views: Memo::new(ttl, MAX_ENTRIES),
        }
    }

    /// The live user with this `authId`, as userinfo shows them; `None` when there is none.
    pub async fn view(&self, auth_id: &str) -> Result<Option<Arc<UserView>>, ServiceError> {
        // Read first: a write committed after this point moves the generation on, so what
        // is read below can only be kept under a generation that is already behind.
        let generation = self.store.user_data_generation();
        if let Some((view, read_at)) = self.views.get(auth_id) {
            if read_at == generation {
                return Ok(Some(view));
            }
        }
        let Some(view) = self.read(auth_id).await? else {
            return Ok(None);
        };
        let view = Arc::new(view);
        self.views.insert(auth_id, (Arc::clone(&view), generation));
        Ok(Some(view))
    }

    async fn read(&self, auth_id: &str) -> Result<Option<UserView>, ServiceError> {
        let Some(user) = self.store.user_by_auth_id(auth_id).await? else {
            return Ok(None);
        };
        let roles = self.store.user_role_names(user.id).await?;
        let linked = match user.linked_auth_id.as_deref() {
            Some(linked) => match self.store.user_by_auth_id(linked).await? {
                Some(other) => {
                    let roles = self.store.user_role_names(other.id).await?;
                    Some(ShownUser::new(other, roles))
                }
                None => None,
            },
            None => None,
        };
        let attributes = if self.attributes {
            Some(
                self.store
                    .shared_attributes(user.id, AttributeAudience::UserInfo)
                    .await?,
            )
        } else {
            None
        };
        Ok(Some(UserView {
            profile: crate::services::user_tokens::profile_of(&user),
            user: ShownUser::new(user, roles),
            linked,
            attributes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fixture;

    #[tokio::test]
    async fn a_view_is_kept_until_the_store_writes_user_data() {
        let store = fixture::store().await;
        let user = fixture::user(&store, &fixture::passwords(), "ada@example.com", None).await;
        let views = UserViews::new(store.clone(), Duration::from_secs(3600), false);
        let first = views.view(&user.auth_id).await.unwrap().unwrap();
        let again = views.view(&user.auth_id).await.unwrap().unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "a second read within the lifetime is the copy"
        );

        // Counting a sign-in changes nothing userinfo shows: the copy stays.
        store.increment_login_count(user.id).await.unwrap();
        let kept = views.view(&user.auth_id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &kept));

        store.set_names(user.id, Some("Ada"), None).await.unwrap();
        let fresh = views.view(&user.auth_id).await.unwrap().unwrap();
        assert_eq!(fresh.user.record.first_name.as_deref(), Some("Ada"));
    }

    #[tokio::test]
    async fn without_a_lifetime_every_read_goes_to_the_store_and_a_missing_user_is_none() {
        let store = fixture::store().await;
        let user = fixture::user(&store, &fixture::passwords(), "bob@example.com", None).await;
        let views = UserViews::new(store.clone(), Duration::ZERO, false);
        let first = views.view(&user.auth_id).await.unwrap().unwrap();
        let again = views.view(&user.auth_id).await.unwrap().unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
        assert!(views.view("no-such-user").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_copy_older_than_its_lifetime_is_read_again() {
        let store = fixture::store().await;
        let user = fixture::user(&store, &fixture::passwords(), "cy@example.com", None).await;
        let views = UserViews::new(store.clone(), Duration::from_millis(50), false);
        let first = views.view(&user.auth_id).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        let later = views.view(&user.auth_id).await.unwrap().unwrap();
        assert!(!Arc::ptr_eq(&first, &later));
    }
}
