//! Choosing second factors: the enrollment page and the `reset_mfa` policy.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{MfaType, MfaTypes, SignInError, Step};
use gatehouse_store::{App, UserStore};

use super::{account_at, requirement};
use crate::error::ServiceError;
use crate::services::signin::{self, Outcome, StepCall};
use crate::state::AppState;

/// The types the enrollment page offers: the enforced list, less what the server cannot do.
pub fn enrollment_choices(
    state: &AppState,
    app: Option<&App>,
    wants_two_factors: bool,
) -> Vec<MfaType> {
    requirement(state, app, wants_two_factors)
        .enforce_one_of
        .into_iter()
        .filter(|t| match t {
            MfaType::Email => state.mailer.is_configured(),
            MfaType::Otp => true,
            MfaType::Sms => state.sms.is_configured(),
        })
        .collect()
}

/// The user picks the factor they must enroll in; the next step sets it up.
pub async fn enroll(call: StepCall<'_>, kind: Option<MfaType>) -> Result<Outcome, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
    if at.step() != Step::MfaEnroll {
        return Err(SignInError::WrongStep.into());
    }
    let user = account_at(state, &at).await?;
    let app = state.clients.app(&tx.request.client_id).await?;
    let kind = kind
        .filter(|k| {
            enrollment_choices(state, app.as_deref(), tx.request.wants_two_factors).contains(k)
        })
        .ok_or_else(|| SignInError::BadInput("Choose one of the offered methods".into()))?;
    if !user.mfa_types.is_empty() {
        return Err(SignInError::BadInput("User already enrolled with MFA".into()).into());
    }
    let types = MfaTypes::default().with(kind);
    // The user has no factor yet (checked above).
    let change = crate::services::audit::mfa_enrolled(&user, &types);
    let list = types.to_list();
    let write = state
        .store
        .set_mfa_types(user.id, &list, kind == MfaType::Otp, false);
    gatehouse_store::changes::recording(change, write).await?;
    signin::complete_step(StepCall::new(state, id, tx, at, meta)).await
}

/// The `reset_mfa` policy: every factor and its secrets removed.
pub async fn reset_own_mfa(state: &AppState, user_id: UserId) -> Result<(), ServiceError> {
    let user = crate::services::audit::user_by_id(state, user_id).await?;
    let change = crate::services::audit::user_change(
        &user,
        "mfa_reset",
        gatehouse_core::webhooks::USER_MFA_RESET,
    )
    .field("mfaTypes", user.mfa_types.to_list(), "");
    let write = state.store.set_mfa_types(user_id, "", true, true);
    gatehouse_store::changes::recording(change, write).await?;
    Ok(())
}
