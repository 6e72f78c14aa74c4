//! A Melody user as Gatehouse keeps them.

use super::mapping::{flag, live, name_value, optional_text};
use super::{sha256_hex, timestamp, Cell, FieldNote, IdMap, Record, Skip, SourceRow, Table};
use crate::mfa::base32_decode;
use crate::signin::{MfaType, MfaTypes};

/// A Melody user as Gatehouse keeps them, with the TOTP secret's bytes (the caller seals them
/// for the new row) and the values that could not come along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedUser {
    pub record: Record,
    pub otp_secret: Option<Vec<u8>>,
    pub notes: Vec<FieldNote>,
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) && hash.len() == 60
}

/// A user keeps their `authId`, bcrypt hash (verified and rehashed at the next sign-in), TOTP
/// secret and profile. The invitation token is carried as its SHA-256, as Gatehouse keeps it.
pub fn user(row: &SourceRow, ids: &IdMap) -> Result<MappedUser, Skip> {
    live(row)?;
    let auth_id = name_value(row, "authId", 36)?;
    let mut notes = Vec::new();
    let mut note = |field: &'static str, reason: &str| {
        notes.push(FieldNote {
            field,
            reason: reason.to_owned(),
        })
    };
    let password = row.non_empty("password").and_then(|hash| {
        if is_bcrypt(hash) {
            Some(hash.to_owned())
        } else {
            note(
                "user.password",
                "not a bcrypt hash; the user sets a new password",
            );
            None
        }
    });
    let otp_secret = row.non_empty("otpSecret").and_then(|text| {
        match base32_decode(text).filter(|bytes| (10..=20).contains(&bytes.len())) {
            Some(bytes) => Some(bytes),
            None => {
                note(
                    "user.otpSecret",
                    "not a base32 TOTP secret of 10 to 20 bytes; the user sets up TOTP again",
                );
                None
            }
        }
    });
    let recovery_code_hash = row.non_empty("recoveryCodeHash").map(str::to_owned);
    if recovery_code_hash.is_some() {
        note(
            "user.recoveryCodeHash",
            "kept in recovery_code_hash, but Melody's single bcrypt recovery code is not accepted \
             at sign-in; the user makes new recovery codes",
        );
    }
    let linked_auth_id = row.non_empty("linkedAuthId").and_then(|linked| {
        if ids.source_auth_ids.contains(linked) {
            Some(linked.to_owned())
        } else {
            note(
                "user.linkedAuthId",
                "the linked account is not in the import",
            );
            None
        }
    });
    // Melody's own order, whatever order the source row lists them in.
    let enrolled = MfaTypes::parse_list(row.text("mfaTypes").unwrap_or_default());
    let mfa_types: Vec<&str> = MfaType::ALL
        .into_iter()
        .filter(|t| enrolled.contains(t))
        .map(MfaType::as_str)
        .collect();
    let social_account_id = row.non_empty("socialAccountId").map(str::to_owned);
    let email = row.non_empty("email").map(str::to_owned);
    let mut record =
        Record::new(Table::Users, row, vec![("auth_id", Cell::text(auth_id))]).with(vec![
            ("email", Cell::Text(email.clone())),
            ("password_hash", Cell::Text(password)),
            ("first_name", optional_text(row, "firstName")),
            ("last_name", optional_text(row, "lastName")),
            ("email_verified", flag(row, "emailVerified", false)),
            ("is_active", flag(row, "isActive", true)),
            (
                "login_count",
                Cell::Int(row.int("loginCount").unwrap_or(0).max(0)),
            ),
            (
                "locale",
                Cell::text(row.non_empty("locale").unwrap_or("en")),
            ),
            ("mfa_types", Cell::text(mfa_types.join(","))),
            (
                "otp_verified",
                Cell::Bool(otp_secret.is_some() && row.flag("otpVerified", false)),
            ),
            ("social_account_id", Cell::Text(social_account_id.clone())),
            (
                "social_account_type",
                optional_text(row, "socialAccountType"),
            ),
            ("sms_phone_number", optional_text(row, "smsPhoneNumber")),
            (
                "sms_phone_number_verified",
                flag(row, "smsPhoneNumberVerified", false),
            ),
            ("linked_auth_id", Cell::Text(linked_auth_id)),
            (
                "org_slug",
                Cell::text(row.non_empty("orgSlug").unwrap_or_default()),
            ),
            ("skip_passkey_enroll", flag(row, "skipPasskeyEnroll", false)),
            ("recovery_code_hash", Cell::Text(recovery_code_hash)),
            (
                "invitation_token",
                Cell::Text(
                    row.non_empty("invitationToken")
                        .map(|t| sha256_hex(t.as_bytes())),
                ),
            ),
            (
                "invitation_expires_at",
                Cell::Time(row.text("invitationExpiresAt").and_then(timestamp)),
            ),
        ]);
    // Password accounts are found by email, so two of them must not share one.
    if let (Some(email), None) = (email, social_account_id) {
        record.other_keys = vec![vec![
            ("email", Cell::text(email)),
            ("social_account_id", Cell::Text(None)),
        ]];
    }
    Ok(MappedUser {
        record,
        otp_secret,
        notes,
    })
}
