//! Rules of the management API that need no storage: field limits, redirect URIs, built-ins.

use crate::branding::BrandingProblem;
use crate::error::ErrorClass;
use crate::redirect_uri::{RedirectUri, RedirectUriProblem};
use crate::scope::{BUILT_IN_SCOPES, ROOT_SCOPE};

/// The scopes an impersonation refresh token carries (Melody's).
pub const IMPERSONATION_SCOPES: [&str; 2] = ["offline_access", "profile"];

/// A management request that breaks a rule, with the message clients show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminRuleError {
    #[error("{field} must be between 1 and {max} characters")]
    Length { field: &'static str, max: usize },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must be one of {allowed}")]
    OneOf {
        field: &'static str,
        allowed: &'static str,
    },
    #[error("Invalid redirect URI `{uri}`: {problem}")]
    RedirectUri {
        uri: String,
        problem: RedirectUriProblem,
    },
    /// A branding value that could break out of its place in the pages' CSS or links.
    #[error("{field} {problem}")]
    Branding {
        field: &'static str,
        problem: BrandingProblem,
    },
    #[error("fontUrl must be a stylesheet on an allowed font host ({0})")]
    FontHostNotAllowed(String),
    #[error("Built-in scopes cannot be created, deleted, or renamed")]
    BuiltInScope,
    #[error("Built-in roles cannot be created, deleted, or updated")]
    BuiltInRole,
    #[error("Only an app with the root scope can assign the root scope to an app")]
    RootScopeNeedsRoot,
    #[error("Only an app with the root scope can assign a privileged role")]
    PrivilegedRoleNeedsRoot,
    #[error("Only an app with the root scope can create, rename, or delete a privileged role")]
    PrivilegedRoleChangeNeedsRoot,
    #[error("Only an app with the root scope can remove a privileged role from a user")]
    PrivilegedRoleRemovalNeedsRoot,
    #[error("Only an app with the root scope can {} a user who holds a privileged role", .0.verb())]
    PrivilegedUserNeedsRoot(UserAction),
    #[error("User is not in the organization")]
    UserNotInOrg,
    #[error("Only spa and web apps sign users in, so only they may use the device flow")]
    DeviceFlowNeedsUserApp,
    #[error("tokenEndpointAuthMethod client_secret_jwt needs a secret the server can read: create the app with it (an app made before keeps only its secret's hash)")]
    ClientSecretJwtNeedsReadableSecret,
    #[error("tokenEndpointAuthMethod private_key_jwt needs the app's keys: set jwks or jwksUri")]
    PrivateKeyJwtNeedsKeys,
    #[error("Only web and s2s apps authenticate, so only they may use private_key_jwt")]
    PrivateKeyJwtNeedsConfidentialApp,
    #[error("jwks must be a JWK set ({{\"keys\": [...]}}) of 1 to 20 public signing keys (RSA, EC P-256 or Ed25519), at most 16 KB; a private key is refused")]
    InvalidJwks,
    #[error("Register jwks or jwksUri, not both")]
    JwksAndJwksUri,
    #[error("{field} {problem}")]
    LogoutUri {
        field: &'static str,
        problem: String,
    },
    #[error("Only spa and web apps sign users in, so only they take logout notices")]
    LogoutNeedsUserApp,
    #[error("jwksUri {0}")]
    InvalidJwksUri(String),
    #[error("{0}")]
    Fapi(#[from] crate::fapi::FapiError),
    #[error("{0}")]
    Webhook(#[from] crate::webhooks::WebhookError),
    #[error("identifier must be an absolute URI without a fragment (at most 2048 characters)")]
    ResourceIdentifier,
    #[error("Each scope of a resource server is 1 to 100 characters without spaces")]
    ResourceScope,
    #[error(
        "accessTokenExpiresIn must be between 60 and 86400 seconds, or 0 for the server's lifetime"
    )]
    ResourceTokenLifetime,
    #[error("introspectionClientId must be the client id of an S2S app")]
    IntrospectionClientNotS2s,
    #[error("tokenExchangeClientIds must be client ids of apps with a secret (s2s or web)")]
    ExchangeClientNotConfidential,
    #[error("phoneNumber must be in E.164 form, such as +14155550123 (or empty to clear it)")]
    InvalidPhoneNumber,
    #[error("address members are text of at most 200 characters (formatted, street_address, locality, region, postal_code, country)")]
    InvalidAddress,
    #[error("Invitation must be accepted before activating user")]
    InvitationMustBeAccepted,
    #[error("This account has already been linked with one account")]
    UserAlreadyLinked,
    #[error("Target account has already been linked with one account")]
    TargetUserAlreadyLinked,
    #[error("Value for attribute \"{0}\" does not match the validation rule")]
    AttributeValidationFailed(String),
    #[error("Duplicate value \"{value}\" for attribute \"{attribute}\"")]
    UniqueAttributeAlreadyExists { value: String, attribute: String },
    /// A part of the request needs a feature that is switched off.
    #[error("{0}")]
    FeatureOff(&'static str),
    #[error("locale must be one of the supported locales")]
    UnsupportedLocale,
    #[error("The email address is already in use")]
    EmailTaken,
    #[error("email must be a valid email address")]
    InvalidEmail,
    #[error("Organization does not allow invitation")]
    OrgNotAllowInvite,
    #[error("User is already active")]
    UserAlreadyActive,
    #[error("Invitation not found or already used")]
    InvitationNotFound,
    #[error("metadata must be an XML document")]
    NotXml,
    #[error("Unknown scope")]
    UnknownScope,
    #[error("impersonatorToken is required for impersonation")]
    ImpersonatorTokenRequired,
    #[error("Invalid access_token provided")]
    InvalidImpersonatorToken,
    #[error("Impersonate request sent to a non-SPA app")]
    ImpersonationNeedsSpa,
    #[error("Only super admin can impersonate other users")]
    NotAnImpersonator,
    #[error("User consent required")]
    ImpersonationNeedsConsent,
    #[error("validationRegex is not a valid regular expression")]
    InvalidRegex,
    #[error("Can not delete organization with users")]
    OrgHasUsers,
    #[error("Policies is unavailable for social login accounts.")]
    SocialAccount,
    #[error("Email already verified")]
    EmailAlreadyVerified,
}

/// Trims a name-like field and checks it holds 1 to `max` characters.
pub fn bounded_text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<String, AdminRuleError> {
    let trimmed = value.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > max {
        return Err(AdminRuleError::Length { field, max });
    }
    Ok(trimmed.to_owned())
}

pub fn is_built_in_scope(name: &str) -> bool {
    BUILT_IN_SCOPES.contains(&name)
}

pub fn is_built_in_role(name: &str) -> bool {
    name == "super_admin"
}

/// A redirect URI as registered (see [`RedirectUri`]): trimmed, case kept (compared exactly
/// later); `allow_http` lets `http:` name hosts other than loopback.
pub fn redirect_uri(value: &str, allow_http: bool) -> Result<String, AdminRuleError> {
    RedirectUri::parse(value, allow_http)
        .map(RedirectUri::into_string)
        .map_err(|problem| AdminRuleError::RedirectUri {
            uri: value.trim().to_owned(),
            problem,
        })
}

/// Whether giving an app these scopes is allowed to this caller: `root` only by a root caller.
pub fn may_assign_scopes(
    caller_scopes: &[String],
    assigned: &[String],
) -> Result<(), AdminRuleError> {
    let assigns_root = assigned.iter().any(|s| s == ROOT_SCOPE);
    if assigns_root && !caller_scopes.iter().any(|s| s == ROOT_SCOPE) {
        return Err(AdminRuleError::RootScopeNeedsRoot);
    }
    Ok(())
}

/// An email address as stored: trimmed and lower-cased, with one `@` between a non-empty local
/// part and a domain that has a dot and no spaces.
pub fn email_address(value: &str) -> Result<String, AdminRuleError> {
    let email = value.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(AdminRuleError::InvalidEmail)
    }
}

