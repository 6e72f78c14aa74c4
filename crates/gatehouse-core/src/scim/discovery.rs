//! The discovery documents (RFC 7644 §4, RFC 7643 §5-7): what this server supports, the
//! resource types it serves and the schemas of their attributes, as the deployment maps them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA};
use crate::password::PasswordError;

/// What SCIM Groups are in this deployment (the `scim_groups` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScimGroups {
    /// Roles: `displayName` is the role's name.
    #[default]
    Roles,
    /// Organization groups: `displayName` is `org-slug/group name`.
    OrgGroups,
}

/// The attributes of the enterprise User extension (RFC 7643 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterpriseAttribute {
    EmployeeNumber,
    CostCenter,
    Organization,
    Division,
    Department,
    Manager,
}

impl EnterpriseAttribute {
    pub const ALL: [Self; 6] = [
        Self::EmployeeNumber,
        Self::CostCenter,
        Self::Organization,
        Self::Division,
        Self::Department,
        Self::Manager,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::EmployeeNumber => "employeeNumber",
            Self::CostCenter => "costCenter",
            Self::Organization => "organization",
            Self::Division => "division",
            Self::Department => "department",
            Self::Manager => "manager",
        }
    }

    /// The attributes a custom user attribute of the same name can hold (plain strings).
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Organization | Self::Manager)
    }
}

/// Where a deployment keeps one enterprise attribute, or why it keeps none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Stored; the text says where ("the custom user attribute `department`").
    In(String),
    /// Not stored; the text says why. The schema declares it read-only and never returned, so
    /// clients know a value they send is ignored.
    Not(String),
}

/// What the discovery documents describe.
#[derive(Debug, Clone)]
pub struct Discovery<'a> {
    /// `…/scim/v2`, without a trailing slash.
    pub base: &'a str,
    pub groups: ScimGroups,
    /// One entry per enterprise attribute.
    pub enterprise: Vec<(EnterpriseAttribute, Kept)>,
    /// The most resources one list answer holds.
    pub max_results: i64,
}

impl Discovery<'_> {
    pub fn service_provider_config(&self) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": self.max_results},
            "changePassword": {"supported": true},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A client-credentials access token holding read_scim / write_scim (or root)",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig",
                     "location": format!("{}/ServiceProviderConfig", self.base)},
        })
    }

    pub fn resource_types(&self) -> Vec<Value> {
        let groups = match self.groups {
            ScimGroups::Roles => "Groups (roles)",
            ScimGroups::OrgGroups => "Groups (organization groups, named org-slug/group name)",
        };
        // Users carry the enterprise extension where the deployment keeps some of it; its
        // schema is published either way, saying what is kept.
        let keeps_enterprise = self
            .enterprise
            .iter()
            .any(|(_, kept)| matches!(kept, Kept::In(_)));
        let extensions = |id: &str| {
            if id == "User" && keeps_enterprise {
                json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}])
            } else {
                json!([])
            }
        };
        [
            ("User", "/Users", "User accounts", USER_SCHEMA),
            ("Group", "/Groups", groups, GROUP_SCHEMA),
        ]
        .into_iter()
        .map(|(id, endpoint, description, schema)| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": id, "name": id, "endpoint": endpoint, "description": description,
                "schema": schema, "schemaExtensions": extensions(id),
                "meta": {"resourceType": "ResourceType",
                         "location": format!("{}/ResourceTypes/{id}", self.base)},
            })
        })
        .collect()
    }

    pub fn schemas(&self) -> Vec<Value> {
        let group_description = match self.groups {
            ScimGroups::Roles => "Group (a role)",
            ScimGroups::OrgGroups => "Group (an organization group)",
        };
        [
            (USER_SCHEMA, "User", "User Account", user_attributes()),
            (GROUP_SCHEMA, "Group", group_description, self.group_attributes()),
            (
                ENTERPRISE_USER_SCHEMA,
                "EnterpriseUser",
                "Enterprise User: what this deployment stores of it is said by each attribute",
                self.enterprise_attributes(),
            ),
        ]
        .into_iter()
        .map(|(id, name, description, attributes)| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
                "id": id, "name": name, "description": description, "attributes": attributes,
                "meta": {"resourceType": "Schema", "location": format!("{}/Schemas/{id}", self.base)},
            })
        })
        .collect()
    }

    fn group_attributes(&self) -> Vec<Value> {
        let display_name = match self.groups {
            ScimGroups::Roles => "The role's name (unique).",
            ScimGroups::OrgGroups => {
                "org-slug/group name: the organization (by slug) and the group's name in it \
                 (unique within the organization). The organization cannot change."
            }
        };
        let members = match self.groups {
            ScimGroups::Roles => "The users holding the role.",
            ScimGroups::OrgGroups => {
                "The users in the group. A user joins only groups of their active organization; \
                 a user with none joins the group's organization, which becomes their active one."
            }
        };
        vec![
            Attr::new("displayName", display_name)
                .required()
                .unique()
                .into(),
            // No `display`: a member's userName is read from the user.
            Attr::new("members", members)
                .complex(vec![
                    Attr::new("value", "The member's id.")
                        .mutability("immutable")
                        .into(),
                    Attr::new("$ref", "The member's URI.")
                        .kind("reference")
                        .mutability("immutable")
                        .references(&["User"])
                        .into(),
                    Attr::new("type", "Members are users.")
                        .mutability("immutable")
                        .canonical(&["User"])
                        .into(),
                ])
                .multi()
                .into(),
        ]
    }

    fn enterprise_attributes(&self) -> Vec<Value> {
        self.enterprise
            .iter()
            .map(|(attribute, kept)| {
                let (description, stored) = match kept {
                    Kept::In(place) => (format!("Stored as {place}."), true),
                    Kept::Not(why) => (
                        format!("Not stored: {why}. A value sent is ignored."),
                        false,
                    ),
                };
                let mut definition = Attr::new(attribute.name(), &description);
                if *attribute == EnterpriseAttribute::Manager {
                    definition = definition.complex(vec![
                        Attr::new("value", "The manager's id.").into(),
                        Attr::new("$ref", "The manager's URI.")
                            .kind("reference")
                            .references(&["User"])
                            .into(),
                        Attr::new("displayName", "The manager's name.")
                            .mutability("readOnly")
                            .into(),
                    ]);
                }
                if !stored {
                    definition = definition.mutability("readOnly").returned("never");
                }
                definition.into()
            })
            .collect()
    }
}

