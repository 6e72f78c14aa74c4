//! First factors owned by the transaction itself: the password and the browser's session.

use gatehouse_core::signin::{FirstFactor, SignInError};
use gatehouse_store::AccountStore;

use super::advance::advance_knowing;
use super::{advance, Outcome, SignedInUser};
use crate::error::ServiceError;
use crate::services::signin::TxCall;
use crate::services::step_facts::KnownFactors;
use crate::state::AppState;

/// Email + password. Unknown email and wrong password answer alike, in the same time.
pub async fn sign_in_with_password(
    call: TxCall<'_>,
    email: &str,
    password: &str,
) -> Result<Outcome, ServiceError> {
    let (state, id, mut tx, meta) = call.into_parts();
    if !password_sign_in_on(state) {
        return Err(SignInError::FeatureOff("Password sign-in").into());
    }
    tx.expect_first_factor()?;
    let account = match state
        .password_checker()
        .check(email, password, meta.ip)
        .await
    {
        Ok(account) => account,
        Err(err) => {
            crate::services::audit::sign_in_failed(state, email, meta.ip, &err).await;
            return Err(err);
        }
    };
    let known = KnownFactors {
        user_id: account.id,
        mfa_types: account.mfa_types,
        otp_verified: account.otp_verified,
    };
    let user = SignedInUser {
        id: account.id,
        auth_id: account.auth_id,
    };
    tx.proof.sign_in(user, FirstFactor::Password, meta.now)?;
    tx.session_id = None;
    advance_knowing(state, id, tx, meta, Some(known)).await
}

/// Whether accounts sign in with their password on this server.
pub fn password_sign_in_on(state: &AppState) -> bool {
    state.config.enable_password_sign_in && !state.config.enable_passwordless_sign_in
}

/// A browser whose single sign-on session is still valid skips the sign-in page.
pub async fn sign_in_with_session(
    call: TxCall<'_>,
    session: &gatehouse_store::BrowserSession,
) -> Result<Outcome, ServiceError> {
    let (state, id, mut tx, meta) = call.into_parts();
    tx.expect_first_factor()?;
    let user = state
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or(SignInError::DisabledAccount)?;
    let user = SignedInUser {
        id: user.id,
        auth_id: user.auth_id,
    };
    let auth_time = session.auth_time.and_utc().timestamp();
    tx.proof.sign_in(user, FirstFactor::Session, auth_time)?;
    tx.session_id = Some(session.id);
    tx.session_methods = session.amr.is_some().then(|| session.methods());
    advance(state, id, tx, meta).await
}
