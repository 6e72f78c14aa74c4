//! Passwordless sign-in (`enable_passwordless_sign_in`): an emailed code or magic link is the
//! first factor. Nothing is looked up or created before the code proves the email.

use gatehouse_core::admin::email_address;
use gatehouse_core::signin::{FirstFactor, SignInError};
use gatehouse_store::{AccountStore, NewSignUp};

use gatehouse_core::lockout::Counter;

use crate::error::ServiceError;
use crate::services::codes;
use crate::services::signin::{
    advance, signed_in, Outcome, RequestMeta, SignedInUser, Transaction, TxCall,
};
use crate::state::AppState;

fn passwordless_code_key(id: &str) -> String {
    format!("PLC-{id}")
}

/// Passwordless sign-in, first half: emails a code (or a magic link) to `email`. Nothing is
/// looked up or created yet, so the answer says nothing about which emails have accounts.
pub async fn sign_in_passwordless(call: TxCall<'_>, email: &str) -> Result<Outcome, ServiceError> {
    let (state, id, mut tx, meta) = call.into_parts();
    if !state.config.enable_passwordless_sign_in || !state.mailer.is_configured() {
        return Err(SignInError::FeatureOff("Passwordless sign-in").into());
    }
    let email = email_address(email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    tx.await_first_factor(Some(FirstFactor::Passwordless))?;
    tx.passwordless_email = Some(email);
    send_passwordless_code(state, id, &tx, meta).await?;
    advance(state, id, tx, meta).await
}

/// Emails the transaction's passwordless code (a fresh one each time), within the send limit.
pub async fn send_passwordless_code(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    let email = tx
        .passwordless_email
        .as_deref()
        .ok_or(SignInError::WrongStep)?;
    let config = &state.config;
    codes::within_email_code_limit(state, email, meta.ip).await?;
    let key = passwordless_code_key(id);
    let code = codes::new_code(state, &key, config.email_mfa_code_expires_in).await?;
    let locale = &tx.request.locale;
    let org = tx.request.org.as_deref();
    if config.use_passwordless_as_magic_link {
        let link = format!(
            "{}/identity/v1/view/magic-link?tx={id}&otp={code}&locale={locale}",
            config.issuer
        );
        let mail = crate::mail::compose::Mail::MagicLink { link: &link };
        crate::services::outbox::send(state, mail, email, locale, org).await
    } else {
        let mail = crate::mail::compose::Mail::PasswordlessCode { code: &code };
        crate::services::outbox::send(state, mail, email, locale, org).await
    }
}

/// Passwordless sign-in, second half: the emailed code (or the magic link's) proves the email.
/// The account is found, or made (with the email verified) when sign-up is open to this
/// request; the code is single-use and wrong codes count toward a lockout.
pub async fn verify_passwordless(call: TxCall<'_>, code: &str) -> Result<Outcome, ServiceError> {
    let (state, id, tx, meta) = call.into_parts();
    if tx.user().is_some() || tx.first_factor() != Some(FirstFactor::Passwordless) {
        return Err(SignInError::WrongStep.into());
    }
    let email = tx
        .passwordless_email
        .clone()
        .ok_or(SignInError::WrongStep)?;
    let threshold = state.config.mfa_code_verify_threshold;
    let counter = Counter::FailedMfaCode;
    codes::check_lockout(
        state,
        counter,
        &email,
        meta.ip,
        threshold,
        SignInError::PasswordlessLockout,
    )
    .await?;
    if !codes::code_matches(state, &passwordless_code_key(id), code).await? {
        codes::count_failure(state, counter, &email, meta.ip).await?;
        return Err(SignInError::InvalidCode.into());
    }
    state.cache.delete(&passwordless_code_key(id)).await?;
    codes::clear_failures(state, counter, &email, meta.ip).await?;
    let user = match state.store.password_account(&email).await? {
        Some(account) if !account.is_active => return Err(SignInError::DisabledAccount.into()),
        Some(account) => SignedInUser {
            id: account.id,
            auth_id: account.auth_id,
        },
        None => {
            if tx.branding.as_ref().is_some_and(|b| !b.allow_sign_up) {
                return Err(SignInError::NoUserFound.into());
            }
            let auth_id = uuid::Uuid::new_v4().to_string();
            let change = crate::services::audit::user_created(
                &auth_id,
                Some(&email),
                None,
                None,
                gatehouse_core::webhooks::USER_SIGNED_UP,
            );
            let new_user = NewSignUp {
                auth_id,
                email: email.clone(),
                password_hash: None,
                first_name: None,
                last_name: None,
                locale: tx.request.locale.clone(),
            };
            let insert = state.store.insert_sign_up(&new_user);
            let created = gatehouse_store::changes::recording(change, insert).await?;
            // The code just proved the address.
            use gatehouse_store::LifecycleStore;
            state.store.set_email_verified(created.id).await?;
            SignedInUser {
                id: created.id,
                auth_id: created.auth_id,
            }
        }
    };
    signed_in(state, id, tx, user, FirstFactor::Passwordless, meta).await
}
