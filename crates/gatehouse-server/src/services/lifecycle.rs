//! The account lifecycle by email: verification after sign-up, password reset, changing the
//! email, accepting an invitation. Codes live in the shared cache under Melody's key names, so
//! any instance can check a code another one sent; every counter is per subject and client IP.

use std::time::Duration;

use gatehouse_core::admin::email_address;
use gatehouse_core::ids::UserId;
use gatehouse_core::lockout::Counter;
use gatehouse_core::password::check_new_password;
use gatehouse_core::signin::SignInError;
use gatehouse_core::webhooks;
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{AccountStore, LifecycleStore, UserStore};

use crate::config::Config;
use crate::crypto::{sha256_hex, PasswordCheck};
use crate::error::ServiceError;
use crate::mail::compose::Mail;
use crate::services::codes::{
    check_counted_code, clear_failures, new_code, within_email_code_limit, within_send_limit,
    WINDOW,
};
use crate::services::{audit, outbox};
use crate::state::AppState;

/// The password-reset request limit is per day.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn verification_key(user_id: UserId) -> String {
    format!("EVC-{user_id}")
}

fn reset_key(user_id: UserId) -> String {
    format!("PRC-{user_id}")
}

fn change_email_key(user_id: UserId, email: &str) -> String {
    format!("CEC-{user_id}-{email}")
}

/// Email verification is on and email can be sent.
pub fn verification_on(state: &AppState) -> bool {
    verification_offered(&state.config, state.mailer.is_configured())
}

/// Password reset is on, passwordless sign-in off, and email can be sent.
pub fn reset_on(state: &AppState) -> bool {
    reset_offered(&state.config, state.mailer.is_configured())
}

/// Whether verification is offered by this configuration with (or without) an email provider.
pub fn verification_offered(config: &Config, email_configured: bool) -> bool {
    config.enable_email_verification && email_configured
}

/// Whether password reset is offered by this configuration with (or without) an email provider.
pub fn reset_offered(config: &Config, email_configured: bool) -> bool {
    config.enable_password_reset && !config.enable_passwordless_sign_in && email_configured
}

/// Changing the email needs verification (the new address gets a code).
pub fn change_email_on(state: &AppState) -> bool {
    verification_on(state)
}

/// Who an email goes to, in which language, under which organization's name.
pub struct Recipient<'a> {
    pub user_id: UserId,
    pub auth_id: &'a str,
    pub email: &'a str,
    pub locale: &'a str,
    pub org_slug: &'a str,
}

/// What follows a sign-up: the verification code, or a welcome email when so configured.
pub async fn after_sign_up(state: &AppState, to: &Recipient<'_>) -> Result<(), ServiceError> {
    if !verification_on(state) {
        return Ok(());
    }
    if state.config.replace_email_verification_with_welcome_email {
        return outbox::send(state, Mail::Welcome, to.email, to.locale, Some(to.org_slug)).await;
    }
    send_verification_code(state, to).await
}

/// Emails a fresh verification code (replacing any earlier one) with the page to enter it.
pub async fn send_verification_code(
    state: &AppState,
    to: &Recipient<'_>,
) -> Result<(), ServiceError> {
    let expires_in = state.config.email_verification_code_expires_in;
    let code = new_code(state, &verification_key(to.user_id), expires_in).await?;
    let link = format!(
        "{}/identity/v1/view/verify-email?id={}&locale={}",
        state.config.issuer, to.auth_id, to.locale
    );
    let mail = Mail::VerifyEmail {
        code: &code,
        link: &link,
    };
    outbox::send(state, mail, to.email, to.locale, Some(to.org_slug)).await
}

/// Sends a new verification code on request, within the emailed-code send limit.
pub async fn resend_verification_code(
    state: &AppState,
    user: &gatehouse_store::UserRecord,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    if !verification_on(state) || user.email_verified {
        return Err(SignInError::WrongStep.into());
    }
    within_email_code_limit(state, &user.id.to_string(), ip).await?;
    let to = Recipient {
        user_id: user.id,
        auth_id: &user.auth_id,
        email: user.email.as_deref().unwrap_or_default(),
        locale: &user.locale,
        org_slug: &user.org_slug,
    };
    send_verification_code(state, &to).await
}

