//! The sign-in transaction (melody.md §4): after the first factor, which step comes next.
//!
//! A transaction records what has been proven so far; [`next_step`] looks at it and at the facts
//! about the user, the app and the server, and names the one page still owed, or none. Steps are
//! asked in a fixed order and each at most once, so later capabilities plug in by adding facts.

use serde::{Deserialize, Serialize};

use crate::error::ErrorClass;

/// Why a sign-in step was refused, in the words the pages and the embedded API show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown email or wrong password: deliberately the same answer.
    #[error("No user found")]
    NoUserFound,
    #[error("Account temporarily locked due to excessive login failures")]
    LockedOut,
    #[error("Try to access a disabled account")]
    DisabledAccount,
    #[error("The email address is already in use")]
    EmailInUse,
    #[error("{0}")]
    BadInput(String),
    #[error("This sign-in has expired or is unknown; start again from the app")]
    UnknownTransaction,
    #[error(
        "The form is out of date or was not sent by this browser; reload the page and try again"
    )]
    CsrfMismatch,
    #[error("{0} is not enabled on this server")]
    FeatureOff(&'static str),
    #[error("This step does not belong to the current sign-in")]
    WrongStep,
    /// A first factor posted after the sign-in already proved an account.
    #[error("This sign-in already belongs to an account; continue it, or start again from the app to use another account")]
    AlreadySignedIn,
    /// The current password, asked again before a sensitive change, is wrong.
    #[error("The current password is not correct")]
    WrongCurrentPassword,
    #[error("Invalid code provided")]
    InvalidCode,
    #[error("Please complete the captcha and try again")]
    Captcha,
    #[error("Invalid MFA code provided")]
    InvalidMfaCode,
    #[error("Too many failed MFA verification attempts. Please try again after 30 minutes.")]
    MfaLockout,
    #[error("Too many password reset email requests. Please try again tomorrow.")]
    ResetRequestLimit,
    #[error("Too many failed password reset attempts. Please try again after 30 minutes.")]
    ResetCodeLockout,
    #[error("Too many failed email verification attempts. Please try again after 30 minutes.")]
    VerificationLockout,
    #[error("Too many send email change code requests. Please try again after 30 minutes.")]
    ChangeEmailSendLimit,
    #[error(
        "Too many failed change email verification attempts. Please try again after 30 minutes."
    )]
    ChangeEmailLockout,
    #[error(
        "Too many failed passwordless verification attempts. Please try again after 30 minutes."
    )]
    PasswordlessLockout,
    #[error("Too many Email verification attempts. Please try again after 30 minutes.")]
    EmailSendLimit,
    #[error("Too many SMS verification attempts. Please try again after 30 minutes.")]
    SmsSendLimit,
    #[error("The new password is the same as the old password")]
    SamePassword,
    #[error("The new email address is the same as the current one")]
    SameEmail,
    #[error("Invitation not found or already used")]
    InvitationNotFound,
    #[error("Invitation has expired")]
    InvitationExpired,
    #[error("User is already active")]
    AlreadyActive,
    #[error("No sign-in provider is named `{0}`")]
    UnknownProvider(String),
    #[error("Sign-in with {provider} failed: {reason}")]
    ExternalRefused { provider: String, reason: String },
    #[error("Sign-in with {0} is unavailable right now (the provider could not be reached); try again later")]
    ProviderUnavailable(String),
    #[error("No active SAML IdP is named `{0}`")]
    UnknownSamlIdp(String),
    #[error("The SAML IdP `{idp}` cannot be used: {reason}")]
    SamlIdpMisconfigured { idp: String, reason: String },
    #[error("Invalid SAML response: {0}")]
    InvalidSamlResponse(crate::saml::SamlError),
}

impl SignInError {
    /// Melody's statuses as classes: an unknown user or sign-in is not found (404), a form from
    /// another browser forbidden (403), an unreachable provider upstream (502), the rest invalid.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::NoUserFound
            | Self::UnknownTransaction
            | Self::InvitationNotFound
            | Self::UnknownProvider(_) => ErrorClass::NotFound,
            Self::CsrfMismatch => ErrorClass::Forbidden,
            Self::ProviderUnavailable(_) => ErrorClass::Upstream,
            _ => ErrorClass::Invalid,
        }
    }
}