fn user_attributes() -> Vec<Value> {
    let password = format!(
        "The sign-in password: write-only, never returned. {}; {} (else 400 invalidValue). \
         Removing it leaves the account without a password.",
        PasswordError::TooWeak,
        PasswordError::TooLong.to_string().to_lowercase()
    );
    vec![
        Attr::new(
            "userName",
            "Unique in any case. Users SCIM never named show their email.",
        )
        .required()
        .unique()
        .into(),
        Attr::new("name", "The user's names.")
            .complex(vec![
                Attr::new("givenName", "First name (at most 50 characters).").into(),
                Attr::new("familyName", "Last name (at most 50 characters).").into(),
            ])
            .into(),
        // Every account signs in and is reached by email: required, so clients send one.
        Attr::new(
            "emails",
            "Exactly one address: the account's sign-in email (unique). On create it may be left \
             out when userName is an email. A changed address is unverified until the user \
             proves they receive mail there.",
        )
        .required()
        .complex(vec![
            Attr::new("value", "The address.").required().into(),
            Attr::new("type", "A label, kept as given.")
                .canonical(&["work", "home", "other"])
                .into(),
            Attr::new(
                "primary",
                "Kept as given (the one address is the sign-in one).",
            )
            .kind("boolean")
            .into(),
        ])
        .multi()
        .into(),
        // Every account is active or not: required, so it cannot be removed (true when a
        // create leaves it out).
        Attr::new(
            "active",
            "Whether the user may sign in; false signs them out. Every account has it: it \
             cannot be removed, and a create that leaves it out makes the user active.",
        )
        .kind("boolean")
        .required()
        .into(),
        Attr::new("password", &password)
            .mutability("writeOnly")
            .returned("never")
            .into(),
    ]
}

/// One attribute definition (RFC 7643 §7), built up.
struct Attr(Value);

impl Attr {
    fn new(name: &str, description: &str) -> Self {
        Self(json!({
            "name": name, "type": "string", "multiValued": false, "description": description,
            "required": false, "caseExact": false, "mutability": "readWrite",
            "returned": "default", "uniqueness": "none",
        }))
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        self.0[key] = value;
        self
    }

