//! Managing organizations and organization groups.

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_core::branding::{
    font_host_allowed, BrandingProblem, BrandingUrl, CssColor, FontFamily,
};
use gatehouse_core::webhooks::{ORG_CREATED, ORG_DELETED, ORG_UPDATED};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{OrgChanges, OrgGroupRecord, OrgRecord, OrgStore, Page, Store, UserRecord};
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::{conflict_as, ServiceError};
use crate::services::found;

const NO_ORG: &str = "No organization found";
const NO_GROUP: &str = "No organization group found";
const ORG_TAKEN: &str = "An organization with this name or slug already exists";
const GROUP_TAKEN: &str = "This organization already has a group with this name";

/// A slug: 1–50 characters without whitespace.
fn slug(value: &str) -> Result<String, ServiceError> {
    let slug = bounded_text("slug", value, 50)?;
    if slug.chars().any(char::is_whitespace) {
        return Err(ServiceError::Rule(AdminRuleError::Length {
            field: "slug",
            max: 50,
        }));
    }
    Ok(slug)
}

/// An optional text field that may be cleared with "" but not exceed `max` characters.
fn optional_text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ServiceError> {
    match value {
        Some(v) if v.trim().chars().count() > max => {
            Err(AdminRuleError::TooLong { field, max }.into())
        }
        Some(v) => Ok(Some(v.trim().to_owned())),
        None => Ok(None),
    }
}

pub async fn list(store: &Store) -> Result<Vec<OrgRecord>, ServiceError> {
    Ok(store.list_orgs().await?)
}

pub async fn get(store: &Store, id: i64) -> Result<OrgRecord, ServiceError> {
    found(store.org_by_id(id), NO_ORG).await
}

pub async fn create(
    store: &Store,
    name: &str,
    slug_value: &str,
    allow_public_registration: bool,
    only_use_for_branding_override: bool,
) -> Result<OrgRecord, ServiceError> {
    let name = bounded_text("name", name, 50)?;
    let slug = slug(slug_value)?;
    let fields = json!({
        "name": name,
        "slug": slug,
        "allowPublicRegistration": allow_public_registration,
        "onlyUseForBrandingOverride": only_use_for_branding_override,
    });
    let change = Change::created("org")
        .fields_new(&fields)
        .event(ORG_CREATED, fields);
    let write = store.insert_org(
        &name,
        &slug,
        allow_public_registration,
        only_use_for_branding_override,
    );
    recording(change, write)
        .await
        .map_err(conflict_as(ORG_TAKEN))
}

/// The fields an update sets, by their API names, with the org's values before it.
fn org_change(current: &OrgRecord, c: &OrgChanges) -> Change {
    let texts = [
        ("name", &current.name, &c.name),
        ("slug", &current.slug, &c.slug),
        (
            "companyLogoUrl",
            &current.company_logo_url,
            &c.company_logo_url,
        ),
        (
            "companyEmailLogoUrl",
            &current.company_email_logo_url,
            &c.company_email_logo_url,
        ),
        ("fontFamily", &current.font_family, &c.font_family),
        ("fontUrl", &current.font_url, &c.font_url),
        ("layoutColor", &current.layout_color, &c.layout_color),
        ("labelColor", &current.label_color, &c.label_color),
        (
            "primaryButtonColor",
            &current.primary_button_color,
            &c.primary_button_color,
        ),
        (
            "primaryButtonLabelColor",
            &current.primary_button_label_color,
            &c.primary_button_label_color,
        ),
        (
            "primaryButtonBorderColor",
            &current.primary_button_border_color,
            &c.primary_button_border_color,
        ),
        (
            "secondaryButtonColor",
            &current.secondary_button_color,
            &c.secondary_button_color,
        ),
        (
            "secondaryButtonLabelColor",
            &current.secondary_button_label_color,
            &c.secondary_button_label_color,
        ),
        (
            "secondaryButtonBorderColor",
            &current.secondary_button_border_color,
            &c.secondary_button_border_color,
        ),
        (
            "criticalIndicatorColor",
            &current.critical_indicator_color,
            &c.critical_indicator_color,
        ),
        (
            "emailSenderName",
            &current.email_sender_name,
            &c.email_sender_name,
        ),
        ("termsLink", &current.terms_link, &c.terms_link),
        (
            "privacyPolicyLink",
            &current.privacy_policy_link,
            &c.privacy_policy_link,
        ),
    ];
    let flags = [
        (
            "allowPublicRegistration",
            current.allow_public_registration,
            c.allow_public_registration,
        ),
        (
            "onlyUseForBrandingOverride",
            current.only_use_for_branding_override,
            c.only_use_for_branding_override,
        ),
    ];
    let mut change = Change::of("org", current.id, "updated");
    for (field, before, after) in texts {
        if let Some(after) = after {
            change = change.field(field, before, after);
        }
    }
    for (field, before, after) in flags {
        if let Some(after) = after {
            change = change.field(field, before, after);
        }
    }
    let changed: Vec<&str> = change.fields.iter().map(|f| f.field.as_str()).collect();
    let data = json!({
        "name": c.name.as_ref().unwrap_or(&current.name),
        "slug": c.slug.as_ref().unwrap_or(&current.slug),
        "changed": changed,
    });
    change.event(ORG_UPDATED, data)
}