/// Melody's `nextPage` values (its `View` enum): the steps a transaction can stop at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A provider identity with no user, whose verified email is a password account's: the
    /// account's password links the two (Gatehouse's; Melody has no such page).
    LinkAccount,
    PasswordlessVerify,
    /// A browser sign-up proving its email address (Gatehouse asks before going on; Melody
    /// only emails a link).
    VerifyEmail,
    Consent,
    MfaEnroll,
    OtpSetup,
    OtpMfa,
    SmsMfa,
    EmailMfa,
    PasskeyEnroll,
    RecoveryCodeEnroll,
    SwitchOrg,
    ChangePassword,
    ChangeEmail,
    ResetMfa,
    ManagePasskey,
    ManageRecoveryCode,
    UpdateInfo,
    ChangeOrg,
    /// Before a policy that changes how the account proves itself, when the sign-in is older
    /// than the server accepts for it: the current password, or a new sign-in (Gatehouse's).
    ConfirmIdentity,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinkAccount => "link_account",
            Self::PasswordlessVerify => "passwordless_verify",
            Self::VerifyEmail => "verify_email",
            Self::Consent => "consent",
            Self::MfaEnroll => "mfa_enroll",
            Self::OtpSetup => "otp_setup",
            Self::OtpMfa => "otp_mfa",
            Self::SmsMfa => "sms_mfa",
            Self::EmailMfa => "email_mfa",
            Self::PasskeyEnroll => "passkey_enroll",
            Self::RecoveryCodeEnroll => "recovery_code_enroll",
            Self::SwitchOrg => "switch_org",
            Self::ChangePassword => "change_password",
            Self::ChangeEmail => "change_email",
            Self::ResetMfa => "reset_mfa",
            Self::ManagePasskey => "manage_passkey",
            Self::ManageRecoveryCode => "manage_recovery_code",
            Self::UpdateInfo => "update_info",
            Self::ChangeOrg => "change_org",
            Self::ConfirmIdentity => "confirm_identity",
        }
    }

    /// Policies that change how the account proves itself (or where its codes go): a stolen
    /// session must not be enough to reach them, so they want a recent proof.
    pub fn needs_fresh_proof(self) -> bool {
        matches!(
            self,
            Self::ChangePassword
                | Self::ChangeEmail
                | Self::ResetMfa
                | Self::ManagePasskey
                | Self::ManageRecoveryCode
        )
    }

    /// The policy page a `policy` parameter names.
    pub fn from_policy(policy: &str) -> Option<Self> {
        Some(match policy {
            "change_password" => Self::ChangePassword,
            "change_email" => Self::ChangeEmail,
            "reset_mfa" => Self::ResetMfa,
            "manage_passkey" => Self::ManagePasskey,
            "manage_recovery_code" => Self::ManageRecoveryCode,
            "update_info" => Self::UpdateInfo,
            "change_org" => Self::ChangeOrg,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaType {
    Otp,
    Email,
    Sms,
}

impl MfaType {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "otp" => Some(Self::Otp),
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// How the user proved who they are first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstFactor {
    Password,
    SignUp,
    Passwordless,
    /// Passkey or recovery code: already strong, MFA is skipped.
    StrongFactor,
    /// An external identity provider (social, OIDC, SAML).
    External,
    /// The browser's single sign-on session.
    Session,
}

/// What a transaction has proven so far. Stored with the transaction between requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps completed (a verified factor, a given consent, a declined enrollment…).
    pub done: Vec<Step>,
}

impl Progress {
    pub fn is_done(&self, step: Step) -> bool {
        self.done.contains(&step)
    }

    pub fn complete(&mut self, step: Step) {
        if !self.done.contains(&step) {
            self.done.push(step);
        }
    }
}

/// The account a transaction has signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub id: i64,
    pub auth_id: String,
}

/// Who a sign-in has proven and what they have passed since, kept together so that one
/// cannot change without the other: the account is set once, by its first factor, and every
/// later step is recorded only when it is the step owed now. A submission for a step not owed
/// (out of order, repeated, or after another account's first factor) is refused, which is what
/// keeps one account's second factor from finishing another's sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    #[serde(default)]
    user: Option<Subject>,
    #[serde(default)]
    first_factor: Option<FirstFactor>,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    progress: Progress,
}

impl Proof {
    pub fn user(&self) -> Option<&Subject> {
        self.user.as_ref()
    }

    pub fn first_factor(&self) -> Option<FirstFactor> {
        self.first_factor
    }