/// The roles only a `root` caller may create, rename (to or from), delete, give or take away, and
/// whose holders only a `root` caller may disable, delete, link or strip of a factor: the
/// configured privileged, impersonation and admin panel roles, and `super_admin`. Renaming is
/// covered because a name is what every one of these lists holds.
#[derive(Debug, Clone, Copy)]
pub struct ProtectedRoles<'a> {
    lists: [&'a [String]; 3],
}

impl<'a> ProtectedRoles<'a> {
    pub fn new(
        privileged: &'a [String],
        impersonation: &'a [String],
        admin_panel: &'a [String],
    ) -> Self {
        Self {
            lists: [privileged, impersonation, admin_panel],
        }
    }

    pub fn contains(&self, role: &str) -> bool {
        role == SUPER_ADMIN || self.lists.iter().any(|list| list.iter().any(|r| r == role))
    }
}

/// Something done to a user who may hold a protected role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    SetActive,
    Delete,
    ChangeMfa,
    RemovePasskey,
    LinkAccounts,
    UnlinkIdentity,
    ChangeEmail,
    SetPassword,
}

impl UserAction {
    fn verb(&self) -> &'static str {
        match self {
            Self::SetActive => "disable or enable",
            Self::Delete => "delete",
            Self::ChangeMfa => "change the MFA of",
            Self::RemovePasskey => "remove a passkey of",
            Self::LinkAccounts => "link or unlink",
            Self::UnlinkIdentity => "unlink a sign-in identity of",
            Self::ChangeEmail => "change the email of",
            Self::SetPassword => "set or remove the password of",
        }
    }
}

