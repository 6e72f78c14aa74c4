//! JSON answers of the embedded auth API (melody.md §6), typed so its OpenAPI document shows
//! them, and the session id every `/{sessionId}/…` route takes.

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::services::user_attributes::LocaleText;

/// The session a route acts on. It only describes the parameter: the session extractors read it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SessionPath {
    /// The `sessionId` `initiate` answered.
    pub session_id: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    pub session_id: String,
}

/// Where a session stands after a step (Melody's `AuthRes`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthRes {
    pub session_id: String,
    /// The step the client must complete next: `consent`, `mfa_enroll`, `otp_setup`,
    /// `otp_mfa`, `sms_mfa`, `email_mfa`, `passkey_enroll` or `recovery_code_enroll`. Absent
    /// once `success` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "consent")]
    pub next_step: Option<&'static str>,
    /// True when the sign-in is complete: the session can be exchanged at `token-exchange`.
    pub success: bool,
}

/// The request was carried out.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessBody {
    pub success: bool,
}

/// The scopes waiting for the user's consent, and the app asking.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentInfo {
    pub scopes: Vec<ConsentScope>,
    pub app_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentScope {
    pub name: String,
    /// The scope's description in each language it has one in.
    pub locales: Vec<LocaleText>,
}

/// The second factors the user may enroll.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaTypesBody {
    /// `otp`, `email` or `sms`.
    #[schema(example = json!(["otp", "email"]))]
    pub mfa_types: Vec<&'static str>,
}

/// A TOTP secret to add to an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpSetupBody {
    /// The `otpauth://totp/…` URI (what a QR code would carry).
    pub otp_uri: String,
    /// The secret, base32, for typing in by hand.
    pub otp_secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallbackBody {
    /// Whether `email-mfa-code` / `email-mfa` may stand in for this factor.
    pub allow_fallback_to_email_mfa: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmsConfigBody {
    /// Whether `email-mfa-code` / `email-mfa` may stand in for SMS.
    pub allow_fallback_to_email_mfa: bool,
    /// The country code numbers without one are read in (`sms_country_code`).
    #[schema(example = "+1")]
    pub country_code: String,
    /// The user's verified number, all but its last 4 digits masked; null while there is none
    /// (`sms-mfa-setup` sets one, and its first code verifies it).
    pub phone_number: Option<String>,
}

/// The session's recovery codes, shown once; each works once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodesBody {
    /// All the codes, one per line, for clients that show a single code.
    pub recovery_code: String,
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyEnrollOptions {
    /// `PublicKeyCredentialCreationOptions` in WebAuthn's JSON form, for
    /// `navigator.credentials.create()`: `challenge`, `rp` (`name`, `id`), `user` (`id`,
    /// `name`, `displayName`), `pubKeyCredParams` (ES256, EdDSA, RS256), `timeout`,
    /// `attestation` (`none`), `excludeCredentials` (the user's passkeys) and
    /// `authenticatorSelection` (resident key required).
    #[schema(value_type = Object)]
    pub enroll_options: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyRequestOptions {
    /// `PublicKeyCredentialRequestOptions` in WebAuthn's JSON form, for
    /// `navigator.credentials.get()`: `challenge` (single-use), `rpId`, `timeout`,
    /// `userVerification` and an empty `allowCredentials` (discoverable credentials).
    #[schema(value_type = Object)]
    pub passkey_option: serde_json::Value,
}
