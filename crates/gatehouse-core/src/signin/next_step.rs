//! Which step is owed next, from what has been proven and the facts about the user and the settings.

use super::proof::Progress;
use super::steps::{FirstFactor, MfaType, Step};

/// Which factors the app or the server require (melody.md §4: the app's own settings when it
/// does not use the system's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaRequirement {
    pub otp: bool,
    pub email: bool,
    pub sms: bool,
    /// When nothing is required: the types a user must enroll in one of.
    pub enforce_one_of: Vec<MfaType>,
}

/// Facts about the user and the settings that decide the steps.
#[derive(Debug, Clone, Default)]
pub struct StepFacts<'a> {
    pub first_factor: Option<FirstFactor>,
    /// A provider identity waits for an account's password before it is linked to the account.
    pub account_link_pending: bool,
    pub passwordless_enabled: bool,
    /// A new account whose email must be verified before the sign-in goes on.
    pub email_verification_pending: bool,
    pub consent_enabled: bool,
    /// The app's requested scopes not yet consented to (with `prompt=consent`: all of them).
    pub scopes_needing_consent: usize,
    pub mfa: MfaRequirement,
    /// External sign-ins skip local MFA only when the server allows it.
    pub external_can_bypass_mfa: bool,
    pub user_mfa_types: &'a [MfaType],
    pub user_otp_verified: bool,
    /// MFA types a valid remember-device cookie skips.
    pub remembered: &'a [MfaType],
    pub passkey_enrollment_enabled: bool,
    pub user_has_passkey: bool,
    pub user_skips_passkey_enroll: bool,
    pub recovery_code_enabled: bool,
    pub user_has_recovery_code: bool,
    pub org_switch_enabled: bool,
    /// The policy page requested, when its feature is on.
    pub policy: Option<Step>,
    /// The first factor is older than a policy that [needs a fresh proof](Step::needs_fresh_proof)
    /// accepts.
    pub stale_proof: bool,
}

fn needs(facts: &StepFacts<'_>, kind: MfaType) -> bool {
    let required = match kind {
        MfaType::Otp => facts.mfa.otp,
        MfaType::Email => facts.mfa.email,
        MfaType::Sms => facts.mfa.sms,
    };
    (required || facts.user_mfa_types.contains(&kind)) && !facts.remembered.contains(&kind)
}

fn skips_mfa(facts: &StepFacts<'_>) -> bool {
    match facts.first_factor {
        Some(FirstFactor::Passkey | FirstFactor::RecoveryCode | FirstFactor::Session) => true,
        Some(FirstFactor::External) => facts.external_can_bypass_mfa,
        _ => false,
    }
}

fn is_external(facts: &StepFacts<'_>) -> bool {
    facts.first_factor == Some(FirstFactor::External)
}

/// The MFA steps still owed, in order; empty once every required factor is verified.
pub fn pending_mfa(progress: &Progress, facts: &StepFacts<'_>) -> Option<Step> {
    if skips_mfa(facts) {
        return None;
    }
    let nothing_required = !facts.mfa.otp && !facts.mfa.email && !facts.mfa.sms;
    if nothing_required
        && !facts.mfa.enforce_one_of.is_empty()
        && facts.user_mfa_types.is_empty()
        && !progress.is_done(Step::MfaEnroll)
    {
        return Some(Step::MfaEnroll);
    }
    if needs(facts, MfaType::Otp) && !progress.is_done(Step::OtpMfa) {
        return Some(if facts.user_otp_verified {
            Step::OtpMfa
        } else {
            Step::OtpSetup
        });
    }
    if needs(facts, MfaType::Sms) && !progress.is_done(Step::SmsMfa) {
        return Some(Step::SmsMfa);
    }
    if needs(facts, MfaType::Email) && !progress.is_done(Step::EmailMfa) {
        return Some(Step::EmailMfa);
    }
    None
}

