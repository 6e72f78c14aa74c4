//! Users as the API shows them.

use chrono::NaiveDateTime;

/// A user row with every column the API's User shape needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub auth_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_verified: bool,
    pub is_active: bool,
    pub login_count: i64,
    pub locale: String,
    pub mfa_types: String,
    pub otp_verified: bool,
    pub social_account_id: Option<String>,
    pub social_account_type: Option<String>,
    pub sms_phone_number_verified: bool,
    pub linked_auth_id: Option<String>,
    pub org_slug: String,
    pub invitation_token: Option<String>,
    pub invitation_expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The user columns, qualified with the alias `u`.
macro_rules! user_columns_u {
    () => {
        "u.id, u.auth_id, u.email, u.first_name, u.last_name, u.email_verified, u.is_active, \
         u.login_count, u.locale, u.mfa_types, u.otp_verified, u.social_account_id, \
         u.social_account_type, u.sms_phone_number_verified, u.linked_auth_id, u.org_slug, \
         u.invitation_token, u.invitation_expires_at, u.created_at, u.updated_at"
    };
}
pub(crate) use user_columns_u;