/// A management change as the protected-role rule sees it.
#[derive(Debug, Clone, Copy)]
pub enum ManagementChange<'a> {
    CreateRole(&'a str),
    RenameRole {
        from: &'a str,
        to: &'a str,
    },
    DeleteRole(&'a str),
    /// The user's roles go from `held` to `wanted` (invitations hold nothing yet).
    SetUserRoles {
        held: &'a [String],
        wanted: &'a [String],
    },
    ActOnUser {
        held: &'a [String],
        action: UserAction,
    },
}

/// The one rule for protected roles: a `root` caller may do anything; any other caller may make
/// no change that creates, renames, deletes, grants or takes away a protected role, nor act on
/// a user who holds one. A harmless role renamed into a protected name would otherwise grant it.
pub fn authorize_change(
    root: bool,
    protected: ProtectedRoles<'_>,
    change: ManagementChange<'_>,
) -> Result<(), AdminRuleError> {
    if root {
        return Ok(());
    }
    let is = |role: &str| protected.contains(role);
    let holds_one = |roles: &[String]| roles.iter().any(|r| is(r));
    match change {
        ManagementChange::CreateRole(name) | ManagementChange::DeleteRole(name) if is(name) => {
            Err(AdminRuleError::PrivilegedRoleChangeNeedsRoot)
        }
        ManagementChange::RenameRole { from, to } if from != to && (is(from) || is(to)) => {
            Err(AdminRuleError::PrivilegedRoleChangeNeedsRoot)
        }
        ManagementChange::SetUserRoles { held, wanted } => {
            if wanted.iter().any(|r| is(r) && !held.contains(r)) {
                Err(AdminRuleError::PrivilegedRoleNeedsRoot)
            } else if held.iter().any(|r| is(r) && !wanted.contains(r)) {
                Err(AdminRuleError::PrivilegedRoleRemovalNeedsRoot)
            } else {
                Ok(())
            }
        }
        ManagementChange::ActOnUser { held, action } if holds_one(held) => {
            Err(AdminRuleError::PrivilegedUserNeedsRoot(action))
        }
        _ => Ok(()),
    }
}

/// The keys of a JWK set an app registers (`jwks`): 1 to 20 public signing keys of a type this
/// server verifies, as compact JSON of at most 16 KB. A private member (`d`, …) is refused, so
/// a key pasted whole by mistake is not stored.
pub fn public_key_set(value: &serde_json::Value) -> Result<String, AdminRuleError> {
    use crate::federation::{fits, Jwk, JwsAlgorithm};
    const PRIVATE: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
    let keys = value
        .get("keys")
        .and_then(|k| k.as_array())
        .filter(|k| (1..=20).contains(&k.len()))
        .ok_or(AdminRuleError::InvalidJwks)?;
    for key in keys {
        let object = key.as_object().ok_or(AdminRuleError::InvalidJwks)?;
        if PRIVATE.iter().any(|m| object.contains_key(*m)) {
            return Err(AdminRuleError::InvalidJwks);
        }
        let jwk: Jwk =
            serde_json::from_value(key.clone()).map_err(|_| AdminRuleError::InvalidJwks)?;
        let usable = [
            JwsAlgorithm::Rs256,
            JwsAlgorithm::Ps256,
            JwsAlgorithm::Es256,
            JwsAlgorithm::EdDsa,
        ]
        .into_iter()
        .any(|alg| fits(&jwk, alg));
        if !usable {
            return Err(AdminRuleError::InvalidJwks);
        }
    }
    let text = value.to_string();
    if text.len() > 16 * 1024 {
        return Err(AdminRuleError::InvalidJwks);
    }
    Ok(text)
}

impl AdminRuleError {
    /// Melody answers 401 when the impersonating admin is not who or what is needed; every other
    /// broken rule is invalid (400).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::InvalidImpersonatorToken
            | Self::NotAnImpersonator
            | Self::ImpersonationNeedsConsent => ErrorClass::Unauthenticated,
            _ => ErrorClass::Invalid,
        }
    }
}