/// A branding field: at most `max` characters, and empty (the server's value) or what `parse`
/// accepts, so nothing written here can break out of the pages' CSS or links.
fn branding<T>(
    field: &'static str,
    value: Option<String>,
    max: usize,
    parse: fn(&str) -> Result<T, BrandingProblem>,
) -> Result<Option<String>, ServiceError> {
    let value = optional_text(field, value, max)?;
    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
        parse(v).map_err(|problem| AdminRuleError::Branding { field, problem })?;
    }
    Ok(value)
}

/// A font stylesheet must come from `font_url`'s host or one of `font_hosts`: any other
/// stylesheet could restyle (and read, through selectors) the sign-in form.
fn check_font_host(config: &Config, font_url: Option<&str>) -> Result<(), ServiceError> {
    let Some(url) = font_url.filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    let url = BrandingUrl::parse(url).map_err(|problem| AdminRuleError::Branding {
        field: "fontUrl",
        problem,
    })?;
    if font_host_allowed(&url, &config.font_url, &config.font_hosts) {
        return Ok(());
    }
    let mut hosts: Vec<String> = config.font_hosts.clone();
    hosts.extend(BrandingUrl::parse(&config.font_url).map(|u| u.host()));
    Err(AdminRuleError::FontHostNotAllowed(if hosts.is_empty() {
        "none configured".to_owned()
    } else {
        hosts.join(", ")
    })
    .into())
}

pub async fn update(
    config: &Config,
    store: &Store,
    id: i64,
    mut c: OrgChanges,
) -> Result<OrgRecord, ServiceError> {
    let current = get(store, id).await?;
    c.name = c.name.map(|n| bounded_text("name", &n, 50)).transpose()?;
    c.slug = c.slug.map(|s| slug(&s)).transpose()?;
    let url = BrandingUrl::parse;
    let color = CssColor::parse;
    c.company_logo_url = branding("companyLogoUrl", c.company_logo_url, 250, url)?;
    c.company_email_logo_url = branding("companyEmailLogoUrl", c.company_email_logo_url, 250, url)?;
    c.font_family = branding("fontFamily", c.font_family, 50, FontFamily::parse)?;
    c.font_url = branding("fontUrl", c.font_url, 250, url)?;
    check_font_host(config, c.font_url.as_deref())?;
    for (field, value) in [
        ("layoutColor", &mut c.layout_color),
        ("labelColor", &mut c.label_color),
        ("primaryButtonColor", &mut c.primary_button_color),
        ("primaryButtonLabelColor", &mut c.primary_button_label_color),
        (
            "primaryButtonBorderColor",
            &mut c.primary_button_border_color,
        ),
        ("secondaryButtonColor", &mut c.secondary_button_color),
        (
            "secondaryButtonLabelColor",
            &mut c.secondary_button_label_color,
        ),
        (
            "secondaryButtonBorderColor",
            &mut c.secondary_button_border_color,
        ),
        ("criticalIndicatorColor", &mut c.critical_indicator_color),
    ] {
        *value = branding(field, value.take(), 20, color)?;
    }
    c.email_sender_name = optional_text("emailSenderName", c.email_sender_name, 100)?;
    c.terms_link = branding("termsLink", c.terms_link, 250, url)?;
    c.privacy_policy_link = branding("privacyPolicyLink", c.privacy_policy_link, 250, url)?;
    recording(org_change(&current, &c), store.update_org(id, &c))
        .await
        .map_err(conflict_as(ORG_TAKEN))?
        .ok_or(ServiceError::NotFound(NO_ORG))
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    let org = get(store, id).await?;
    if store.count_users_in_org(&org.slug).await? > 0 {
        return Err(AdminRuleError::OrgHasUsers.into());
    }
    let change = Change::of("org", id, "deleted")
        .field("name", &org.name, Value::Null)
        .field("slug", &org.slug, Value::Null)
        .event(ORG_DELETED, json!({"name": org.name, "slug": org.slug}));
    if !recording(change, store.delete_org(id)).await? {
        return Err(ServiceError::NotFound(NO_ORG));
    }
    Ok(())
}

pub async fn active_users(
    store: &Store,
    id: i64,
    search: Option<&str>,
    page: Option<Page>,
) -> Result<(Vec<UserRecord>, i64), ServiceError> {
    let org = get(store, id).await?;
    Ok(store.users_with_active_org(&org.slug, search, page).await?)
}

pub async fn members(
    store: &Store,
    id: i64,
    page: Option<Page>,
) -> Result<(Vec<UserRecord>, i64), ServiceError> {
    get(store, id).await?;
    Ok(store.org_members(id, page).await?)
}

pub async fn list_groups(
    store: &Store,
    org_id: Option<i64>,
) -> Result<Vec<OrgGroupRecord>, ServiceError> {
    Ok(store.list_org_groups(org_id).await?)
}

