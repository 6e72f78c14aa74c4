//! SCIM 2.0 provisioning: users, and groups (roles or organization groups, as `scim_groups`
//! says) shown as SCIM resources, changed through the users, roles and organizations services
//! so their rules (email uniqueness, protected roles, password policy, cache invalidation)
//! apply. Parsing, patching and the discovery documents live in `gatehouse_core::scim`.

mod enterprise;
mod groups;
mod users;

use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::scim::{version_of, Discovery, Filter, ScimError};
use gatehouse_core::ErrorClass;
use gatehouse_store::StoreError;
use serde_json::{json, Value};

pub use groups::{create_group, delete_group, get_group, list_groups, patch_group, replace_group};
pub use users::{create_user, delete_user, get_user, list_users, patch_user, replace_user};

use crate::error::ServiceError;
use crate::state::AppState;

/// A SCIM refusal, or a service's one (mapped to SCIM at the edge).
#[derive(Debug)]
pub enum ScimFailure {
    Scim(ScimError),
    Service(ServiceError),
}

impl From<ScimError> for ScimFailure {
    fn from(err: ScimError) -> Self {
        Self::Scim(err)
    }
}

impl From<ServiceError> for ScimFailure {
    fn from(err: ServiceError) -> Self {
        Self::Service(err)
    }
}

impl From<StoreError> for ScimFailure {
    fn from(err: StoreError) -> Self {
        Self::Service(err.into())
    }
}

impl ScimFailure {
    /// The SCIM error to answer, and the service error to log when it is a server fault.
    pub fn into_scim(self) -> (ScimError, Option<ServiceError>) {
        let err = match self {
            Self::Scim(err) => return (err, None),
            Self::Service(err) => err,
        };
        let detail = err.to_string();
        if let ServiceError::Rule(
            AdminRuleError::PrivilegedRoleNeedsRoot
            | AdminRuleError::PrivilegedRoleChangeNeedsRoot
            | AdminRuleError::PrivilegedRoleRemovalNeedsRoot
            | AdminRuleError::PrivilegedUserNeedsRoot(_),
        ) = err
        {
            // The S2S API answers these 400 as Melody does; to SCIM they are 403 (RFC 7644
            // §3.12: not permitted with the supplied authorization).
            return (ScimError::status(403, detail), None);
        }
        if let ServiceError::Rule(AdminRuleError::UniqueAttributeAlreadyExists { .. }) = err {
            return (uniqueness(&detail), None);
        }
        let scim = match err.class() {
            ErrorClass::Invalid => ScimError::invalid_value(detail),
            ErrorClass::Unauthenticated => ScimError::status(401, detail),
            ErrorClass::Forbidden => ScimError::status(403, detail),
            ErrorClass::NotFound => ScimError::status(404, detail),
            ErrorClass::Conflict => uniqueness(&detail),
            ErrorClass::Upstream | ErrorClass::Unavailable | ErrorClass::Internal => {
                let shown = format!("Internal error ({})", err.internal_code());
                return (ScimError::status(500, shown), Some(err));
            }
        };
        (scim, None)
    }
}

type Result<T> = std::result::Result<T, ScimFailure>;

fn uniqueness(detail: &str) -> ScimError {
    ScimError {
        status: 409,
        scim_type: Some("uniqueness"),
        detail: detail.into(),
    }
}

fn timestamp(at: chrono::NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Adds `meta`, its `version` a digest of the rest.
fn with_meta(
    mut resource: Value,
    kind: &str,
    location: String,
    created: chrono::NaiveDateTime,
    modified: chrono::NaiveDateTime,
) -> Value {
    let version = version_of(&resource);
    if let Some(object) = resource.as_object_mut() {
        object.insert(
            "meta".into(),
            json!({"resourceType": kind, "created": timestamp(created),
                   "lastModified": timestamp(modified), "location": location, "version": version}),
        );
    }
    resource
}

/// The string at `path` (attribute names in any case).
fn text<'a>(resource: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = resource;
    for name in path {
        at = gatehouse_core::scim::get_attr(at, name)?;
    }
    at.as_str()
}

/// Checks `If-Match` against the resource as it is now.
fn precondition(current: &Value, if_match: Option<&str>) -> std::result::Result<(), ScimError> {
    let version = text(current, &["meta", "version"]).unwrap_or_default();
    if gatehouse_core::scim::if_match_allows(if_match, version) {
        Ok(())
    } else {
        Err(ScimError::status(
            412,
            "The resource changed since it was read (If-Match)",
        ))
    }
}

/// The discovery documents as this deployment maps users and groups.
pub async fn discovery<'a>(
    state: &AppState,
    base: &'a str,
    max_results: i64,
) -> Result<Discovery<'a>> {
    Ok(Discovery {
        base,
        groups: state.config.scim_groups,
        enterprise: enterprise::EnterpriseMap::load(state).await?.kept(),
        max_results,
    })
}

/// Every resource of every type matching `filter` (`POST /.search` at the root): users, then
/// groups.
pub async fn search_all(
    state: &AppState,
    filter: Option<&Filter>,
    base: &str,
) -> Result<Vec<Value>> {
    let mut found = list_users(state, filter, base).await?;
    found.extend(list_groups(state, filter, base).await?);
    Ok(found)
}