/// Who may impersonate, and for which app: an admin holding one of `allowed_roles`, into a
/// SPA app the target consented to (when consent is asked at all).
pub fn check_impersonation(
    impersonator_roles: &[String],
    allowed_roles: &[String],
    app_is_spa: bool,
    consent_needed: bool,
    consented: &[String],
) -> Result<(), AdminRuleError> {
    if !app_is_spa {
        return Err(AdminRuleError::ImpersonationNeedsSpa);
    }
    if !impersonator_roles.iter().any(|r| allowed_roles.contains(r)) {
        return Err(AdminRuleError::NotAnImpersonator);
    }
    if consent_needed
        && !IMPERSONATION_SCOPES
            .iter()
            .all(|s| consented.iter().any(|c| c == s))
    {
        return Err(AdminRuleError::ImpersonationNeedsConsent);
    }
    Ok(())
}

/// Who may use the admin panel: holders of `super_admin` or of a role the configuration names.
pub fn holds_admin_role(roles: &[String], admin_panel_roles: &[String]) -> bool {
    roles
        .iter()
        .any(|r| r == SUPER_ADMIN || admin_panel_roles.contains(r))
}

/// Whether the admin acts with every power (`root`): only `super_admin` holders do; other panel
/// roles may not hand out privileged roles or the `root` scope.
pub fn admin_acts_as_root(roles: &[String]) -> bool {
    roles.iter().any(|r| r == SUPER_ADMIN)
}