/// Why a transaction may not yet turn into tokens (the token endpoint's 401 messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSecured {
    #[error("Passwordless code not verified")]
    PasswordlessNotVerified,
    #[error("User consent required")]
    ConsentRequired,
    #[error("Try to exchange token while MFA code is not verified")]
    MfaNotVerified,
    #[error("The account's password has not been given to link the sign-in")]
    AccountLinkPending,
}

/// The local account a provider's first sign-in found by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCandidate {
    pub is_active: bool,
    pub has_password: bool,
    /// Whether the account's own email was verified here.
    pub email_verified: bool,
}

/// Whether a provider identity without a user is offered to the account with its email (after
/// that account's password) instead of becoming a user of its own. Both sides must vouch for
/// the email, and the account must be able to prove itself with a password.
pub fn offers_link(
    enabled: bool,
    password_sign_in: bool,
    provider_email_verified: bool,
    candidate: Option<LinkCandidate>,
) -> bool {
    enabled
        && password_sign_in
        && provider_email_verified
        && candidate.is_some_and(|c| c.is_active && c.has_password && c.email_verified)
}

/// Whether the user chose a passwordless first factor that still waits for its code.
fn passwordless_pending(progress: &Progress, facts: &StepFacts<'_>) -> bool {
    facts.first_factor == Some(FirstFactor::Passwordless)
        && facts.passwordless_enabled
        && !progress.is_done(Step::PasswordlessVerify)
}

/// Whether every factor and consent the sign-in needs is in place (Melody's `isSecured`).
pub fn check_secured(progress: &Progress, facts: &StepFacts<'_>) -> Result<(), NotSecured> {
    if facts.account_link_pending {
        return Err(NotSecured::AccountLinkPending);
    }
    if passwordless_pending(progress, facts) {
        return Err(NotSecured::PasswordlessNotVerified);
    }
    if facts.consent_enabled && facts.scopes_needing_consent > 0 && !progress.is_done(Step::Consent)
    {
        return Err(NotSecured::ConsentRequired);
    }
    if pending_mfa(progress, facts).is_some() {
        return Err(NotSecured::MfaNotVerified);
    }
    Ok(())
}

/// The next page of the transaction, or `None` when it is complete.
pub fn next_step(progress: &Progress, facts: &StepFacts<'_>) -> Option<Step> {
    // Nobody is signed in until the password proves the account the identity joins.
    if facts.account_link_pending {
        return Some(Step::LinkAccount);
    }
    if passwordless_pending(progress, facts) {
        return Some(Step::PasswordlessVerify);
    }
    if facts.email_verification_pending && !progress.is_done(Step::VerifyEmail) {
        return Some(Step::VerifyEmail);
    }
    if facts.consent_enabled && facts.scopes_needing_consent > 0 && !progress.is_done(Step::Consent)
    {
        return Some(Step::Consent);
    }
    if let Some(step) = pending_mfa(progress, facts) {
        return Some(step);
    }
    let local_account = !is_external(facts);
    let fully_authorized = matches!(
        facts.first_factor,
        Some(FirstFactor::Passkey | FirstFactor::RecoveryCode | FirstFactor::Session)
    );
    if !fully_authorized && local_account {
        if facts.passkey_enrollment_enabled
            && !facts.user_has_passkey
            && !facts.user_skips_passkey_enroll
            && !progress.is_done(Step::PasskeyEnroll)
        {
            return Some(Step::PasskeyEnroll);
        }
        if facts.recovery_code_enabled
            && !facts.user_has_recovery_code
            && !progress.is_done(Step::RecoveryCodeEnroll)
        {
            return Some(Step::RecoveryCodeEnroll);
        }
        if facts.org_switch_enabled && !progress.is_done(Step::SwitchOrg) {
            return Some(Step::SwitchOrg);
        }
    }
    match facts.policy {
        Some(policy) if local_account && !progress.is_done(policy) => {
            let confirm_first = policy.needs_fresh_proof()
                && facts.stale_proof
                && !progress.is_done(Step::ConfirmIdentity);
            Some(if confirm_first {
                Step::ConfirmIdentity
            } else {
                policy
            })
        }
        _ => None,
    }
}
