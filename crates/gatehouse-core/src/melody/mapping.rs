//! One function per Melody table: a Melody row in, the Gatehouse row it becomes (or why it is
//! skipped) out.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

use super::*;
use crate::webauthn::public_key_from_cose;

const BANNER_TYPES: [&str; 4] = ["info", "warning", "error", "success"];

pub(super) fn live(row: &SourceRow) -> Result<(), Skip> {
    if row.is_deleted() {
        return Err(Skip::deleted());
    }
    Ok(())
}

pub(super) fn required<'a>(row: &'a SourceRow, column: &str) -> Result<&'a str, Skip> {
    row.non_empty(column).ok_or_else(|| Skip::missing(column))
}

pub(super) fn name(row: &SourceRow, column: &str, max: usize) -> Result<String, Skip> {
    let value = required(row, column)?;
    if value.chars().count() > max {
        return Err(Skip::invalid(
            column,
            &format!("is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

pub(super) fn text_or_empty(row: &SourceRow, column: &str) -> Cell {
    Cell::text(row.text(column).unwrap_or_default())
}

pub(super) fn optional_text(row: &SourceRow, column: &str) -> Cell {
    Cell::Text(row.non_empty(column).map(str::to_owned))
}

pub(super) fn flag(row: &SourceRow, column: &str, default: bool) -> Cell {
    Cell::Bool(row.flag(column, default))
}

/// A JSON object column (`locales`), `{}` when missing; text that is not an object skips the row.
fn json_object(row: &SourceRow, column: &str) -> Result<Cell, Skip> {
    let Some(text) = row.non_empty(column) else {
        return Ok(Cell::text("{}"));
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) if value.is_object() => Ok(Cell::text(value.to_string())),
        _ => Err(Skip::invalid(column, "is not a JSON object")),
    }
}

fn link(
    table: Table,
    row: &SourceRow,
    first: (&'static str, i64),
    second: (&'static str, i64),
) -> Record {
    Record::new(
        table,
        row,
        vec![
            (first.0, Cell::Int(first.1)),
            (second.0, Cell::Int(second.1)),
        ],
    )
}

pub fn role(row: &SourceRow) -> Result<Record, Skip> {
    live(row)?;
    let name = name(row, "name", 50)?;
    Ok(
        Record::new(Table::Roles, row, vec![("name", Cell::text(name))])
            .with(vec![("note", text_or_empty(row, "note"))]),
    )
}

pub fn scope(row: &SourceRow) -> Result<Record, Skip> {
    live(row)?;
    let name = name(row, "name", 50)?;
    let kind = row.non_empty("type").unwrap_or("spa");
    if kind != "spa" && kind != "s2s" {
        return Err(Skip::invalid("type", "is neither spa nor s2s"));
    }
    Ok(
        Record::new(Table::Scopes, row, vec![("name", Cell::text(name))]).with(vec![
            ("type", Cell::text(kind)),
            ("note", text_or_empty(row, "note")),
        ]),
    )
}

pub fn scope_locale(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    live(row)?;
    let scope_id = ids.resolve(row, "scopeId", SCOPE, "scope")?;
    let locale = name(row, "locale", 5)?;
    Ok(Record::new(
        Table::ScopeLocales,
        row,
        vec![
            ("scope_id", Cell::Int(scope_id)),
            ("locale", Cell::text(locale)),
        ],
    )
    .with(vec![("value", text_or_empty(row, "value"))]))
}

/// Melody's seeded admin-panel apps: id 1 (the SPA) and id 2 (the S2S app).
pub fn admin_app(row: &SourceRow) -> Option<AdminApp> {
    match (row.id(), row.non_empty("type")) {
        (Some(1), Some("spa")) => Some(AdminApp::Spa),
        (Some(2), Some("s2s")) => Some(AdminApp::S2s),
        _ => None,
    }
}

/// An app keeps its client id; an S2S app's plain-text secret is carried as its SHA-256, so the
/// secret its clients hold keeps working and the plain text is not stored.
pub fn app(row: &SourceRow) -> Result<Record, Skip> {
    live(row)?;
    let name = name(row, "name", 50)?;
    let client_id = name_value(row, "clientId", 64)?;
    let kind = required(row, "type")?;
    let secret_hash = match kind {
        "spa" => None,
        "s2s" => Some(sha256_hex(required(row, "secret")?.as_bytes())),
        _ => return Err(Skip::invalid("type", "is neither spa nor s2s")),
    };
    let redirect_uris: Vec<&str> = row
        .text("redirectUris")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|uri| !uri.is_empty())
        .collect();
    let redirect_uris = serde_json::Value::from(redirect_uris).to_string();
    Ok(
        Record::new(Table::Apps, row, vec![("client_id", Cell::text(client_id))]).with(vec![
            ("name", Cell::text(name)),
            ("type", Cell::text(kind)),
            ("secret_hash", Cell::Text(secret_hash)),
            ("redirect_uris", Cell::text(redirect_uris)),
            ("is_active", flag(row, "isActive", true)),
            (
                "use_system_mfa_config",
                flag(row, "useSystemMfaConfig", true),
            ),
            ("require_email_mfa", flag(row, "requireEmailMfa", false)),
            ("require_otp_mfa", flag(row, "requireOtpMfa", false)),
            ("require_sms_mfa", flag(row, "requireSmsMfa", false)),
            (
                "allow_email_mfa_as_backup",
                flag(row, "allowEmailMfaAsBackup", false),
            ),
            // Melody's SDKs keep the first refresh token, so its apps keep one that does not rotate.
            ("rotate_refresh_tokens", Cell::Bool(false)),
        ]),
    )
}

/// A value kept exactly (an identifier), only checked for presence and length.
pub(super) fn name_value(row: &SourceRow, column: &str, max: usize) -> Result<String, Skip> {
    let value = row.text(column).unwrap_or_default();
    if value.trim().is_empty() {
        return Err(Skip::missing(column));
    }
    if value.chars().count() > max {
        return Err(Skip::invalid(
            column,
            &format!("is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

pub fn app_scope(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    live(row)?;
    if row.int("appId").is_some_and(|id| ids.is_admin_app(id)) {
        return Err(Skip(
            "belongs to Melody's admin-panel app; Gatehouse's admin apps keep their own scopes"
                .into(),
        ));
    }
    let app_id = ids.resolve(row, "appId", APP, "app")?;
    let scope_id = ids.resolve(row, "scopeId", SCOPE, "scope")?;
    Ok(link(
        Table::AppScopes,
        row,
        ("app_id", app_id),
        ("scope_id", scope_id),
    ))
}

pub fn org(row: &SourceRow) -> Result<Record, Skip> {
    const TEXT_COLUMNS: [(&str, &str); 16] = [
        ("company_logo_url", "companyLogoUrl"),
        ("company_email_logo_url", "companyEmailLogoUrl"),
        ("font_family", "fontFamily"),
        ("font_url", "fontUrl"),
        ("layout_color", "layoutColor"),
        ("label_color", "labelColor"),
        ("primary_button_color", "primaryButtonColor"),
        ("primary_button_label_color", "primaryButtonLabelColor"),
        ("primary_button_border_color", "primaryButtonBorderColor"),
        ("secondary_button_color", "secondaryButtonColor"),
        ("secondary_button_label_color", "secondaryButtonLabelColor"),
        (
            "secondary_button_border_color",
            "secondaryButtonBorderColor",
        ),
        ("critical_indicator_color", "criticalIndicatorColor"),
        ("email_sender_name", "emailSenderName"),
        ("terms_link", "termsLink"),
        ("privacy_policy_link", "privacyPolicyLink"),
    ];
    live(row)?;
    let slug = name(row, "slug", 50)?;
    let org_name = name(row, "name", 50)?;
    let mut values: Vec<(&'static str, Cell)> = TEXT_COLUMNS
        .iter()
        .map(|&(column, melody)| (column, text_or_empty(row, melody)))
        .collect();
    values.push(("name", Cell::text(org_name.clone())));
    values.push((
        "allow_public_registration",
        flag(row, "allowPublicRegistration", true),
    ));
    values.push((
        "only_use_for_branding_override",
        flag(row, "onlyUseForBrandingOverride", false),
    ));
    let mut record = Record::new(Table::Orgs, row, vec![("slug", Cell::text(slug))]).with(values);
    record.other_keys = vec![vec![("name", Cell::text(org_name))]];
    Ok(record)
}

pub fn org_group(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    live(row)?;
    let org_id = ids.resolve(row, "orgId", ORG, "org")?;
    let group = name(row, "name", 50)?;
    Ok(Record::new(
        Table::OrgGroups,
        row,
        vec![("org_id", Cell::Int(org_id)), ("name", Cell::text(group))],
    ))
}

fn user_link(
    table: Table,
    row: &SourceRow,
    ids: &IdMap,
    (column, melody_column, source, what): (&'static str, &str, SourceTable, &str),
) -> Result<Record, Skip> {
    live(row)?;
    let user_id = ids.resolve(row, "userId", USER, "user")?;
    let other = ids.resolve(row, melody_column, source, what)?;
    Ok(link(table, row, ("user_id", user_id), (column, other)))
}

pub fn user_role(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    user_link(
        Table::UserRoles,
        row,
        ids,
        ("role_id", "roleId", ROLE, "role"),
    )
}

pub fn user_org(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    user_link(Table::UserOrgs, row, ids, ("org_id", "orgId", ORG, "org"))
}

pub fn user_org_group(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    user_link(
        Table::UserOrgGroups,
        row,
        ids,
        ("org_group_id", "orgGroupId", ORG_GROUP, "org group"),
    )
}

pub fn user_attribute_value(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    let record = user_link(
        Table::UserAttributeValues,
        row,
        ids,
        (
            "user_attribute_id",
            "userAttributeId",
            USER_ATTRIBUTE,
            "user attribute",
        ),
    )?;
    Ok(record.with(vec![("value", text_or_empty(row, "value"))]))
}

fn base64_any(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| STANDARD.decode(text))
        .ok()
}

/// Melody keeps the COSE public key in base64 and the credential id in base64url; Gatehouse
/// keeps the id without padding and the key in its own stored form.
pub fn user_passkey(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    live(row)?;
    let user_id = ids.resolve(row, "userId", USER, "user")?;
    let credential = base64_any(required(row, "credentialId")?)
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| Skip::invalid("credentialId", "is not base64url"))?;
    let key = base64_any(required(row, "publicKey")?)
        .and_then(|bytes| public_key_from_cose(&bytes).ok())
        .ok_or_else(|| {
            Skip::invalid(
                "publicKey",
                "is not a COSE key of a supported algorithm (ES256, RS256, EdDSA)",
            )
        })?;
    Ok(Record::new(
        Table::UserPasskeys,
        row,
        vec![(
            "credential_id",
            Cell::text(URL_SAFE_NO_PAD.encode(credential)),
        )],
    )
    .with(vec![
        ("user_id", Cell::Int(user_id)),
        ("public_key", Cell::text(key.to_stored())),
        ("counter", Cell::Int(row.int("counter").unwrap_or(0).max(0))),
        ("name", Cell::text("Passkey")),
    ]))
}

pub fn user_attribute(row: &SourceRow) -> Result<Record, Skip> {
    live(row)?;
    let attribute = name(row, "name", 50)?;
    Ok(Record::new(
        Table::UserAttributes,
        row,
        vec![("name", Cell::text(attribute))],
    )
    .with(vec![
        (
            "include_in_sign_up_form",
            flag(row, "includeInSignUpForm", false),
        ),
        (
            "required_in_sign_up_form",
            flag(row, "requiredInSignUpForm", false),
        ),
        (
            "include_in_id_token_body",
            flag(row, "includeInIdTokenBody", false),
        ),
        (
            "include_in_user_info",
            flag(row, "includeInUserInfo", false),
        ),
        ("locales", json_object(row, "locales")?),
        ("is_unique", flag(row, "unique", false)),
        ("validation_regex", optional_text(row, "validationRegex")),
        ("validation_locales", json_object(row, "validationLocales")?),
    ]))
}

/// A consent keeps its scope list; Melody's admin SPA app maps onto Gatehouse's.
pub fn user_app_consent(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    live(row)?;
    let user_id = ids.resolve(row, "userId", USER, "user")?;
    let app_id = ids.resolve(row, "appId", APP, "app")?;
    let scopes = match row.non_empty("scopes") {
        None => vec![
            "openid".to_owned(),
            "profile".to_owned(),
            "offline_access".to_owned(),
        ],
        Some(text) => serde_json::from_str::<Vec<String>>(text)
            .map_err(|_| Skip::invalid("scopes", "is not a JSON array of scope names"))?,
    };
    Ok(link(
        Table::UserAppConsents,
        row,
        ("user_id", user_id),
        ("app_id", app_id),
    )
    .with(vec![(
        "scopes",
        Cell::text(serde_json::Value::from(scopes).to_string()),
    )]))
}

/// Banners have no name; one with the same type, text and locales is the same banner.
pub fn banner(row: &SourceRow) -> Result<Record, Skip> {
    live(row)?;
    let kind = required(row, "type")?;
    if !BANNER_TYPES.contains(&kind) {
        return Err(Skip::invalid(
            "type",
            "is not one of info, warning, error, success",
        ));
    }
    Ok(Record::new(
        Table::Banners,
        row,
        vec![
            ("type", Cell::text(kind)),
            ("text", text_or_empty(row, "text")),
            ("locales", json_object(row, "locales")?),
        ],
    )
    .with(vec![("is_active", flag(row, "isActive", true))]))
}

pub fn app_banner(row: &SourceRow, ids: &IdMap) -> Result<Record, Skip> {
    live(row)?;
    let banner_id = ids.resolve(row, "bannerId", BANNER, "banner")?;
    let app_id = ids.resolve(row, "appId", APP, "app")?;
    Ok(link(
        Table::AppBanners,
        row,
        ("banner_id", banner_id),
        ("app_id", app_id),
    ))
}

/// What a Melody row becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    Record(Record),
    User(MappedUser),
    /// One of Melody's seeded admin-panel apps, which maps onto Gatehouse's own.
    AdminApp(AdminApp),
}

/// Maps one row of `table`, resolving references through `ids`.
pub fn map_row(table: SourceTable, row: &SourceRow, ids: &IdMap) -> Result<Mapped, Skip> {
    let record = match table.name {
        "role" => role(row),
        "scope" => scope(row),
        "scope_locale" => scope_locale(row, ids),
        "app" => {
            live(row)?;
            if let Some(admin) = admin_app(row) {
                return Ok(Mapped::AdminApp(admin));
            }
            app(row)
        }
        "app_scope" => app_scope(row, ids),
        "org" => org(row),
        "org_group" => org_group(row, ids),
        "user" => return super::user(row, ids).map(Mapped::User),
        "user_role" => user_role(row, ids),
        "user_org" => user_org(row, ids),
        "user_org_group" => user_org_group(row, ids),
        "user_passkey" => user_passkey(row, ids),
        "user_attribute" => user_attribute(row),
        "user_attribute_value" => user_attribute_value(row, ids),
        "user_app_consent" => user_app_consent(row, ids),
        "banner" => banner(row),
        "app_banner" => app_banner(row, ids),
        other => Err(Skip(format!("table {other} is not imported"))),
    };
    record.map(Mapped::Record)
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
