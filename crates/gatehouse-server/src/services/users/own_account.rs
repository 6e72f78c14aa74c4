//! What a signed-in user changes about their own account when a policy step asks.

use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::ids::UserId;
use gatehouse_core::webhooks;
use gatehouse_store::changes::recording;
use gatehouse_store::{OrgRecord, UserChanges, UserStore};

use crate::error::ServiceError;
use crate::services::audit;
use crate::state::AppState;

/// The organizations a signed-in user may switch between (the `change_org` policy).
pub async fn own_orgs(state: &AppState, user_id: UserId) -> Result<Vec<OrgRecord>, ServiceError> {
    use gatehouse_store::OrgStore;
    Ok(state.store.user_orgs(user_id).await?)
}

/// The `change_org` policy: makes one of the user's organizations the active one.
pub async fn change_own_org(
    state: &AppState,
    user_id: UserId,
    slug: &str,
) -> Result<(), ServiceError> {
    use gatehouse_core::signin::SignInError;
    use gatehouse_store::OrgStore;
    let slug = slug.trim();
    if slug.is_empty() {
        return Err(SignInError::BadInput("Choose an organization".into()).into());
    }
    let orgs = state.store.user_orgs(user_id).await?;
    if !orgs.iter().any(|o| o.slug == slug) {
        return Err(SignInError::BadInput(AdminRuleError::UserNotInOrg.to_string()).into());
    }
    let changes = UserChanges {
        org_slug: Some(slug.to_owned()),
        ..UserChanges::default()
    };
    let user = audit::user_by_id(state, user_id).await?;
    let change = audit::user_change(&user, "updated", webhooks::USER_UPDATED).field(
        "orgSlug",
        &user.org_slug,
        slug,
    );
    recording(change, state.store.update_user(user_id, &changes, None)).await?;
    Ok(())
}

/// The `change_password` policy: a new password that passes the rule and differs from the old.
pub async fn change_own_password(
    state: &AppState,
    user_id: UserId,
    password: &str,
) -> Result<(), ServiceError> {
    use gatehouse_core::signin::SignInError;
    use gatehouse_store::AccountStore;
    gatehouse_core::password::check_new_password(password)
        .map_err(|e| SignInError::BadInput(e.to_string()))?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let current = match &user.email {
        Some(email) => state.store.password_account(email).await?,
        None => None,
    };
    let old_hash = current.and_then(|a| a.password_hash);
    if old_hash.is_some() {
        let same = state
            .passwords
            .verify(password.to_owned(), old_hash)
            .await?;
        if matches!(same, crate::crypto::PasswordCheck::Match { .. }) {
            return Err(SignInError::BadInput(
                "A change password request triggered but the new password is the same as the old password"
                    .into(),
            )
            .into());
        }
    }
    let hash = state.passwords.hash(password.to_owned()).await?;
    let change = audit::user_change(&user, "password_changed", webhooks::USER_PASSWORD_CHANGED);
    recording(change, state.store.set_password_hash(user_id, &hash)).await?;
    Ok(())
}

/// The `update_info` policy: first and last name, each at most 50 characters.
pub async fn update_own_names(
    state: &AppState,
    user_id: UserId,
    first_name: Option<&str>,
    last_name: Option<&str>,
) -> Result<(), ServiceError> {
    use gatehouse_core::signin::SignInError;
    use gatehouse_store::AccountStore;
    let clean = |v: Option<&str>| -> Result<Option<String>, SignInError> {
        let v = v.map(str::trim).filter(|v| !v.is_empty());
        match v {
            Some(v) if v.chars().count() > 50 => Err(SignInError::BadInput(
                "Names must be at most 50 characters".into(),
            )),
            other => Ok(other.map(str::to_owned)),
        }
    };
    let (first, last) = (clean(first_name)?, clean(last_name)?);
    if state.config.names_is_required && (first.is_none() || last.is_none()) {
        return Err(SignInError::BadInput("First name and last name are required".into()).into());
    }
    let user = audit::user_by_id(state, user_id).await?;
    let change = audit::user_change(&user, "updated", webhooks::USER_UPDATED)
        .field("firstName", &user.first_name, &first)
        .field("lastName", &user.last_name, &last);
    recording(
        change,
        state
            .store
            .set_names(user_id, first.as_deref(), last.as_deref()),
    )
    .await?;
    Ok(())
}
