//! What userinfo shows about the user an access token names.

use gatehouse_core::jwt::AccessTokenClaims;
use gatehouse_store::{UserRecord, UserStore};

use crate::error::ServiceError;
use crate::state::AppState;

/// What userinfo shows beside the user's own fields.
pub struct UserInfoExtras {
    /// The linked account with its roles, when there is one.
    pub linked: Option<(UserRecord, Vec<String>)>,
    /// Attributes flagged for userinfo (`enable_user_attribute`).
    pub attributes: Option<Vec<(String, String)>>,
}

pub async fn userinfo_extras(
    state: &AppState,
    user: &UserRecord,
) -> Result<UserInfoExtras, ServiceError> {
    use gatehouse_store::{AccountStore, AttributeAudience, UserStore};
    let linked = match user.linked_auth_id.as_deref() {
        Some(auth_id) => match state.store.user_by_auth_id(auth_id).await? {
            Some(other) => {
                let roles = state.store.user_role_names(other.id).await?;
                Some((other, roles))
            }
            None => None,
        },
        None => None,
    };
    let attributes = if state.config.enable_user_attribute {
        Some(
            state
                .store
                .shared_attributes(user.id, AttributeAudience::UserInfo)
                .await?,
        )
    } else {
        None
    };
    Ok(UserInfoExtras { linked, attributes })
}

/// The user an access token names, with roles, for userinfo.
pub async fn user_for_token(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<Option<(UserRecord, Vec<String>)>, ServiceError> {
    let Some(user) = state.store.user_by_auth_id(&claims.sub).await? else {
        return Ok(None);
    };
    let roles = state.store.user_role_names(user.id).await?;
    Ok(Some((user, roles)))
}