    fn kind(self, kind: &str) -> Self {
        self.set("type", json!(kind))
    }

    fn required(self) -> Self {
        self.set("required", json!(true))
    }

    fn unique(self) -> Self {
        self.set("uniqueness", json!("server"))
    }

    fn multi(self) -> Self {
        self.set("multiValued", json!(true))
    }

    fn mutability(self, mutability: &str) -> Self {
        self.set("mutability", json!(mutability))
    }

    fn returned(self, returned: &str) -> Self {
        self.set("returned", json!(returned))
    }

    fn references(self, types: &[&str]) -> Self {
        self.set("referenceTypes", json!(types))
    }

    fn canonical(self, values: &[&str]) -> Self {
        self.set("canonicalValues", json!(values))
    }

    fn complex(self, sub: Vec<Value>) -> Self {
        self.kind("complex").set("subAttributes", Value::Array(sub))
    }
}

impl From<Attr> for Value {
    fn from(attr: Attr) -> Self {
        attr.0
    }
}

/// Resources as a ListResponse holding all of them.
pub fn listed(resources: Vec<Value>) -> Value {
    json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": resources.len(), "startIndex": 1,
           "itemsPerPage": resources.len(), "Resources": resources})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(groups: ScimGroups, employee_number_kept: bool) -> Discovery<'static> {
        let kept = |a: EnterpriseAttribute| {
            if a == EnterpriseAttribute::EmployeeNumber && employee_number_kept {
                Kept::In("the custom user attribute `employeeNumber`".into())
            } else {
                Kept::Not("no field holds it".into())
            }
        };
        Discovery {
            base: "https://id.example.com/scim/v2",
            groups,
            enterprise: EnterpriseAttribute::ALL
                .into_iter()
                .map(|a| (a, kept(a)))
                .collect(),
            max_results: 200,
        }
    }

    fn attribute<'a>(schema: &'a Value, name: &str) -> &'a Value {
        schema["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["name"] == name))
            .unwrap_or_else(|| panic!("{name} in {schema}"))
    }

    #[test]
    fn enterprise_attributes_say_whether_they_are_stored() {
        let schemas = discovery(ScimGroups::Roles, true).schemas();
        let enterprise = &schemas[2];
        assert_eq!(enterprise["id"], ENTERPRISE_USER_SCHEMA);
        let employee = attribute(enterprise, "employeeNumber");
        assert_eq!(
            (&employee["mutability"], &employee["returned"]),
            (&json!("readWrite"), &json!("default"))
        );
        let manager = attribute(enterprise, "manager");
        assert_eq!(
            (&manager["mutability"], &manager["returned"]),
            (&json!("readOnly"), &json!("never"))
        );
        assert!(manager["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Not stored")));
        let user_type = &discovery(ScimGroups::Roles, true).resource_types()[0];
        assert_eq!(
            user_type["schemaExtensions"][0]["schema"],
            ENTERPRISE_USER_SCHEMA
        );
        let keeps_none = &discovery(ScimGroups::Roles, false).resource_types()[0];
        assert_eq!(keeps_none["schemaExtensions"], json!([]));
        let schemas = discovery(ScimGroups::Roles, false).schemas();
        assert!(attribute(&schemas[2], "employeeNumber")["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Not stored")));
    }

    #[test]
    fn the_password_rule_is_published_with_the_password() {
        let schemas = discovery(ScimGroups::Roles, false).schemas();
        let password = attribute(&schemas[0], "password");
        let description = password["description"].as_str().unwrap_or_default();
        assert!(description.contains(&PasswordError::TooWeak.to_string()));
        assert_eq!(password["returned"], "never");
    }

    #[test]
    fn groups_describe_what_they_map_to() {
        let roles = discovery(ScimGroups::Roles, false);
        let orgs = discovery(ScimGroups::OrgGroups, false);
        assert_eq!(roles.resource_types()[1]["description"], "Groups (roles)");
        assert!(attribute(&orgs.schemas()[1], "displayName")["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("org-slug/group name")));
        let config = roles.service_provider_config();
        assert_eq!(config["changePassword"]["supported"], true);
        assert_eq!(config["filter"]["maxResults"], 200);
    }
}
