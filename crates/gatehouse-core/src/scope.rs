//! Scope names and sets: parsing a requested `scope` string and granting what an app holds.

/// The scopes every installation has; they cannot be changed or deleted through the API.
pub const BUILT_IN_SCOPES: [&str; 21] = [
    "openid",
    "profile",
    "offline_access",
    "email",
    "phone",
    "address",
    "root",
    "read_user",
    "write_user",
    "read_app",
    "write_app",
    "read_role",
    "write_role",
    "read_scope",
    "write_scope",
    "read_org",
    "write_org",
    // SCIM 2.0 provisioning at /scim/v2.
    "read_scim",
    "write_scim",
    // Webhook endpoints and their delivery logs at /api/v1/webhooks.
    "read_webhooks",
    "write_webhooks",
];

/// Which kind of app a scope is meant for (`spa` scopes are user-facing, `s2s` scopes are API
/// permissions).
pub fn built_in_scope_type(name: &str) -> &'static str {
    match name {
        "openid" | "profile" | "offline_access" | "email" | "phone" | "address" => "spa",
        _ => "s2s",
    }
}

pub const ROOT_SCOPE: &str = "root";

/// Splits a space-separated `scope` parameter into trimmed, lower-cased, de-duplicated names,
/// keeping the order of first appearance.
pub fn parse_scope_list(raw: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for name in raw.split_ascii_whitespace() {
        let name = name.to_ascii_lowercase();
        if !scopes.contains(&name) {
            scopes.push(name);
        }
    }
    scopes
}

/// The requested scopes the app actually holds, in the order requested. Scopes the app lacks are
/// dropped silently (RFC 6749 §3.3 lets the server narrow the request).
pub fn grant_scopes(requested: &[String], app_scopes: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|s| app_scopes.iter().any(|a| a == *s))
        .cloned()
        .collect()
}

/// The scopes a client that describes itself (registration, a metadata document) gets: those
/// of `allowed` it asks for, in its order, or all of them when it asks for none.
pub fn offered_scopes(asked: Option<&str>, allowed: &[String]) -> Vec<String> {
    match asked.filter(|a| !a.trim().is_empty()) {
        None => allowed.to_vec(),
        Some(asked) => asked
            .split_ascii_whitespace()
            .filter(|s| allowed.iter().any(|a| a == s))
            .map(str::to_owned)
            .collect(),
    }
}

/// Whether a caller's scopes satisfy a guard: the named scope, or `root`.
pub fn satisfies(held: &[String], required: &str) -> bool {
    held.iter().any(|s| s == required || s == ROOT_SCOPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_described_client_gets_the_allowed_scopes_it_asks_for() {
        let allowed = vec!["openid".to_owned(), "profile".to_owned()];
        assert_eq!(offered_scopes(None, &allowed), allowed);
        assert_eq!(offered_scopes(Some("  "), &allowed), allowed);
        assert_eq!(
            offered_scopes(Some("profile root openid"), &allowed),
            ["profile", "openid"]
        );
        assert!(offered_scopes(Some("root"), &allowed).is_empty());
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_trims_lowercases_and_dedupes() {
        assert_eq!(
            parse_scope_list("  Read_User\twrite_user read_user  "),
            strings(&["read_user", "write_user"])
        );
        assert!(parse_scope_list("   ").is_empty());
    }

    #[test]
    fn grant_keeps_only_held_scopes_in_request_order() {
        let granted = grant_scopes(
            &strings(&["write_app", "unknown", "read_user"]),
            &strings(&["read_user", "write_app"]),
        );
        assert_eq!(granted, strings(&["write_app", "read_user"]));
    }

    #[test]
    fn root_satisfies_every_guard() {
        assert!(satisfies(&strings(&["root"]), "read_user"));
        assert!(satisfies(&strings(&["read_user"]), "read_user"));
        assert!(!satisfies(&strings(&["read_app"]), "read_user"));
    }
}
