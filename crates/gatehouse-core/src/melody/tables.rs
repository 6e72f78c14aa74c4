//! The Melody tables and columns the import reads (melody.md §10), in import order.

/// A Melody table and the columns the import reads from it.
#[derive(Debug, Clone, Copy)]
pub struct SourceTable {
    /// The table's name in Melody's schema (singular, quoted: `"user"`).
    pub name: &'static str,
    /// Every column read; one the source lacks (an older Melody) reads as NULL.
    pub columns: &'static [&'static str],
    /// Columns without which the rows mean nothing: a source lacking one is not Melody's schema.
    pub key_columns: &'static [&'static str],
    /// Whether every Melody database has this table; later additions may be absent.
    pub required: bool,
}

const fn table(
    name: &'static str,
    columns: &'static [&'static str],
    key_columns: &'static [&'static str],
    required: bool,
) -> SourceTable {
    SourceTable {
        name,
        columns,
        key_columns,
        required,
    }
}

// One line per table reads as the schema does.
#[rustfmt::skip]
mod specs {
    use super::{table, SourceTable};

    pub const ROLE: SourceTable = table("role", &["id", "name", "note", "createdAt", "updatedAt", "deletedAt"], &["id", "name"], true);
    pub const SCOPE: SourceTable = table("scope", &["id", "name", "type", "note", "createdAt", "updatedAt", "deletedAt"], &["id", "name"], true);
    pub const SCOPE_LOCALE: SourceTable = table("scope_locale", &["id", "scopeId", "locale", "value", "createdAt", "updatedAt", "deletedAt"], &["id", "scopeId", "locale"], false);
    pub const APP: SourceTable = table(
        "app",
        &["id", "name", "type", "clientId", "secret", "redirectUris", "isActive", "useSystemMfaConfig", "requireEmailMfa",
          "requireOtpMfa", "requireSmsMfa", "allowEmailMfaAsBackup", "createdAt", "updatedAt", "deletedAt"],
        &["id", "clientId", "type"],
        true,
    );
    pub const APP_SCOPE: SourceTable = table("app_scope", &["id", "appId", "scopeId", "createdAt", "updatedAt", "deletedAt"], &["appId", "scopeId"], true);
    pub const ORG: SourceTable = table(
        "org",
        &["id", "name", "slug", "companyLogoUrl", "companyEmailLogoUrl", "fontFamily", "fontUrl", "layoutColor", "labelColor",
          "primaryButtonColor", "primaryButtonLabelColor", "primaryButtonBorderColor", "secondaryButtonColor",
          "secondaryButtonLabelColor", "secondaryButtonBorderColor", "criticalIndicatorColor", "emailSenderName", "termsLink",
          "privacyPolicyLink", "allowPublicRegistration", "onlyUseForBrandingOverride", "createdAt", "updatedAt", "deletedAt"],
        &["id", "slug"],
        false,
    );
    pub const ORG_GROUP: SourceTable = table("org_group", &["id", "orgId", "name", "createdAt", "updatedAt", "deletedAt"], &["id", "orgId", "name"], false);
    pub const USER: SourceTable = table(
        "user",
        &["id", "authId", "email", "password", "firstName", "lastName", "emailVerified", "isActive", "loginCount", "locale",
          "otpSecret", "mfaTypes", "otpVerified", "socialAccountId", "socialAccountType", "smsPhoneNumber",
          "smsPhoneNumberVerified", "linkedAuthId", "orgSlug", "skipPasskeyEnroll", "recoveryCodeHash", "invitationToken",
          "invitationExpiresAt", "createdAt", "updatedAt", "deletedAt"],
        &["id", "authId", "email", "password"],
        true,
    );
    pub const USER_ROLE: SourceTable = table("user_role", &["id", "userId", "roleId", "createdAt", "updatedAt", "deletedAt"], &["userId", "roleId"], true);
    pub const USER_ORG: SourceTable = table("user_org", &["id", "userId", "orgId", "createdAt", "updatedAt", "deletedAt"], &["userId", "orgId"], false);
    pub const USER_ORG_GROUP: SourceTable = table("user_org_group", &["id", "userId", "orgGroupId", "createdAt", "updatedAt", "deletedAt"], &["userId", "orgGroupId"], false);
    pub const USER_PASSKEY: SourceTable = table("user_passkey", &["id", "userId", "credentialId", "publicKey", "counter", "createdAt", "updatedAt", "deletedAt"], &["userId", "credentialId", "publicKey"], false);
    pub const USER_ATTRIBUTE: SourceTable = table(
        "user_attribute",
        &["id", "name", "includeInSignUpForm", "requiredInSignUpForm", "includeInIdTokenBody", "includeInUserInfo", "locales",
          "unique", "validationRegex", "validationLocales", "createdAt", "updatedAt", "deletedAt"],
        &["id", "name"],
        false,
    );
    pub const USER_ATTRIBUTE_VALUE: SourceTable = table("user_attribute_value", &["id", "userId", "userAttributeId", "value", "createdAt", "updatedAt", "deletedAt"], &["userId", "userAttributeId"], false);
    pub const USER_APP_CONSENT: SourceTable = table("user_app_consent", &["id", "userId", "appId", "scopes", "createdAt", "updatedAt", "deletedAt"], &["userId", "appId"], false);
    pub const BANNER: SourceTable = table("banner", &["id", "type", "text", "locales", "isActive", "createdAt", "updatedAt", "deletedAt"], &["id", "type"], false);
    pub const APP_BANNER: SourceTable = table("app_banner", &["id", "bannerId", "appId", "createdAt", "updatedAt", "deletedAt"], &["bannerId", "appId"], false);
}

pub use specs::*;

/// The tables in the order they are imported: parents before the rows that reference them.
pub const SOURCE_TABLES: [SourceTable; 17] = [
    ROLE,
    SCOPE,
    SCOPE_LOCALE,
    APP,
    APP_SCOPE,
    ORG,
    ORG_GROUP,
    USER,
    USER_ROLE,
    USER_ORG,
    USER_ORG_GROUP,
    USER_PASSKEY,
    USER_ATTRIBUTE,
    USER_ATTRIBUTE_VALUE,
    USER_APP_CONSENT,
    BANNER,
    APP_BANNER,
];
