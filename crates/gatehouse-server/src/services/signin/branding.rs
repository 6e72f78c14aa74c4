//! An organization's branding on the sign-in pages.

use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::state::AppState;

/// An organization's branding for the sign-in pages; empty fields keep the server's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub logo_url: String,
    pub font_family: String,
    pub font_url: String,
    pub layout_color: String,
    pub label_color: String,
    pub primary_button_color: String,
    pub primary_button_label_color: String,
    pub primary_button_border_color: String,
    pub secondary_button_color: String,
    pub secondary_button_label_color: String,
    pub secondary_button_border_color: String,
    pub critical_indicator_color: String,
    pub terms_link: String,
    pub privacy_policy_link: String,
    /// Whether people may sign up through this organization's pages.
    pub allow_sign_up: bool,
}

impl From<gatehouse_store::OrgRecord> for Branding {
    fn from(o: gatehouse_store::OrgRecord) -> Self {
        Self {
            logo_url: o.company_logo_url,
            font_family: o.font_family,
            font_url: o.font_url,
            layout_color: o.layout_color,
            label_color: o.label_color,
            primary_button_color: o.primary_button_color,
            primary_button_label_color: o.primary_button_label_color,
            primary_button_border_color: o.primary_button_border_color,
            secondary_button_color: o.secondary_button_color,
            secondary_button_label_color: o.secondary_button_label_color,
            secondary_button_border_color: o.secondary_button_border_color,
            critical_indicator_color: o.critical_indicator_color,
            terms_link: o.terms_link,
            privacy_policy_link: o.privacy_policy_link,
            allow_sign_up: o.allow_public_registration,
        }
    }
}

/// The branding of the organization a request names (`org`), when orgs are on.
pub(super) async fn org_branding(
    state: &AppState,
    org: Option<&str>,
) -> Result<Option<Branding>, ServiceError> {
    use gatehouse_store::OrgStore;
    let slug = org.map(str::trim).filter(|s| !s.is_empty());
    match slug {
        Some(slug) if state.config.enable_org => {
            Ok(state.store.org_by_slug(slug).await?.map(Branding::from))
        }
        _ => Ok(None),
    }
}
