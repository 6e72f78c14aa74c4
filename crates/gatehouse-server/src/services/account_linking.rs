//! Linking a provider identity to an existing password account at sign-in
//! (`link_social_accounts_at_sign_in`). A provider's first sign-in whose verified email is a
//! verified password account's does not make a user: the transaction keeps the identity and
//! asks that account's password (the `link_account` step). The right password links the two and
//! signs the account in; the email alone never does.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{offers_link, FirstFactor, LinkCandidate, SignInError};
use gatehouse_core::social_profiles::ExternalProfile;
use gatehouse_store::{AccountStore, SocialAccountStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::services::signin::{
    password_sign_in_on, save, signed_in, Outcome, SignedInUser, Transaction, TxCall,
};
use crate::state::AppState;

/// A provider identity waiting in the transaction (server-side) for the account's password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// The provider's name (`socialAccountType`).
    pub provider: String,
    pub profile: ExternalProfile,
    /// The email both sides vouch for, as the account has it.
    pub email: String,
    /// The account the email found.
    pub user_id: UserId,
}

/// The link to offer for an identity that has no user yet, if the feature, both emails and the
/// account allow one.
pub(crate) async fn offer(
    state: &AppState,
    provider: &str,
    profile: &ExternalProfile,
) -> Result<Option<PendingLink>, ServiceError> {
    let enabled = state.config.link_social_accounts_at_sign_in;
    let Some(email) = profile
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| gatehouse_core::admin::email_address(e).is_ok())
    else {
        return Ok(None);
    };
    if !enabled || !profile.email_verified {
        return Ok(None);
    }
    let Some(account) = state.store.password_account(&email).await? else {
        return Ok(None);
    };
    let email_verified = state
        .store
        .user_by_id(account.id)
        .await?
        .is_some_and(|u| u.email_verified);
    let candidate = LinkCandidate {
        is_active: account.is_active,
        has_password: account.password_hash.is_some(),
        email_verified,
    };
    let offered = offers_link(
        enabled,
        password_sign_in_on(state),
        profile.email_verified,
        Some(candidate),
    );
    Ok(offered.then(|| PendingLink {
        provider: provider.to_owned(),
        profile: profile.clone(),
        email,
        user_id: account.id,
    }))
}

/// The link the transaction is waiting for, if it is at that step.
pub fn pending(tx: &Transaction) -> Result<&PendingLink, ServiceError> {
    match (tx.user(), &tx.pending_link) {
        (None, Some(link)) => Ok(link),
        _ => Err(SignInError::WrongStep.into()),
    }
}

/// The account's password: the identity is linked to the account, which is signed in with the
/// password as its first factor. A wrong password is counted like the sign-in page's.
pub async fn link_with_password(call: TxCall<'_>, password: &str) -> Result<Outcome, ServiceError> {
    let (state, id, mut tx, meta) = call.into_parts();
    let link = pending(&tx)?.clone();
    if !state.config.link_social_accounts_at_sign_in || !password_sign_in_on(state) {
        return Err(SignInError::FeatureOff("Account linking").into());
    }
    let account = state
        .password_checker()
        .check(&link.email, password, meta.ip)
        .await?;
    // The email names another account now (changed in between): that one was never offered.
    if account.id != link.user_id {
        return Err(SignInError::NoUserFound.into());
    }
    let subject = &link.profile.subject;
    match state.store.social_user(&link.provider, subject).await? {
        None => match state
            .store
            .link_identity(account.id, &link.provider, subject)
            .await
        {
            Ok(_) => {}
            // The same link made a moment ago (a second submit) is no failure.
            Err(StoreError::Conflict(_)) => owned_by(state, &link, account.id).await?,
            Err(other) => return Err(other.into()),
        },
        Some(user) if user.id == account.id => {}
        Some(_) => return Err(taken(&link)),
    }
    tracing::info!(user_id = %account.id, provider = %link.provider, "linked a provider identity to an account");
    tx.pending_link = None;
    let user = SignedInUser {
        id: account.id,
        auth_id: account.auth_id,
    };
    signed_in(state, id, tx, user, FirstFactor::Password, meta).await
}

async fn owned_by(
    state: &AppState,
    link: &PendingLink,
    user_id: UserId,
) -> Result<(), ServiceError> {
    match state
        .store
        .social_user(&link.provider, &link.profile.subject)
        .await?
    {
        Some(user) if user.id == user_id => Ok(()),
        _ => Err(taken(link)),
    }
}

fn taken(link: &PendingLink) -> ServiceError {
    SignInError::ExternalRefused {
        provider: link.provider.clone(),
        reason: "this identity already belongs to another account".into(),
    }
    .into()
}

/// Gives up the link: the transaction is back at the sign-in page, nothing linked.
pub async fn cancel(state: &AppState, id: &str, mut tx: Transaction) -> Result<(), ServiceError> {
    pending(&tx)?;
    tx.pending_link = None;
    save(state, id, &tx).await
}
