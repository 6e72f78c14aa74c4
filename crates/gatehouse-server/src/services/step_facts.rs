//! What decides a transaction's next step (melody.md §4): the facts about the user, the app and
//! the server that `gatehouse_core::signin::next_step` weighs.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{FirstFactor, MfaTypes, Step, StepFacts};
use gatehouse_store::AccountStore;

use crate::error::ServiceError;
use crate::services::signin::{scopes_needing_consent, RequestMeta, Transaction};
use crate::services::{lifecycle, mfa};
use crate::state::AppState;

fn policy_step(state: &AppState, policy: Option<&str>) -> Option<Step> {
    let config = &state.config;
    let step = Step::from_policy(policy?)?;
    let enabled = match step {
        Step::ChangePassword => config.enable_password_reset,
        Step::UpdateInfo => config.enable_names,
        Step::ChangeOrg => config.enable_org,
        Step::ChangeEmail => lifecycle::change_email_on(state),
        Step::ResetMfa => true,
        Step::ManageRecoveryCode => mfa::recovery_codes_on(state),
        Step::ManagePasskey => crate::services::passkeys::passkeys_on(state),
        _ => false,
    };
    enabled.then_some(step)
}

/// The facts about a transaction, with the user's enrolled and remembered factors (which the
/// facts borrow).
pub(crate) struct OwnedFacts {
    facts: StepFacts<'static>,
    user_mfa_types: MfaTypes,
    remembered: Vec<gatehouse_core::signin::MfaType>,
}

impl OwnedFacts {
    pub(crate) fn facts(&self) -> StepFacts<'_> {
        StepFacts {
            user_mfa_types: &self.user_mfa_types,
            remembered: &self.remembered,
            ..self.facts.clone()
        }
    }
}

/// The signed-in user's enrolled second factors, when the caller has just read them (a password
/// check reads them with the account), so the facts need not read the user again.
#[derive(Debug, Clone)]
pub(crate) struct KnownFactors {
    pub user_id: UserId,
    pub mfa_types: MfaTypes,
    pub otp_verified: bool,
}

pub(crate) async fn facts_for(
    state: &AppState,
    tx: &Transaction,
    meta: RequestMeta<'_>,
    known: Option<KnownFactors>,
) -> Result<OwnedFacts, ServiceError> {
    let config = &state.config;
    let consent_needed = if config.enable_user_app_consent {
        scopes_needing_consent(state, tx).await?.len()
    } else {
        0
    };
    // Only the pages ask for the code in the middle of a sign-in; the embedded API's apps
    // (and Melody's) rely on the emailed link.
    let email_verification_pending = tx.first_factor() == Some(FirstFactor::SignUp)
        && tx.browser_key.is_some()
        && lifecycle::verification_on(state)
        && !config.replace_email_verification_with_welcome_email;
    let app = state.clients.app(&tx.request.client_id).await?;
    let factors = match (tx.user(), known) {
        (Some(signed), Some(known)) if known.user_id == signed.id => Some(known),
        (Some(signed), _) => state
            .store
            .user_by_id(signed.id)
            .await?
            .map(|user| KnownFactors {
                user_id: user.id,
                mfa_types: user.mfa_types,
                otp_verified: user.otp_verified,
            }),
        (None, _) => None,
    };
    let (user_mfa_types, user_otp_verified, remembered) = match factors {
        Some(factors) => (
            factors.mfa_types,
            factors.otp_verified,
            mfa::remembered(state, factors.user_id, meta.device).await?,
        ),
        None => (MfaTypes::default(), false, Vec::new()),
    };
    // A request for two factors is not met by a device remembered from an earlier sign-in.
    let two_factors = tx.request.wants_two_factors;
    let remembered = if two_factors { Vec::new() } else { remembered };
    let passkey_enrollment_enabled = crate::services::passkeys::passkeys_on(state);
    let (user_has_passkey, user_skips_passkey_enroll) =
        match (tx.user(), passkey_enrollment_enabled) {
            (Some(signed), true) => {
                crate::services::passkeys::enrollment_facts(state, signed.id).await?
            }
            _ => (false, false),
        };
    // Nothing to choose, nothing to ask: a user in no organization is not stopped at the choice.
    let org_switch_enabled = match (tx.user(), crate::services::signin::org_switch_on(state)) {
        (Some(signed), true) => {
            use gatehouse_store::OrgStore;
            !state.store.user_orgs(signed.id).await?.is_empty()
        }
        _ => false,
    };
    let recovery_code_enabled = mfa::recovery_codes_on(state);
    let user_has_recovery_code = match (tx.user(), recovery_code_enabled) {
        (Some(signed), true) => mfa::has_recovery_codes(state, signed.id).await?,
        _ => false,
    };
    Ok(OwnedFacts {
        facts: StepFacts {
            first_factor: tx.first_factor(),
            account_link_pending: tx.user().is_none() && tx.pending_link.is_some(),
            passwordless_enabled: config.enable_passwordless_sign_in,
            email_verification_pending,
            consent_enabled: config.enable_user_app_consent,
            scopes_needing_consent: consent_needed,
            mfa: mfa::requirement(state, app.as_deref(), two_factors),
            external_can_bypass_mfa: config.external_sign_in_can_bypass_local_mfa && !two_factors,
            user_otp_verified,
            recovery_code_enabled,
            user_has_recovery_code,
            passkey_enrollment_enabled,
            user_has_passkey,
            user_skips_passkey_enroll,
            org_switch_enabled,
            policy: policy_step(state, tx.request.policy.as_deref()),
            stale_proof: !tx
                .proof()
                .is_fresh(meta.now, config.sensitive_action_max_auth_age),
            ..StepFacts::default()
        },
        user_mfa_types,
        remembered,
    })
}