/// Checks a verification code and marks the email verified. An unknown user and an already
/// verified one both answer "No user found" (Melody).
pub async fn verify_email(
    state: &AppState,
    auth_id: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    if !verification_on(state) {
        return Err(SignInError::FeatureOff("Email verification").into());
    }
    let user = state
        .store
        .user_by_auth_id(auth_id.trim())
        .await?
        .filter(|u| !u.email_verified)
        .ok_or(SignInError::NoUserFound)?;
    let subject = user.id.to_string();
    let threshold = state.config.email_verification_code_threshold;
    check_counted_code(
        state,
        (&verification_key(user.id), code),
        (Counter::FailedVerificationCode, &subject, ip),
        (threshold, SignInError::VerificationLockout),
    )
    .await?;
    let change = audit::user_change(&user, "email_verified", webhooks::USER_EMAIL_VERIFIED).field(
        "emailVerified",
        false,
        true,
    );
    recording(change, state.store.set_email_verified(user.id)).await?;
    state.cache.delete(&verification_key(user.id)).await?;
    Ok(())
}

/// Asks for a reset code. The answer never says whether the email has an account, and takes
/// the same time either way: only the request limit is checked before answering; the lookup
/// and the email happen afterwards.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    locale: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    if !reset_on(state) {
        return Err(SignInError::FeatureOff("Password reset").into());
    }
    let email = email_address(email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    let limit = (state.config.password_reset_email_threshold, DAY);
    within_send_limit(
        state,
        Counter::ResetRequests,
        &email,
        ip,
        limit,
        SignInError::ResetRequestLimit,
    )
    .await?;
    let state = state.clone();
    let locale = gatehouse_core::authorize::pick_locale([locale], &state.config.supported_locales);
    tokio::spawn(async move {
        if let Err(err) = send_reset_code(&state, &email, &locale).await {
            tracing::warn!(code = err.internal_code(), error = %err, "password reset email not prepared");
        }
    });
    Ok(())
}

async fn send_reset_code(state: &AppState, email: &str, locale: &str) -> Result<(), ServiceError> {
    let Some(account) = state.store.password_account(email).await? else {
        return Ok(());
    };
    let Some(user) = state.store.user_by_id(account.id).await? else {
        return Ok(());
    };
    // Invited users accept their invitation instead; disabled ones cannot sign in anyway.
    if !user.is_active {
        return Ok(());
    }
    let expires_in = state.config.password_reset_code_expires_in;
    let code = new_code(state, &reset_key(user.id), expires_in).await?;
    let locale = if locale.is_empty() {
        user.locale.as_str()
    } else {
        locale
    };
    outbox::send(
        state,
        Mail::PasswordReset { code: &code },
        email,
        locale,
        Some(&user.org_slug),
    )
    .await
}

