//! SCIM 2.0 (RFC 7643, RFC 7644) without I/O: the filter language, PATCH paths and applying a
//! PATCH to a resource held as JSON, list and search requests, and the discovery documents.
//! The server turns resources into JSON and back.

mod discovery;
mod filter;
mod patch;
mod search;

pub use discovery::{listed, Discovery, EnterpriseAttribute, Kept, ScimGroups};
pub use filter::{parse_filter, AttrPath, CompareOp, Filter};
pub use patch::{
    apply_patch, parse_patch_path, parse_patch_request, PatchOp, PatchOpKind, PatchPath,
};
pub use search::{ListQuery, SEARCH_REQUEST_SCHEMA};

use serde_json::{Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A refusal in the RFC 7644 §3.12 shape: an HTTP status and, for 400s, a `scimType`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidFilter", detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidPath", detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidSyntax", detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request("noTarget", detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request("mutability", detail)
    }

    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// The response body.
    pub fn to_json(&self) -> Value {
        let mut body = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(kind), Some(object)) = (self.scim_type, body.as_object_mut()) {
            object.insert("scimType".into(), Value::from(kind));
        }
        body
    }
}

/// An attribute name without the core schema URN a client may prefix it with (RFC 7644 §3.10).
fn strip_core_urn(name: &str) -> &str {
    for urn in [USER_SCHEMA, GROUP_SCHEMA] {
        if let Some(rest) = name
            .get(..urn.len())
            .filter(|p| p.eq_ignore_ascii_case(urn))
            .and_then(|_| name.get(urn.len()..))
            .and_then(|r| r.strip_prefix(':'))
        {
            return rest;
        }
    }
    name
}

/// The key of `object` naming `attribute`: attribute names are case-insensitive (RFC 7643 §2.1).
pub fn key_of(object: &Map<String, Value>, attribute: &str) -> Option<String> {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(attribute))
        .cloned()
}

/// The value of `attribute` in `object`, in any case.
pub fn get_attr<'a>(object: &'a Value, attribute: &str) -> Option<&'a Value> {
    let object = object.as_object()?;
    key_of(object, attribute).and_then(|k| object.get(&k))
}

/// The extension schema an attribute name is in (`urn…:enterprise:2.0:User:department`, or
/// the extension's URN itself), and the attribute in it, if any.
fn in_extension(name: &str) -> Option<(&'static str, Option<&str>)> {
    let urn = ENTERPRISE_USER_SCHEMA;
    let head = name.get(..urn.len())?;
    if !head.eq_ignore_ascii_case(urn) {
        return None;
    }
    match name.get(urn.len()..)? {
        "" => Some((urn, None)),
        rest => rest.strip_prefix(':').map(|a| (urn, Some(a))),
    }
}

