//! Managing organizations and organization groups.

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_core::branding::{
    font_host_allowed, BrandingProblem, BrandingUrl, CssColor, FontFamily,
};
use gatehouse_store::{OrgChanges, OrgGroupRecord, OrgRecord, OrgStore, Page, Store, UserRecord};

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
    store
        .insert_org(
            &name,
            &slug,
            allow_public_registration,
            only_use_for_branding_override,
        )
        .await
        .map_err(conflict_as(ORG_TAKEN))
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
    get(store, id).await?;
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
    store
        .update_org(id, &c)
        .await
        .map_err(conflict_as(ORG_TAKEN))?
        .ok_or(ServiceError::NotFound(NO_ORG))
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    let org = get(store, id).await?;
    if store.count_users_in_org(&org.slug).await? > 0 {
        return Err(AdminRuleError::OrgHasUsers.into());
    }
    if !store.delete_org(id).await? {
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
    store
        .insert_org_group(org_id, &name)
        .await
        .map_err(conflict_as(GROUP_TAKEN))
}

pub async fn rename_group(
    store: &Store,
    id: i64,
    name: &str,
) -> Result<OrgGroupRecord, ServiceError> {
    let name = bounded_text("name", name, 50)?;
    store
        .rename_org_group(id, &name)
        .await
        .map_err(conflict_as(GROUP_TAKEN))?
        .ok_or(ServiceError::NotFound(NO_GROUP))
}

pub async fn delete_group(store: &Store, id: i64) -> Result<(), ServiceError> {
    if !store.delete_org_group(id).await? {
        return Err(ServiceError::NotFound(NO_GROUP));
    }
    Ok(())
}

pub async fn group_members(store: &Store, id: i64) -> Result<Vec<UserRecord>, ServiceError> {
    found(store.org_group_by_id(id), NO_GROUP).await?;
    Ok(store.org_group_members(id).await?)
}