    /// When the first factor was proven (a session's own sign-in time for `Session`).
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Refuses once an account is signed in: every first factor asks this before it looks
    /// at what was posted, so nothing is counted, spent or created for a refused post.
    pub fn expect_first_factor(&self) -> Result<(), SignInError> {
        match self.user {
            Some(_) => Err(SignInError::AlreadySignedIn),
            None => Ok(()),
        }
    }

    /// A first factor under way that names no account yet: a passwordless code on its way
    /// (`Some(Passwordless)`), or a provider identity waiting to be linked (`None`).
    pub fn await_first_factor(&mut self, factor: Option<FirstFactor>) -> Result<(), SignInError> {
        self.expect_first_factor()?;
        self.first_factor = factor;
        self.progress = Progress::default();
        Ok(())
    }

    /// The first factor proved `user`. A passwordless proof answers the code that was sent
    /// (and so records its step); every other first factor starts from nothing proven.
    pub fn sign_in(
        &mut self,
        user: Subject,
        factor: FirstFactor,
        auth_time: i64,
    ) -> Result<(), SignInError> {
        // The one check that binds what was proven to whom: nothing recorded so far may be
        // carried over to another account.
        self.expect_first_factor()?;
        if factor == FirstFactor::Passwordless {
            if self.first_factor != Some(FirstFactor::Passwordless) {
                return Err(SignInError::WrongStep);
            }
            self.progress.complete(Step::PasswordlessVerify);
        }
        self.user = Some(user);
        self.first_factor = Some(factor);
        self.auth_time = Some(auth_time);
        Ok(())
    }

    /// Whether the sign-in proves the person is here now. A first factor given in this sign-in
    /// does; the browser's session does only if it began at most `max_age` seconds before `now`
    /// (0: never), since a stolen session cookie is the threat.
    pub fn is_fresh(&self, now: i64, max_age: u64) -> bool {
        match self.first_factor {
            Some(FirstFactor::Session) => {
                let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
                max_age > 0
                    && self
                        .auth_time
                        .is_some_and(|t| now.saturating_sub(t) <= max_age)
            }
            Some(_) => self.user.is_some(),
            None => false,
        }
    }

    /// The account proved itself again (its current password, at `now`): the confirm step is
    /// recorded and the sign-in counts as fresh from now on.
    pub fn reconfirm(&mut self, at: AtStep, now: i64) -> Result<(), SignInError> {
        if at.step != Step::ConfirmIdentity {
            return Err(SignInError::WrongStep);
        }
        self.check_owner(&at)?;
        self.progress.complete(Step::ConfirmIdentity);
        self.auth_time = Some(now);
        Ok(())
    }

    /// The page owed now (`None`: nothing is).
    pub fn owed(&self, facts: &StepFacts<'_>) -> Option<Step> {
        next_step(&self.progress, facts)
    }

    /// A submission may begin: the account is signed in and the step owed now is one of
    /// `steps`. The answer is the only way to [`complete`](Self::complete) a step, so a step
    /// is recorded only when it was owed when its submission began (its own side effects,
    /// such as a granted consent, may change what is owed before it is recorded).
    pub fn at(&self, steps: &[Step], facts: &StepFacts<'_>) -> Result<AtStep, SignInError> {
        let user = self.user.as_ref().ok_or(SignInError::WrongStep)?;
        match self.owed(facts) {
            Some(step) if steps.contains(&step) => Ok(AtStep {
                user: user.clone(),
                step,
            }),
            _ => Err(SignInError::WrongStep),
        }
    }

    /// Records the step a submission began at. TOTP proven at its setup page proves TOTP.
    pub fn complete(&mut self, at: AtStep) -> Result<(), SignInError> {
        self.check_owner(&at)?;
        self.progress.complete(proven_by(at.step));
        Ok(())
    }

    /// An emailed code: the email step, or, as a backup the caller has allowed, the TOTP or
    /// SMS step it stands in for.
    pub fn complete_by_email(&mut self, at: AtStep) -> Result<(), SignInError> {
        self.check_owner(&at)?;
        if !matches!(at.step, Step::EmailMfa | Step::OtpMfa | Step::SmsMfa) {
            return Err(SignInError::WrongStep);
        }
        self.progress.complete(Step::EmailMfa);
        self.progress.complete(at.step);
        Ok(())
    }

    fn check_owner(&self, at: &AtStep) -> Result<(), SignInError> {
        let same_user = self.user.as_ref().is_some_and(|u| u.id == at.user.id);
        if !same_user || self.progress.is_done(proven_by(at.step)) {
            return Err(SignInError::WrongStep);
        }
        Ok(())
    }

