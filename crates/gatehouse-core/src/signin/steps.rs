//! The steps a transaction can stop at, the ways a first factor is proven, and why a step is refused.

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
    /// The device verification page's code is unknown, used or expired.
    #[error("This code is not valid. Check the code your device shows; it may have expired.")]
    UnknownUserCode,
    #[error("Too many wrong device codes. Please try again after 15 minutes.")]
    UserCodeLockout,
    /// The request named an account (`claims` with a `sub` value) and another signed in.
    #[error("The app asked for another account than the one signed in")]
    NotTheRequestedAccount,
}

impl SignInError {
    /// Melody's statuses as classes: an unknown user or sign-in is not found (404), a form from
    /// another browser forbidden (403), an unreachable provider upstream (502), the rest invalid.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::NoUserFound
            | Self::UnknownTransaction
            | Self::InvitationNotFound
            | Self::UnknownProvider(_)
            | Self::UnknownUserCode => ErrorClass::NotFound,
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

    /// The steps an authorization request's `policy` parameter may open as a page.
    pub const POLICY_PAGES: [Self; 7] = [
        Self::ChangePassword,
        Self::ChangeEmail,
        Self::ResetMfa,
        Self::ManagePasskey,
        Self::ManageRecoveryCode,
        Self::UpdateInfo,
        Self::ChangeOrg,
    ];

    /// The policy page a `policy` parameter names.
    pub fn from_policy(policy: &str) -> Option<Self> {
        Self::POLICY_PAGES
            .into_iter()
            .find(|step| step.as_str() == policy)
    }
}

/// The `policy` value that asks for the plain sign-in (the default).
pub const SIGN_IN_OR_SIGN_UP: &str = "sign_in_or_sign_up";

/// Every name a fixed `policy` parameter may carry: the plain sign-in and the policy pages
/// (the `oidc_sso_<name>` and `saml_sso_<idp>` families are named by configuration instead).
pub fn policy_names() -> impl Iterator<Item = &'static str> {
    std::iter::once(SIGN_IN_OR_SIGN_UP).chain(Step::POLICY_PAGES.into_iter().map(Step::as_str))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaType {
    Otp,
    Email,
    Sms,
}

impl MfaType {
    pub const ALL: [Self; 3] = [Self::Otp, Self::Email, Self::Sms];

    /// The factor's name as stored, configured and shown by the APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for MfaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The second factors an account has enrolled, each once, in the order they were enrolled.
/// Stored as Melody's comma-separated `mfaTypes` text and read into this once, where it leaves
/// the database; names no version ever wrote are dropped there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaTypes(Vec<MfaType>);

impl MfaTypes {
    /// Reads the stored comma-separated list.
    pub fn parse_list(text: &str) -> Self {
        text.split(',')
            .filter_map(|name| MfaType::parse(name.trim()))
            .fold(Self::default(), Self::with)
    }

    /// The set with `kind` enrolled (last, if it was not already).
    pub fn with(mut self, kind: MfaType) -> Self {
        if !self.0.contains(&kind) {
            self.0.push(kind);
        }
        self
    }

    /// The set without `kind`.
    pub fn without(mut self, kind: MfaType) -> Self {
        self.0.retain(|k| *k != kind);
        self
    }

    /// The stored form: names joined by commas.
    pub fn to_list(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|k| k.as_str()).collect();
        names.join(",")
    }
}

impl std::ops::Deref for MfaTypes {
    type Target = [MfaType];

    fn deref(&self) -> &[MfaType] {
        &self.0
    }
}

impl From<String> for MfaTypes {
    fn from(text: String) -> Self {
        Self::parse_list(&text)
    }
}

impl FirstFactor {
    /// Passkeys and recovery codes: strong enough that MFA is skipped.
    pub fn is_strong(self) -> bool {
        matches!(self, Self::Passkey | Self::RecoveryCode)
    }
}

/// How the user proved who they are first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstFactor {
    Password,
    SignUp,
    Passwordless,
    /// A passkey: already strong, MFA is skipped.
    Passkey,
    /// A recovery code stands in for the second factor; MFA is skipped.
    #[serde(alias = "strong_factor")]
    RecoveryCode,
    /// An external identity provider (social, OIDC, SAML).
    External,
    /// The browser's single sign-on session.
    Session,
}