/// Keeps only the requested attributes of a resource (`attributes`), or drops the excluded ones
/// (`excludedAttributes`); `id` and `schemas` are always returned (RFC 7644 §3.4.2.5). An
/// extension's attribute asked for keeps the whole extension; one excluded drops only itself.
pub fn project(resource: &mut Value, attributes: &[String], excluded: &[String]) {
    let Some(object) = resource.as_object_mut() else {
        return;
    };
    if attributes.is_empty() {
        for (urn, attribute) in excluded.iter().filter_map(|e| in_extension(e)) {
            if let (Some(attribute), Some(Value::Object(extension))) =
                (attribute, object.get_mut(urn))
            {
                if let Some(key) = key_of(extension, attribute) {
                    extension.remove(&key);
                }
            }
        }
    }
    let top = |name: &String| match in_extension(name) {
        Some((urn, None)) => Some(urn.to_owned()),
        Some((_, Some(_))) if attributes.is_empty() => None,
        Some((urn, Some(_))) => Some(urn.to_owned()),
        None => strip_core_urn(name).split('.').next().map(str::to_owned),
    };
    let keep = |key: &str| {
        ["id", "schemas", "meta"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
    };
    if !attributes.is_empty() {
        let wanted: Vec<String> = attributes.iter().filter_map(top).collect();
        object.retain(|k, _| keep(k) || wanted.iter().any(|w| w.eq_ignore_ascii_case(k)));
    } else if !excluded.is_empty() {
        let dropped: Vec<String> = excluded.iter().filter_map(top).collect();
        object.retain(|k, _| keep(k) || !dropped.iter().any(|d| d.eq_ignore_ascii_case(k)));
    }
}

/// The weak entity tag of a resource (RFC 7644 §3.14): a digest of what it shows, so any change
/// (memberships included) changes it.
pub fn version_of(resource: &Value) -> String {
    use sha2::Digest;
    let mut shown = resource.clone();
    if let Some(object) = shown.as_object_mut() {
        object.remove("meta");
    }
    let digest = sha2::Sha256::digest(shown.to_string().as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// Whether an `If-Match` header allows a write on a resource at `version`.
pub fn if_match_allows(header: Option<&str>, version: &str) -> bool {
    match header.map(str::trim) {
        None | Some("*") => true,
        Some(tags) => tags.split(',').any(|t| {
            let t = t.trim();
            t == version
                || t.strip_prefix("W/").unwrap_or(t)
                    == version.strip_prefix("W/").unwrap_or(version)
        }),
    }
}

/// Splits a comma-separated `attributes` parameter.
pub fn attribute_list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The 1-based `startIndex` and the `count` a list request asks for, with `count` capped at
/// `max` (RFC 7644 §3.4.2.4: below 1 means 1, a negative count means 0).
pub fn paging(start_index: Option<i64>, count: Option<i64>, max: i64) -> (i64, i64) {
    let start = start_index.unwrap_or(1).max(1);
    let count = count.unwrap_or(max).clamp(0, max);
    (start, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn count_is_capped_and_start_index_starts_at_one() {
        assert_eq!(paging(None, None, 100), (1, 100));
        assert_eq!(paging(Some(0), Some(100_000), 100), (1, 100));
        assert_eq!(paging(Some(5), Some(-3), 100), (5, 0));
    }

    #[test]
    fn projection_keeps_id_and_the_named_attributes() {
        let mut user = json!({"schemas": [], "id": "1", "userName": "a", "name": {"givenName": "b"}, "active": true});
        project(&mut user, &["name.givenName".into()], &[]);
        assert_eq!(
            user,
            json!({"schemas": [], "id": "1", "name": {"givenName": "b"}})
        );
        let mut user = json!({"id": "1", "userName": "a", "active": true});
        project(&mut user, &[], &["ACTIVE".into()]);
        assert_eq!(user, json!({"id": "1", "userName": "a"}));
    }

    #[test]
    fn projection_reaches_into_the_enterprise_extension() {
        let user = json!({"id": "1", "userName": "a", ENTERPRISE_USER_SCHEMA: {"department": "d", "division": "v"}});
        let mut shown = user.clone();
        project(
            &mut shown,
            &[format!("{ENTERPRISE_USER_SCHEMA}:department")],
            &[],
        );
        assert_eq!(
            shown,
            json!({"id": "1", ENTERPRISE_USER_SCHEMA: {"department": "d", "division": "v"}})
        );
        let mut shown = user.clone();
        project(
            &mut shown,
            &[],
            &[format!("{ENTERPRISE_USER_SCHEMA}:Department")],
        );
        assert_eq!(
            shown,
            json!({"id": "1", "userName": "a", ENTERPRISE_USER_SCHEMA: {"division": "v"}})
        );
        let mut shown = user;
        project(&mut shown, &[], &[ENTERPRISE_USER_SCHEMA.to_owned()]);
        assert_eq!(shown, json!({"id": "1", "userName": "a"}));
    }

    #[test]
    fn versions_follow_content_and_if_match_compares_them() {
        let v1 = version_of(&json!({"id": "1", "active": true, "meta": {"x": 1}}));
        assert_eq!(v1, version_of(&json!({"id": "1", "active": true})));
        assert_ne!(v1, version_of(&json!({"id": "1", "active": false})));
        assert!(v1.starts_with("W/\""));
        assert!(if_match_allows(None, &v1));
        assert!(if_match_allows(Some("*"), &v1));
        assert!(if_match_allows(Some(&v1), &v1));
        assert!(!if_match_allows(Some("W/\"other\""), &v1));
    }

    #[test]
    fn errors_carry_the_status_as_a_string() {
        let body = ScimError::invalid_filter("bad").to_json();
        assert_eq!(body["status"], "400");
        assert_eq!(body["scimType"], "invalidFilter");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
    }
}