    /// Whether the sign-in may turn into tokens now.
    pub fn secured(&self, facts: &StepFacts<'_>) -> Result<(), NotSecured> {
        check_secured(&self.progress, facts)
    }
}

/// A transaction found at a step, for its signed-in account: made only by [`Proof::at`].
#[derive(Debug, PartialEq, Eq)]
pub struct AtStep {
    user: Subject,
    step: Step,
}

impl AtStep {
    pub fn user(&self) -> &Subject {
        &self.user
    }

    pub fn step(&self) -> Step {
        self.step
    }
}

/// The step a page's submission proves (the TOTP setup page proves TOTP).
fn proven_by(step: Step) -> Step {
    match step {
        Step::OtpSetup => Step::OtpMfa,
        other => other,
    }
}

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
        Some(FirstFactor::StrongFactor) | Some(FirstFactor::Session) => true,
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

/// Whether every factor and consent the sign-in needs is in place (Melody's `isSecured`).
pub fn check_secured(progress: &Progress, facts: &StepFacts<'_>) -> Result<(), NotSecured> {
    if facts.account_link_pending {
        return Err(NotSecured::AccountLinkPending);
    }
    if facts.first_factor == Some(FirstFactor::Passwordless)
        && facts.passwordless_enabled
        && !progress.is_done(Step::PasswordlessVerify)
    {
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
    if facts.first_factor == Some(FirstFactor::Passwordless)
        && facts.passwordless_enabled
        && !progress.is_done(Step::PasswordlessVerify)
    {
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
        Some(FirstFactor::StrongFactor) | Some(FirstFactor::Session)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_refusals_keep_melodys_statuses_as_classes() {
        for err in [
            SignInError::NoUserFound,
            SignInError::UnknownTransaction,
            SignInError::InvitationNotFound,
            SignInError::UnknownProvider("corp".into()),
        ] {
            assert_eq!(err.class(), ErrorClass::NotFound, "{err:?}");
        }
        assert_eq!(SignInError::CsrfMismatch.class(), ErrorClass::Forbidden);
        assert_eq!(
            SignInError::ProviderUnavailable("corp".into()).class(),
            ErrorClass::Upstream
        );
        for err in [
            SignInError::LockedOut,
            SignInError::WrongStep,
            SignInError::InvalidCode,
            SignInError::ExternalRefused {
                provider: "corp".into(),
                reason: "access_denied".into(),
            },
        ] {
            assert_eq!(err.class(), ErrorClass::Invalid, "{err:?}");
        }
    }

    fn password_facts() -> StepFacts<'static> {
        StepFacts {
            first_factor: Some(FirstFactor::Password),
            consent_enabled: true,
            scopes_needing_consent: 2,
            ..Default::default()
        }
    }

    fn walk(facts: &StepFacts<'_>) -> Vec<Step> {
        let mut progress = Progress::default();
        let mut seen = Vec::new();
        while let Some(step) = next_step(&progress, facts) {
            assert!(!seen.contains(&step), "{step:?} asked twice");
            seen.push(step);
            // Verifying the OTP setup proves the OTP factor.
            progress.complete(if step == Step::OtpSetup {
                Step::OtpMfa
            } else {
                step
            });
        }
        assert_eq!(check_secured(&progress, facts), Ok(()));
        seen
    }

    #[test]
    fn password_sign_in_asks_consent_then_finishes() {
        assert_eq!(walk(&password_facts()), vec![Step::Consent]);
    }

    #[test]
    fn no_consent_needed_when_every_scope_was_granted() {
        let facts = StepFacts {
            scopes_needing_consent: 0,
            ..password_facts()
        };
        assert_eq!(walk(&facts), Vec::<Step>::new());
        let off = StepFacts {
            consent_enabled: false,
            ..password_facts()
        };
        assert_eq!(walk(&off), Vec::<Step>::new());
    }

    #[test]
    fn the_full_order_of_melody_section_4() {
        let facts = StepFacts {
            first_factor: Some(FirstFactor::Passwordless),
            passwordless_enabled: true,
            mfa: MfaRequirement {
                otp: true,
                sms: true,
                email: true,
                enforce_one_of: vec![],
            },
            passkey_enrollment_enabled: true,
            recovery_code_enabled: true,
            org_switch_enabled: true,
            policy: Some(Step::UpdateInfo),
            ..password_facts()
        };
        assert_eq!(
            walk(&facts),
            vec![
                Step::PasswordlessVerify,
                Step::Consent,
                Step::OtpSetup,
                Step::SmsMfa,
                Step::EmailMfa,
                Step::PasskeyEnroll,
                Step::RecoveryCodeEnroll,
                Step::SwitchOrg,
                Step::UpdateInfo,
            ]
        );
    }

    #[test]
    fn enrollment_is_asked_only_when_nothing_is_required_and_the_user_has_none() {
        let enforce = MfaRequirement {
            enforce_one_of: vec![MfaType::Otp, MfaType::Email],
            ..Default::default()
        };
        let facts = StepFacts {
            mfa: enforce.clone(),
            scopes_needing_consent: 0,
            ..password_facts()
        };
        assert_eq!(
            next_step(&Progress::default(), &facts),
            Some(Step::MfaEnroll)
        );
        let enrolled = [MfaType::Email];
        let facts = StepFacts {
            mfa: enforce,
            user_mfa_types: &enrolled,
            scopes_needing_consent: 0,
            ..password_facts()
        };
        assert_eq!(walk(&facts), vec![Step::EmailMfa]);
    }

    #[test]
    fn verified_otp_users_get_the_code_page_and_remembered_devices_skip_it() {
        let otp = [MfaType::Otp];
        let facts = StepFacts {
            user_mfa_types: &otp,
            user_otp_verified: true,
            scopes_needing_consent: 0,
            ..password_facts()
        };
        assert_eq!(walk(&facts), vec![Step::OtpMfa]);
        let remembered = StepFacts {
            remembered: &otp,
            ..facts
        };
        assert_eq!(walk(&remembered), Vec::<Step>::new());
    }

    #[test]
    fn strong_factors_and_sessions_skip_mfa_and_enrollments_but_not_consent_or_policy() {
        for first in [FirstFactor::StrongFactor, FirstFactor::Session] {
            let facts = StepFacts {
                first_factor: Some(first),
                mfa: MfaRequirement {
                    otp: true,
                    ..Default::default()
                },
                passkey_enrollment_enabled: true,
                policy: Some(Step::ChangePassword),
                ..password_facts()
            };
            assert_eq!(walk(&facts), vec![Step::Consent, Step::ChangePassword]);
        }
    }

    #[test]
    fn external_users_do_mfa_unless_bypass_is_allowed_and_never_see_policies() {
        let base = StepFacts {
            first_factor: Some(FirstFactor::External),
            mfa: MfaRequirement {
                email: true,
                ..Default::default()
            },
            recovery_code_enabled: true,
            policy: Some(Step::UpdateInfo),
            scopes_needing_consent: 0,
            ..password_facts()
        };
        assert_eq!(walk(&base), vec![Step::EmailMfa]);
        let bypass = StepFacts {
            external_can_bypass_mfa: true,
            ..base
        };
        assert_eq!(walk(&bypass), Vec::<Step>::new());
    }

    #[test]
    fn an_unfinished_transaction_is_not_secured() {
        let facts = StepFacts {
            mfa: MfaRequirement {
                email: true,
                ..Default::default()
            },
            ..password_facts()
        };
        let mut progress = Progress::default();
        assert_eq!(
            check_secured(&progress, &facts),
            Err(NotSecured::ConsentRequired)
        );
        progress.complete(Step::Consent);
        assert_eq!(
            check_secured(&progress, &facts),
            Err(NotSecured::MfaNotVerified)
        );
        progress.complete(Step::EmailMfa);
        assert_eq!(check_secured(&progress, &facts), Ok(()));
    }

    #[test]
    fn a_browser_sign_up_verifies_its_email_before_consent() {
        let facts = StepFacts {
            first_factor: Some(FirstFactor::SignUp),
            email_verification_pending: true,
            ..password_facts()
        };
        let mut progress = Progress::default();
        assert_eq!(next_step(&progress, &facts), Some(Step::VerifyEmail));
        progress.complete(Step::VerifyEmail);
        assert_eq!(next_step(&progress, &facts), Some(Step::Consent));
    }

    #[test]
    fn a_pending_link_comes_before_everything_and_keeps_the_sign_in_unsecured() {
        let facts = StepFacts {
            first_factor: None,
            account_link_pending: true,
            mfa: MfaRequirement {
                otp: true,
                ..Default::default()
            },
            ..password_facts()
        };
        assert_eq!(
            next_step(&Progress::default(), &facts),
            Some(Step::LinkAccount)
        );
        assert_eq!(
            check_secured(&Progress::default(), &facts),
            Err(NotSecured::AccountLinkPending)
        );
        // Once the password proved the account, the sign-in goes on as a password sign-in.
        let linked = StepFacts {
            first_factor: Some(FirstFactor::Password),
            account_link_pending: false,
            ..facts
        };
        assert_eq!(walk(&linked), vec![Step::Consent, Step::OtpSetup]);
    }

    #[test]
    fn a_link_is_offered_only_when_both_sides_vouch_for_the_email() {
        let account = LinkCandidate {
            is_active: true,
            has_password: true,
            email_verified: true,
        };
        assert!(offers_link(true, true, true, Some(account)));
        assert!(
            !offers_link(false, true, true, Some(account)),
            "feature off"
        );
        assert!(
            !offers_link(true, false, true, Some(account)),
            "no password sign-in"
        );
        assert!(
            !offers_link(true, true, false, Some(account)),
            "provider did not verify"
        );
        assert!(
            !offers_link(true, true, true, None),
            "no account with the email"
        );
        for other in [
            LinkCandidate {
                email_verified: false,
                ..account
            },
            LinkCandidate {
                is_active: false,
                ..account
            },
            LinkCandidate {
                has_password: false,
                ..account
            },
        ] {
            assert!(!offers_link(true, true, true, Some(other)), "{other:?}");
        }
    }

    #[test]
    fn policies_map_from_their_names() {
        for step in [
            Step::ChangePassword,
            Step::UpdateInfo,
            Step::ChangeOrg,
            Step::ResetMfa,
        ] {
            assert_eq!(Step::from_policy(step.as_str()), Some(step));
        }
        assert_eq!(Step::from_policy("consent"), None);
    }

    fn session_policy(policy: Step, stale_proof: bool) -> StepFacts<'static> {
        StepFacts {
            first_factor: Some(FirstFactor::Session),
            policy: Some(policy),
            stale_proof,
            ..Default::default()
        }
    }

    #[test]
    fn a_stale_session_confirms_before_a_sensitive_policy() {
        for policy in [
            Step::ChangePassword,
            Step::ChangeEmail,
            Step::ResetMfa,
            Step::ManagePasskey,
            Step::ManageRecoveryCode,
        ] {
            assert_eq!(
                walk(&session_policy(policy, true)),
                vec![Step::ConfirmIdentity, policy]
            );
            assert_eq!(walk(&session_policy(policy, false)), vec![policy]);
        }
        // Names and organization change nothing an attacker could keep the account with.
        for policy in [Step::UpdateInfo, Step::ChangeOrg] {
            assert_eq!(walk(&session_policy(policy, true)), vec![policy]);
        }
    }

    #[test]
    fn freshness_is_a_factor_given_now_or_a_recent_session() {
        let user = Subject {
            id: 1,
            auth_id: "a".into(),
        };
        assert!(
            !Proof::default().is_fresh(1_000, 300),
            "nobody signed in yet"
        );
        let mut session = Proof::default();
        session
            .sign_in(user.clone(), FirstFactor::Session, 1_000)
            .unwrap();
        assert!(session.is_fresh(1_300, 300));
        assert!(!session.is_fresh(1_301, 300));
        assert!(!session.is_fresh(1_000, 0), "0: a session is never enough");
        let mut password = Proof::default();
        password
            .sign_in(user, FirstFactor::Password, 1_000)
            .unwrap();
        assert!(password.is_fresh(9_999, 0), "typed in this sign-in");
    }

    #[test]
    fn reconfirming_records_the_step_once_and_renews_the_auth_time() {
        let facts = session_policy(Step::ResetMfa, true);
        let mut proof = Proof::default();
        let user = Subject {
            id: 7,
            auth_id: "u7".into(),
        };
        proof.sign_in(user, FirstFactor::Session, 100).unwrap();
        // The policy itself is not owed yet.
        assert_eq!(
            proof.at(&[Step::ResetMfa], &facts),
            Err(SignInError::WrongStep)
        );
        let at = proof.at(&[Step::ConfirmIdentity], &facts).unwrap();
        proof.reconfirm(at, 5_000).unwrap();
        assert_eq!(proof.auth_time(), Some(5_000));
        assert_eq!(proof.owed(&facts), Some(Step::ResetMfa));
        // A second confirmation, or `complete` standing in for it, is refused.
        assert!(proof.at(&[Step::ConfirmIdentity], &facts).is_err());
        let at = proof.at(&[Step::ResetMfa], &facts).unwrap();
        assert_eq!(proof.reconfirm(at, 6_000), Err(SignInError::WrongStep));
    }
}
