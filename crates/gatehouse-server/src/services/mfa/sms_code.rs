//! SMS: verifying the phone number and the codes sent to it.

use gatehouse_core::ids::UserId;
use gatehouse_core::lockout::Counter;
use gatehouse_core::signin::{MfaType, SignInError, Step};
use gatehouse_store::MfaStore;

use super::{account_at, code_pending, signed_in_user, spend_sent_code};
use crate::error::ServiceError;
use crate::i18n;
use crate::services::signin::{self, Outcome, RequestMeta, StepCall, Transaction};
use crate::services::{codes, outbox};
use crate::state::AppState;

fn sms_code_key(id: &str, user_id: UserId) -> String {
    format!("SMC-{id}-{user_id}")
}

/// The user's SMS number once verified, masked as [`texted_phone`].
pub async fn verified_phone(
    state: &AppState,
    user_id: UserId,
) -> Result<Option<String>, ServiceError> {
    Ok(texted_phone(state, user_id)
        .await?
        .filter(|(_, verified)| *verified)
        .map(|(masked, _)| masked))
}

/// The number codes go to (masked but the last 4 digits) and whether it is verified yet: the
/// code page names it even right after the setup.
pub async fn texted_phone(
    state: &AppState,
    user_id: UserId,
) -> Result<Option<(String, bool)>, ServiceError> {
    Ok(state
        .store
        .sms_phone(user_id)
        .await?
        .map(|(number, verified)| {
            let keep = number.len().saturating_sub(4);
            let masked = format!("{}{}", "•".repeat(keep.saturating_sub(1)), &number[keep..]);
            (masked, verified)
        }))
}

/// Stores the number the user typed (not yet verified) and texts it a code.
pub async fn setup_sms(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    typed: &str,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    let user = signed_in_user(state, tx).await?;
    if state
        .store
        .sms_phone(user.id)
        .await?
        .is_some_and(|(_, verified)| verified)
    {
        return Err(SignInError::BadInput("User already enrolled with MFA".into()).into());
    }
    let number =
        crate::sms::normalize_number(typed, &state.config.sms_country_code).ok_or_else(|| {
            SignInError::BadInput(
                "Enter a phone number in international form, such as +14155550123".into(),
            )
        })?;
    state.store.set_sms_phone(user.id, &number).await?;
    send_sms_code(state, id, tx, meta).await
}

/// Texts a sign-in code to the user's number (replacing any earlier one), within the limit.
pub async fn send_sms_code(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    if !state.sms.is_configured() {
        return Err(SignInError::FeatureOff("SMS MFA").into());
    }
    let user = signed_in_user(state, tx).await?;
    let (number, _) = state
        .store
        .sms_phone(user.id)
        .await?
        .ok_or_else(|| SignInError::BadInput("SMS MFA is not setup".into()))?;
    let limit = (state.config.sms_mfa_message_threshold, codes::WINDOW);
    let subject = user.id.to_string();
    codes::within_send_limit(
        state,
        Counter::SmsSends,
        &subject,
        meta.ip,
        limit,
        SignInError::SmsSendLimit,
    )
    .await?;
    let expires_in = state.config.sms_mfa_code_expires_in;
    let code = codes::new_code(state, &sms_code_key(id, user.id), expires_in).await?;
    let text = i18n::sms_code_text(&tx.request.locale, &code);
    outbox::send_sms(state, &number, &text, &code);
    Ok(())
}

/// Whether the transaction has a live SMS code.
pub async fn sms_code_pending(
    state: &AppState,
    id: &str,
    tx: &Transaction,
) -> Result<bool, ServiceError> {
    code_pending(state, id, tx, sms_code_key).await
}

/// A texted code: confirms the number (enrolling the user in SMS) and the step.
pub async fn verify_sms_code(call: StepCall<'_>, code: &str) -> Result<Outcome, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
    if at.step() != Step::SmsMfa {
        return Err(SignInError::WrongStep.into());
    }
    let user = account_at(state, &at).await?;
    spend_sent_code(state, &sms_code_key(id, user.id), user.id, code, meta.ip).await?;
    let types = user.mfa_types.clone().with(MfaType::Sms);
    let change = crate::services::audit::mfa_enrolled(&user, &types);
    let list = types.to_list();
    let write = state.store.confirm_sms(user.id, &list);
    gatehouse_store::changes::recording(change, write).await?;
    signin::complete_step(StepCall::new(state, id, tx, at, meta)).await
}