/// The built-in role of full administrators.
pub const SUPER_ADMIN: &str = "super_admin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn super_admin_or_a_configured_role_opens_the_panel() {
        let roles = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert!(holds_admin_role(&roles(&["super_admin"]), &[]));
        assert!(holds_admin_role(&roles(&["support"]), &roles(&["support"])));
        assert!(!holds_admin_role(&roles(&["support"]), &[]));
        assert!(!holds_admin_role(&[], &roles(&["support"])));
        assert!(admin_acts_as_root(&roles(&["a", "super_admin"])));
        assert!(!admin_acts_as_root(&roles(&["support"])));
    }

    #[test]
    fn impersonation_needs_a_spa_an_allowed_role_and_consent() {
        let admins = vec!["super_admin".to_owned()];
        let nobody: Vec<String> = Vec::new();
        let consented = vec![
            "openid".to_owned(),
            "profile".to_owned(),
            "offline_access".to_owned(),
        ];
        assert_eq!(
            check_impersonation(&admins, &admins, true, true, &consented),
            Ok(())
        );
        assert_eq!(
            check_impersonation(&admins, &admins, false, true, &consented),
            Err(AdminRuleError::ImpersonationNeedsSpa)
        );
        let err = check_impersonation(&nobody, &admins, true, true, &consented).unwrap_err();
        assert_eq!(
            (err.class(), err.to_string().as_str()),
            (
                ErrorClass::Unauthenticated,
                "Only super admin can impersonate other users"
            )
        );
        let err = check_impersonation(&admins, &admins, true, true, &consented[..2]).unwrap_err();
        assert_eq!(err, AdminRuleError::ImpersonationNeedsConsent);
        assert_eq!(
            check_impersonation(&admins, &admins, true, false, &[]),
            Ok(())
        );
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("name", "  app ", 50).unwrap(), "app");
        assert!(bounded_text("name", "   ", 50).is_err());
        assert!(bounded_text("name", &"x".repeat(51), 50).is_err());
        assert!(bounded_text("name", &"é".repeat(50), 50).is_ok());
    }

    #[test]
    fn redirect_uris_keep_their_case_and_name_the_refused_one() {
        assert_eq!(
            redirect_uri(" https://App.example/CB ", false).unwrap(),
            "https://App.example/CB"
        );
        assert_eq!(
            redirect_uri("com.example.app:/cb", false).unwrap(),
            "com.example.app:/cb"
        );
        assert_eq!(
            redirect_uri("javascript:alert(1)", false)
                .unwrap_err()
                .to_string(),
            "Invalid redirect URI `javascript:alert(1)`: this scheme is never a redirect target; \
             use https, loopback http, or a private-use scheme with a dot such as com.example.app:/cb"
        );
        assert!(redirect_uri("http://app.example/cb", false).is_err());
        assert!(redirect_uri("http://app.example/cb", true).is_ok());
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            email_address(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert_eq!(
                email_address(bad),
                Err(AdminRuleError::InvalidEmail),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_root_touches_protected_roles_and_their_holders() {
        let names = |n: &[&str]| n.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        let (privileged, impersonation, panel) = (
            names(&["owner"]),
            names(&["impersonator"]),
            names(&["support"]),
        );
        let protected = ProtectedRoles::new(&privileged, &impersonation, &panel);
        let (editor, admin) = (names(&["editor"]), names(&["editor", "support"]));
        let support = names(&["support"]);
        let refused = |change| authorize_change(false, protected, change);
        for name in ["owner", "impersonator", "support", "super_admin"] {
            assert_eq!(
                refused(ManagementChange::CreateRole(name)),
                Err(AdminRuleError::PrivilegedRoleChangeNeedsRoot)
            );
            assert_eq!(
                refused(ManagementChange::DeleteRole(name)),
                Err(AdminRuleError::PrivilegedRoleChangeNeedsRoot)
            );
            for (from, to) in [("editor", name), (name, "editor")] {
                assert_eq!(
                    refused(ManagementChange::RenameRole { from, to }),
                    Err(AdminRuleError::PrivilegedRoleChangeNeedsRoot)
                );
            }
        }
        assert_eq!(refused(ManagementChange::CreateRole("editor")), Ok(()));
        assert_eq!(
            refused(ManagementChange::RenameRole {
                from: "editor",
                to: "writer"
            }),
            Ok(())
        );
        assert_eq!(
            refused(ManagementChange::SetUserRoles {
                held: &editor,
                wanted: &admin
            }),
            Err(AdminRuleError::PrivilegedRoleNeedsRoot)
        );
        assert_eq!(
            refused(ManagementChange::SetUserRoles {
                held: &admin,
                wanted: &editor
            }),
            Err(AdminRuleError::PrivilegedRoleRemovalNeedsRoot)
        );
        // Keeping a protected role while changing the others is no grant and no removal.
        assert_eq!(
            refused(ManagementChange::SetUserRoles {
                held: &admin,
                wanted: &support
            }),
            Ok(())
        );
        let err = refused(ManagementChange::ActOnUser {
            held: &admin,
            action: UserAction::Delete,
        })
        .unwrap_err();
        assert_eq!(
            (err.class(), err.to_string().as_str()),
            (
                ErrorClass::Invalid,
                "Only an app with the root scope can delete a user who holds a privileged role"
            )
        );
        assert_eq!(
            refused(ManagementChange::ActOnUser {
                held: &editor,
                action: UserAction::ChangeMfa
            }),
            Ok(())
        );
        for change in [
            ManagementChange::CreateRole("super_admin"),
            ManagementChange::RenameRole {
                from: "editor",
                to: "owner",
            },
            ManagementChange::SetUserRoles {
                held: &admin,
                wanted: &[],
            },
            ManagementChange::ActOnUser {
                held: &admin,
                action: UserAction::SetActive,
            },
        ] {
            assert_eq!(authorize_change(true, protected, change), Ok(()));
        }
    }

    #[test]
    fn only_root_assigns_root() {
        let root = vec!["root".to_string()];
        let writer = vec!["write_app".to_string()];
        let wants_root = vec!["read_user".to_string(), "root".to_string()];
        assert_eq!(
            may_assign_scopes(&writer, &wants_root),
            Err(AdminRuleError::RootScopeNeedsRoot)
        );
        assert_eq!(may_assign_scopes(&root, &wants_root), Ok(()));
        assert_eq!(
            may_assign_scopes(&writer, &["read_user".to_string()]),
            Ok(())
        );
    }
}
