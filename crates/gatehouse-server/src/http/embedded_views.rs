//! JSON answers of the embedded auth API (melody.md §6), typed so its OpenAPI document shows
//! them, and the session id every `/{sessionId}/…` route takes.

use gatehouse_store::{format_timestamp, BannerRecord, OrgRecord, ScopeLocaleRecord};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::services::signin;
use crate::services::user_attributes::{locale_pairs, LocaleText};

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

/// A scope waiting for consent: its stored record, as the S2S API shows scopes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentScope {
    pub id: i64,
    pub name: String,
    /// `spa` (user-facing) or `s2s` (API permission).
    #[serde(rename = "type")]
    pub scope_type: String,
    pub note: String,
    /// The scope's description in each language it has one in.
    pub locales: Vec<ConsentScopeLocale>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl ConsentScope {
    /// The answer for a scope with a record; Melody leaves out requested scopes without one.
    pub fn from_service(scope: signin::ConsentScope) -> Option<Self> {
        let record = scope.record?;
        Some(Self {
            id: record.id,
            name: record.name,
            scope_type: record.scope_type,
            note: record.note,
            locales: scope.locales.iter().map(ConsentScopeLocale::from).collect(),
            created_at: format_timestamp(&record.created_at),
            updated_at: format_timestamp(&record.updated_at),
            deleted_at: None,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentScopeLocale {
    pub id: i64,
    pub scope_id: i64,
    #[schema(example = "en")]
    pub locale: String,
    pub value: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<&ScopeLocaleRecord> for ConsentScopeLocale {
    fn from(l: &ScopeLocaleRecord) -> Self {
        Self {
            id: l.id,
            scope_id: l.scope_id,
            locale: l.locale.clone(),
            value: l.value.clone(),
            created_at: format_timestamp(&l.created_at),
            updated_at: format_timestamp(&l.updated_at),
            deleted_at: None,
        }
    }
}

/// The organizations the user may sign in for.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOrgsBody {
    pub orgs: Vec<UserOrg>,
    /// The slug of the user's active organization (empty when there is none).
    pub active_org_slug: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOrg {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub company_logo_url: String,
}

impl From<&OrgRecord> for UserOrg {
    fn from(org: &OrgRecord) -> Self {
        Self {
            id: org.id,
            name: org.name.clone(),
            slug: org.slug.clone(),
            company_logo_url: org.company_logo_url.clone(),
        }
    }
}

/// The banners the app's sign-in shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppBannersBody {
    pub banners: Vec<AppBanner>,
}

/// An active banner linked to the session's app.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppBanner {
    pub id: i64,
    /// `info`, `warning`, `error` or `success`.
    #[serde(rename = "type")]
    pub banner_type: String,
    /// The text where no locale text matches.
    pub text: String,
    pub is_active: bool,
    pub locales: Vec<LocaleText>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<&BannerRecord> for AppBanner {
    fn from(b: &BannerRecord) -> Self {
        Self {
            id: b.id,
            banner_type: b.banner_type.clone(),
            text: b.text.clone(),
            is_active: b.is_active,
            locales: locale_pairs(&b.locales)
                .into_iter()
                .map(|(locale, value)| LocaleText { locale, value })
                .collect(),
            created_at: format_timestamp(&b.created_at),
            updated_at: format_timestamp(&b.updated_at),
            deleted_at: None,
        }
    }
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
