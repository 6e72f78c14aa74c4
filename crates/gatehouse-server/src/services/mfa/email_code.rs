//! Codes sent by email, as a second factor or as a backup for TOTP and SMS.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{SignInError, Step};

use super::{account_at, code_pending, email_backup_allowed, signed_in_user, spend_sent_code};
use crate::error::ServiceError;
use crate::mail::compose::Mail;
use crate::services::signin::{self, Outcome, RequestMeta, StepCall, Transaction};
use crate::services::{codes, outbox};
use crate::state::AppState;

/// A code is bound to its transaction and to the account it was sent to.
fn email_code_key(id: &str, user_id: UserId) -> String {
    format!("EMC-{id}-{user_id}")
}

/// Emails a sign-in code for the transaction (replacing any earlier one), within the send limit.
pub async fn send_email_code(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    if !state.mailer.is_configured() {
        return Err(SignInError::FeatureOff("Email MFA").into());
    }
    let user = signed_in_user(state, tx).await?;
    let email = user.email.clone().ok_or(SignInError::NoUserFound)?;
    codes::within_email_code_limit(state, &user.id.to_string(), meta.ip).await?;
    let expires_in = state.config.email_mfa_code_expires_in;
    let code = codes::new_code(state, &email_code_key(id, user.id), expires_in).await?;
    let mail = Mail::PasswordlessCode { code: &code };
    outbox::send(
        state,
        mail,
        &email,
        &tx.request.locale,
        Some(&user.org_slug),
    )
    .await
}

/// Whether the transaction has a live email code.
pub async fn email_code_pending(
    state: &AppState,
    id: &str,
    tx: &Transaction,
) -> Result<bool, ServiceError> {
    code_pending(state, id, tx, email_code_key).await
}

/// An emailed code. Begun at the TOTP or SMS step (the email backup), it stands in for that
/// step too.
pub async fn verify_email_code(call: StepCall<'_>, code: &str) -> Result<Outcome, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
    match at.step() {
        Step::EmailMfa => {}
        // Standing in for TOTP or SMS only where the app allows the email backup.
        Step::OtpMfa | Step::SmsMfa => {
            let app = state.clients.app(&tx.request.client_id).await?;
            if !email_backup_allowed(state, app.as_deref()) {
                return Err(SignInError::WrongStep.into());
            }
        }
        _ => return Err(SignInError::WrongStep.into()),
    }
    let user = account_at(state, &at).await?;
    spend_sent_code(state, &email_code_key(id, user.id), user.id, code, meta.ip).await?;
    signin::passed(state, id, tx, (at, signin::Passed::ByEmail), meta).await
}
