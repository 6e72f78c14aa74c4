//! Webhook events: the types endpoints subscribe to. Each is raised by the change it tells, in
//! that change's transaction (see the store's `changes`).

/// A user was created by an admin, an app, SCIM, an invitation or an import.
pub const USER_CREATED: &str = "user.created";
/// A user created their own account (sign-up, social or passwordless).
pub const USER_SIGNED_UP: &str = "user.signed_up";
pub const USER_SIGNED_IN: &str = "user.signed_in";
pub const USER_SIGN_IN_FAILED: &str = "user.sign_in_failed";
pub const USER_LOCKED: &str = "user.locked";
pub const USER_EMAIL_VERIFIED: &str = "user.email_verified";
pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
pub const USER_PASSWORD_RESET: &str = "user.password_reset";
pub const USER_MFA_ENROLLED: &str = "user.mfa_enrolled";
pub const USER_MFA_RESET: &str = "user.mfa_reset";
pub const USER_PASSKEY_ADDED: &str = "user.passkey_added";
pub const USER_PASSKEY_REMOVED: &str = "user.passkey_removed";
pub const USER_UPDATED: &str = "user.updated";
pub const USER_DISABLED: &str = "user.disabled";
pub const USER_ENABLED: &str = "user.enabled";
pub const USER_DELETED: &str = "user.deleted";
pub const USER_ROLE_ASSIGNED: &str = "user.role_assigned";
pub const USER_ROLE_REMOVED: &str = "user.role_removed";
pub const APP_CREATED: &str = "app.created";
pub const APP_UPDATED: &str = "app.updated";
pub const APP_DELETED: &str = "app.deleted";
pub const ORG_CREATED: &str = "org.created";
pub const ORG_UPDATED: &str = "org.updated";
pub const ORG_DELETED: &str = "org.deleted";
pub const ORG_MEMBER_ADDED: &str = "org.member_added";
pub const ORG_MEMBER_REMOVED: &str = "org.member_removed";

/// Every event type, in the order the panel lists them.
pub const EVENT_TYPES: [&str; 26] = [
    USER_CREATED,
    USER_SIGNED_UP,
    USER_SIGNED_IN,
    USER_SIGN_IN_FAILED,
    USER_LOCKED,
    USER_EMAIL_VERIFIED,
    USER_PASSWORD_CHANGED,
    USER_PASSWORD_RESET,
    USER_MFA_ENROLLED,
    USER_MFA_RESET,
    USER_PASSKEY_ADDED,
    USER_PASSKEY_REMOVED,
    USER_UPDATED,
    USER_DISABLED,
    USER_ENABLED,
    USER_DELETED,
    USER_ROLE_ASSIGNED,
    USER_ROLE_REMOVED,
    APP_CREATED,
    APP_UPDATED,
    APP_DELETED,
    ORG_CREATED,
    ORG_UPDATED,
    ORG_DELETED,
    ORG_MEMBER_ADDED,
    ORG_MEMBER_REMOVED,
];

/// The known event type `name` (as a `'static` name), if it is one.
pub fn event_type(name: &str) -> Option<&'static str> {
    EVENT_TYPES.iter().copied().find(|t| *t == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_distinct_and_found_by_name() {
        let mut sorted = EVENT_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EVENT_TYPES.len());
        assert_eq!(event_type("user.created"), Some(USER_CREATED));
        assert_eq!(event_type("user.nothing"), None);
    }
}