pub async fn create_group(
    store: &Store,
    org_id: i64,
    name: &str,
) -> Result<OrgGroupRecord, ServiceError> {
    let name = bounded_text("name", name, 50)?;
    get(store, org_id).await?;
    let change = Change::created("org_group").fields_new(&json!({"orgId": org_id, "name": name}));
    recording(change, store.insert_org_group(org_id, &name))
        .await
        .map_err(conflict_as(GROUP_TAKEN))
}

pub async fn rename_group(
    store: &Store,
    id: i64,
    name: &str,
) -> Result<OrgGroupRecord, ServiceError> {
    let name = bounded_text("name", name, 50)?;
    let current = found(store.org_group_by_id(id), NO_GROUP).await?;
    let change = Change::of("org_group", id, "updated").field("name", &current.name, &name);
    recording(change, store.rename_org_group(id, &name))
        .await
        .map_err(conflict_as(GROUP_TAKEN))?
        .ok_or(ServiceError::NotFound(NO_GROUP))
}

pub async fn delete_group(store: &Store, id: i64) -> Result<(), ServiceError> {
    // Read first: a delete of several statements records its change even when the group is
    // not there.
    let group = found(store.org_group_by_id(id), NO_GROUP).await?;
    let change = Change::of("org_group", id, "deleted")
        .field("orgId", group.org_id, Value::Null)
        .field("name", &group.name, Value::Null);
    if !recording(change, store.delete_org_group(id)).await? {
        return Err(ServiceError::NotFound(NO_GROUP));
    }
    Ok(())
}

pub async fn group_members(store: &Store, id: i64) -> Result<Vec<UserRecord>, ServiceError> {
    found(store.org_group_by_id(id), NO_GROUP).await?;
    Ok(store.org_group_members(id).await?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::fixture::{self, audit_row, audit_trail};

    #[tokio::test]
    async fn org_and_group_changes_are_recorded_with_what_they_changed() {
        let store = fixture::store().await;
        let config = Config::default();
        let org = create(&store, "Acme", "acme", true, false).await.unwrap();
        let changes = OrgChanges {
            name: Some("Acme Inc".into()),
            slug: Some("acme".into()),
            layout_color: Some("#112233".into()),
            allow_public_registration: Some(false),
            ..OrgChanges::default()
        };
        update(&config, &store, org.id, changes).await.unwrap();
        let group = create_group(&store, org.id, "Ops").await.unwrap();
        rename_group(&store, group.id, "Operations").await.unwrap();
        delete_group(&store, group.id).await.unwrap();
        delete(&store, org.id).await.unwrap();
        assert_eq!(
            audit_trail(&store).await,
            [
                audit_row(
                    "org",
                    org.id,
                    "created",
                    json!({
                        "name": [null, "Acme"],
                        "slug": [null, "acme"],
                        "allowPublicRegistration": [null, true],
                        "onlyUseForBrandingOverride": [null, false],
                    })
                ),
                audit_row(
                    "org",
                    org.id,
                    "updated",
                    json!({
                        "name": ["Acme", "Acme Inc"],
                        "layoutColor": ["", "#112233"],
                        "allowPublicRegistration": [true, false],
                    })
                ),
                audit_row(
                    "org_group",
                    group.id,
                    "created",
                    json!({"orgId": [null, org.id], "name": [null, "Ops"]})
                ),
                audit_row(
                    "org_group",
                    group.id,
                    "updated",
                    json!({"name": ["Ops", "Operations"]})
                ),
                audit_row(
                    "org_group",
                    group.id,
                    "deleted",
                    json!({"orgId": [org.id, null], "name": ["Operations", null]})
                ),
                audit_row(
                    "org",
                    org.id,
                    "deleted",
                    json!({"name": ["Acme Inc", null], "slug": ["acme", null]})
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refused_org_changes_record_nothing() {
        let store = fixture::store().await;
        let config = Config::default();
        let org = create(&store, "Acme", "acme", false, false).await.unwrap();
        assert!(create(&store, "Acme", "other", false, false).await.is_err());
        assert!(create(&store, "Spaced", "a b", false, false).await.is_err());
        let bad_color = OrgChanges {
            layout_color: Some("red; background: url(x)".into()),
            ..OrgChanges::default()
        };
        assert!(update(&config, &store, org.id, bad_color).await.is_err());
        assert!(update(&config, &store, 9_999, OrgChanges::default())
            .await
            .is_err());
        assert!(delete(&store, 9_999).await.is_err());
        assert!(create_group(&store, 9_999, "Ops").await.is_err());
        assert!(rename_group(&store, 9_999, "Ops").await.is_err());
        assert!(delete_group(&store, 9_999).await.is_err());
        let trail = audit_trail(&store).await;
        let actions: Vec<(&str, &str)> = trail
            .iter()
            .map(|(resource, _, action, _)| (resource.as_str(), action.as_str()))
            .collect();
        assert_eq!(actions, [("org", "created")]);
    }
}
