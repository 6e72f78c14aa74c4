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