/// Sets a new password with an emailed code. Past the failed-code threshold even the right
/// code is refused until the window passes.
pub async fn reset_password(
    state: &AppState,
    email: &str,
    code: &str,
    password: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    if !reset_on(state) {
        return Err(SignInError::FeatureOff("Password reset").into());
    }
    check_new_password(password).map_err(|e| SignInError::BadInput(e.to_string()))?;
    let email = email_address(email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    // An unknown email gets the wrong-code answer, so this form tells nobody who has an account.
    let account = state
        .store
        .password_account(&email)
        .await?
        .ok_or(SignInError::InvalidCode)?;
    let subject = account.id.to_string();
    let threshold = state.config.password_reset_code_threshold;
    check_counted_code(
        state,
        (&reset_key(account.id), code),
        (Counter::FailedResetCode, &subject, ip),
        (threshold, SignInError::ResetCodeLockout),
    )
    .await?;
    if let PasswordCheck::Match { .. } = state
        .passwords
        .verify(password.to_owned(), account.password_hash.clone())
        .await?
    {
        return Err(SignInError::SamePassword.into());
    }
    let hash = state.passwords.hash(password.to_owned()).await?;
    let user = audit::user_by_id(state, account.id).await?;
    let change = audit::user_change(&user, "password_reset", webhooks::USER_PASSWORD_RESET);
    recording(change, state.store.set_password_hash(account.id, &hash)).await?;
    state.cache.delete(&reset_key(account.id)).await?;
    clear_failures(state, Counter::FailedResetCode, &subject, ip).await?;
    if state.config.end_sessions_on_password_reset {
        // Whoever knew the old password may still be signed in somewhere.
        state
            .sessions()
            .end_everywhere(account.id, chrono::Utc::now().timestamp())
            .await?;
    }
    if state.config.unlock_account_via_password_reset {
        // Whoever reset the password owns the mailbox: lockouts of the old password are moot.
        crate::services::users::lift_lockouts(state, &email).await?;
    }
    Ok(())
}

/// Sends a code to `new_email` that proves the user owns it.
pub async fn send_change_email_code(
    state: &AppState,
    user_id: UserId,
    new_email: &str,
    locale: &str,
) -> Result<(), ServiceError> {
    if !change_email_on(state) {
        return Err(SignInError::FeatureOff("Changing the email").into());
    }
    let new_email = email_address(new_email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let current = user.email.clone().unwrap_or_default();
    if current == new_email {
        return Err(SignInError::SameEmail.into());
    }
    if state.store.email_in_use(&new_email).await? {
        return Err(SignInError::EmailInUse.into());
    }
    let limit = (state.config.change_email_email_threshold, WINDOW);
    within_send_limit(
        state,
        Counter::ChangeEmailSends,
        &current,
        None,
        limit,
        SignInError::ChangeEmailSendLimit,
    )
    .await?;
    let key = change_email_key(user_id, &new_email);
    let code = new_code(state, &key, state.config.change_email_code_expires_in).await?;
    outbox::send(
        state,
        Mail::ChangeEmail { code: &code },
        &new_email,
        locale,
        Some(&user.org_slug),
    )
    .await
}

/// Makes `new_email` the user's (verified) email, given the code sent to it.
pub async fn change_email(
    state: &AppState,
    user_id: UserId,
    new_email: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    if !change_email_on(state) {
        return Err(SignInError::FeatureOff("Changing the email").into());
    }
    let new_email = email_address(new_email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    let subject = user_id.to_string();
    let key = change_email_key(user_id, &new_email);
    let threshold = state.config.change_email_code_threshold;
    check_counted_code(
        state,
        (&key, code),
        (Counter::FailedChangeEmailCode, &subject, ip),
        (threshold, SignInError::ChangeEmailLockout),
    )
    .await?;
    let user = audit::user_by_id(state, user_id).await?;
    let change = audit::user_change(&user, "email_changed", webhooks::USER_UPDATED).field(
        "email",
        &user.email,
        &new_email,
    );
    recording(change, state.store.change_email(user_id, &new_email))
        .await
        .map_err(|err| match err {
            gatehouse_store::StoreError::Conflict(_) => SignInError::EmailInUse.into(),
            other => ServiceError::Store(other),
        })?;
    state.cache.delete(&key).await?;
    Ok(())
}

/// Emails an invitation link carrying `token` (only its hash is stored).
pub async fn send_invitation(
    state: &AppState,
    to: &Recipient<'_>,
    token: &str,
    sign_in_url: Option<&str>,
) -> Result<(), ServiceError> {
    let mut link = format!(
        "{}/identity/v1/view/accept-invitation?token={token}&locale={}",
        state.config.issuer, to.locale
    );
    if let Some(url) = sign_in_url.map(str::trim).filter(|u| !u.is_empty()) {
        link.push_str("&signinUrl=");
        link.push_str(&url_encode(url));
    }
    let days = state.config.invitation_expires_in.div_ceil(86_400);
    let mail = Mail::Invitation { link: &link, days };
    outbox::send(state, mail, to.email, to.locale, Some(to.org_slug)).await
}

fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The pending invitation `token` names, if it can still be accepted.
pub async fn invitation(
    state: &AppState,
    token: &str,
) -> Result<gatehouse_store::InvitedUser, ServiceError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 256 {
        return Err(SignInError::InvitationNotFound.into());
    }
    let user = state
        .store
        .invited_user(&sha256_hex(token.as_bytes()))
        .await?
        .ok_or(SignInError::InvitationNotFound)?;
    if user.is_active {
        return Err(SignInError::AlreadyActive.into());
    }
    let expired = user
        .invitation_expires_at
        .is_none_or(|at| at < gatehouse_store::now_utc());
    if expired {
        return Err(SignInError::InvitationExpired.into());
    }
    Ok(user)
}

/// Accepts an invitation: the password is set, the account activated and its email verified
/// (whether or not email verification is on).
pub async fn accept_invitation(
    state: &AppState,
    token: &str,
    password: &str,
) -> Result<gatehouse_store::InvitedUser, ServiceError> {
    let user = invitation(state, token).await?;
    check_new_password(password).map_err(|e| SignInError::BadInput(e.to_string()))?;
    let hash = state.passwords.hash(password.to_owned()).await?;
    let change = Change::of("user", &user.auth_id, "invitation_accepted")
        .field("isActive", false, true)
        .event(
            webhooks::USER_ENABLED,
            serde_json::json!({"authId": user.auth_id}),
        );
    let accepted = recording(
        change,
        state
            .store
            .accept_invitation(user.id, &sha256_hex(token.trim().as_bytes()), &hash),
    )
    .await?;
    if !accepted {
        return Err(SignInError::InvitationNotFound.into());
    }
    Ok(user)
}
