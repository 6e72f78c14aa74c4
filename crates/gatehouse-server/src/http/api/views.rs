//! JSON shapes of `/api/v1` (melody.md §8.3): camelCase fields, `YYYY-MM-DD HH:MM:SS` timestamps.

use gatehouse_store::{
    format_timestamp, App, RoleRecord, ScopeLocaleRecord, ScopeRecord, UserRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A view of a stored record: the fields listed (camelCase in JSON, each with the expression
/// that reads it from the record `$r`), then the `createdAt`, `updatedAt` and `deletedAt` every
/// record shows, and one `From<&Record>`. `stamped(expr)` names where the timestamps are when
/// they are not on `$r` itself.
macro_rules! record_view {
    (
        $(#[$meta:meta])*
        pub struct $view:ident from |$r:ident: &$record:ty| $(stamped($stamped:expr))? {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty = $value:expr,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $view {
            $($(#[$field_meta])* pub $field: $ty,)+
            pub created_at: String,
            pub updated_at: String,
            pub deleted_at: Option<String>,
        }

        impl From<&$record> for $view {
            fn from($r: &$record) -> Self {
                let stamped = record_view!(@stamped $r $(, $stamped)?);
                Self {
                    $($field: $value,)+
                    created_at: gatehouse_store::format_timestamp(&stamped.created_at),
                    updated_at: gatehouse_store::format_timestamp(&stamped.updated_at),
                    deleted_at: None,
                }
            }
        }
    };
    (@stamped $r:ident) => { $r };
    (@stamped $r:ident, $stamped:expr) => { &$stamped };
}
pub(super) use record_view;

record_view! {
    pub struct ScopeView from |r: &ScopeRecord| {
        id: i64 = r.id,
        name: String = r.name.clone(),
        /// `spa` (user-facing) or `s2s` (API permission).
        #[serde(rename = "type")]
        scope_type: String = r.scope_type.clone(),
        note: String = r.note.clone(),
    }
}

record_view! {
    pub struct ScopeLocaleView from |r: &ScopeLocaleRecord| {
        id: i64 = r.id,
        scope_id: i64 = r.scope_id,
        locale: String = r.locale.clone(),
        value: String = r.value.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeDetailView {
    #[serde(flatten)]
    pub scope: ScopeView,
    pub locales: Vec<ScopeLocaleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopesBody {
    pub scopes: Vec<ScopeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeBody {
    pub scope: ScopeDetailView,
}

pub use crate::services::user_attributes::{text_pairs, LocaleText};

/// Locale texts stored as one string, as shown.
pub fn locale_texts(stored: &str) -> Vec<LocaleText> {
    crate::services::user_attributes::locale_pairs(stored)
        .into_iter()
        .map(|(locale, value)| LocaleText { locale, value })
        .collect()
}

/// Records as their views.
pub fn views<'a, R, V: From<&'a R>>(records: &'a [R]) -> Vec<V> {
    records.iter().map(V::from).collect()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostScopeReq {
    /// 1–50 characters; not one of the built-in scope names.
    pub name: String,
    /// `spa` or `s2s`.
    #[serde(rename = "type")]
    pub scope_type: String,
    pub note: Option<String>,
    pub locales: Option<Vec<LocaleText>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutScopeReq {
    pub name: Option<String>,
    pub note: Option<String>,
    /// Replaces every locale text of the scope.
    pub locales: Option<Vec<LocaleText>>,
}

record_view! {
    pub struct RoleView from |r: &RoleRecord| {
        id: i64 = r.id,
        name: String = r.name.clone(),
        note: String = r.note.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RolesBody {
    pub roles: Vec<RoleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleBody {
    pub role: RoleView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostRoleReq {
    /// 1–50 characters; not `super_admin`.
    pub name: String,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutRoleReq {
    pub name: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: i64,
    pub auth_id: String,
    pub linked_auth_id: Option<String>,
    pub social_account_id: Option<String>,
    pub social_account_type: Option<String>,
    pub email: Option<String>,
    pub locale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub email_verified: bool,
    pub otp_verified: bool,
    pub sms_phone_number_verified: bool,
    /// The contact phone number (E.164), if set.
    pub phone_number: Option<String>,
    /// The postal address (OIDC Core §5.1.1 members), if set.
    #[schema(value_type = Option<Object>)]
    pub address: Option<gatehouse_core::claims::Address>,
    pub login_count: i64,
    pub mfa_types: Vec<String>,
    pub is_active: bool,
    pub is_inviting: bool,
    /// ISO 8601 (`…T…​.000Z`), unlike the other timestamps.
    pub invitation_expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl UserView {
    /// `with_names`: whether names are part of the shape (`enable_names`).
    pub fn new(r: &UserRecord, with_names: bool) -> Self {
        let names = |v: &Option<String>| with_names.then(|| v.clone().unwrap_or_default());
        Self {
            id: r.id.get(),
            auth_id: r.auth_id.clone(),
            linked_auth_id: r.linked_auth_id.clone(),
            social_account_id: r.social_account_id.clone(),
            social_account_type: r.social_account_type.clone(),
            email: r.email.clone(),
            locale: r.locale.clone(),
            first_name: names(&r.first_name),
            last_name: names(&r.last_name),
            email_verified: r.email_verified,
            otp_verified: r.otp_verified,
            sms_phone_number_verified: r.sms_phone_number_verified,
            phone_number: r.phone_number.clone(),
            address: r.postal_address(),
            login_count: r.login_count,
            mfa_types: r.mfa_types.iter().map(|t| t.as_str().to_owned()).collect(),
            is_active: r.is_active,
            is_inviting: r.invitation_token.is_some(),
            invitation_expires_at: r
                .invitation_expires_at
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()),
            created_at: format_timestamp(&r.created_at),
            updated_at: format_timestamp(&r.updated_at),
            deleted_at: None,
        }
    }
}

/// Users as the API shows them, with names when the server keeps them (`enable_names`).
pub fn user_views(state: &crate::state::AppState, users: &[UserRecord]) -> Vec<UserView> {
    let with_names = state.config.enable_names;
    users.iter().map(|u| UserView::new(u, with_names)).collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsersBody {
    pub users: Vec<UserView>,
}

record_view! {
    pub struct AppView from |a: &App| {
        id: i64 = a.id,
        client_id: String = a.client_id.clone(),
        name: String = a.name.clone(),
        /// `spa`, `s2s` or `web`.
        #[serde(rename = "type")]
        app_type: String = a.app_type.as_str().to_owned(),
        is_active: bool = a.is_active,
        redirect_uris: Vec<String> = a.redirect_uris.clone(),
        use_system_mfa_config: bool = a.use_system_mfa_config,
        require_email_mfa: bool = a.require_email_mfa,
        require_otp_mfa: bool = a.require_otp_mfa,
        require_sms_mfa: bool = a.require_sms_mfa,
        allow_email_mfa_as_backup: bool = a.allow_email_mfa_as_backup,
        /// Refresh-token rotation with reuse detection (turn off for Melody SDK apps).
        rotate_refresh_tokens: bool = a.rotate_refresh_tokens,
        /// Whether the app may use the device authorization grant (RFC 8628).
        allow_device_flow: bool = a.allow_device_flow,
        /// What its ID tokens are signed with; null: the server's `signing_algorithm`.
        id_token_signed_response_alg: Option<String> = a.id_token_signed_response_alg.clone(),
        /// ID tokens by OIDC's claim rules only (else Melody's shape).
        standard_claims: bool = a.standard_claims,
        /// Authorization requests only through `/oauth2/v1/par` (RFC 9126).
        require_pushed_authorization_requests: bool = a.security.require_pushed_authorization_requests,
        /// `client_secret_basic` (the secret, by HTTP Basic or in the form), `client_secret_jwt`,
        /// `private_key_jwt`, or
        /// `none` (spa apps).
        token_endpoint_auth_method: String = crate::services::apps::token_endpoint_auth_method(a).to_owned(),
        /// The app's public keys (a JWK set), if registered by value.
        #[schema(value_type = Option<Object>)]
        jwks: Option<serde_json::Value> = a.security.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        /// Where the app publishes its keys.
        jwks_uri: Option<String> = a.security.jwks_uri.clone(),
        /// Every token request must carry a DPoP proof (RFC 9449).
        dpop_bound_access_tokens: bool = a.security.dpop_bound_access_tokens,
        /// The algorithm its request objects (RFC 9101) must use; null: any accepted one.
        request_object_signing_alg: Option<String> = a.security.request_object_signing_alg.clone(),
        /// Held to the FAPI 2.0 Security Profile.
        fapi2_security_profile: bool = a.security.fapi2_security_profile,
        /// Where logout tokens are POSTed (OIDC Back-Channel Logout 1.0).
        backchannel_logout_uri: Option<String> = a.logout.backchannel_logout_uri.clone(),
        /// Logout tokens always name the session (`sid`).
        backchannel_logout_session_required: bool = a.logout.backchannel_logout_session_required,
        /// The page loaded in an iframe at logout (OIDC Front-Channel Logout 1.0).
        frontchannel_logout_uri: Option<String> = a.logout.frontchannel_logout_uri.clone(),
        /// The front-channel call carries `iss` and `sid`.
        frontchannel_logout_session_required: bool = a.logout.frontchannel_logout_session_required,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppDetailView {
    #[serde(flatten)]
    pub app: AppView,
    pub scopes: Vec<String>,
}

impl From<&App> for AppDetailView {
    fn from(a: &App) -> Self {
        Self {
            app: AppView::from(a),
            scopes: a.scopes.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAppView {
    #[serde(flatten)]
    pub app: AppDetailView,
    /// The client secret: shown this once, stored only as a hash.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppsBody {
    pub apps: Vec<AppView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppBody {
    pub app: AppDetailView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAppBody {
    pub app: CreatedAppView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PutAppReq {
    pub name: Option<String>,
    /// Replaces the redirect URIs; the same rules as on creation.
    pub redirect_uris: Option<Vec<String>>,
    pub is_active: Option<bool>,
    /// Replaces the app's scopes; an unknown name is refused. `root` needs a `root` caller.
    pub scopes: Option<Vec<String>>,
    pub use_system_mfa_config: Option<bool>,
    pub require_email_mfa: Option<bool>,
    pub require_otp_mfa: Option<bool>,
    pub require_sms_mfa: Option<bool>,
    pub allow_email_mfa_as_backup: Option<bool>,
    pub rotate_refresh_tokens: Option<bool>,
    /// `spa` and `web` apps only.
    pub allow_device_flow: Option<bool>,
    /// `RS256`, `ES256` or `EdDSA`; an empty string goes back to the server's algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// ID tokens by OIDC's claim rules only: each claim with its scope or when asked by name,
    /// no roles or `first_name`/`last_name`.
    pub standard_claims: Option<bool>,
    #[serde(flatten)]
    pub security: crate::services::apps::ClientSecurityInput,
    #[serde(flatten)]
    pub logout: crate::services::apps::LogoutChannelsInput,
}

/// Every error: `{error, error_description}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub error_description: String,
}
