//! The ePass connect flow (epass.md): app names, and what the "sauce" handed to the app says.

use serde::Serialize;

use crate::error::ErrorClass;
use crate::web_url::WebUrl;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("The app name must be kebab-case letters and digits (such as `my-app`), at most 50 characters")]
    BadName,
    #[error("The app name `i` is reserved")]
    ReservedName,
    #[error("The redirect URL must be an absolute https URL (http only for localhost, unless the server sets allow_http_redirect_uris) without a fragment or credentials")]
    BadRedirectUrl,
    #[error("Redirect pattern `{pattern}` is not a regular expression: {reason}")]
    BadRedirectPattern { pattern: String, reason: String },
    #[error("Each redirect pattern must have between 1 and {max} characters")]
    RedirectPatternLength { max: usize },
    #[error("An app has at most {max} redirect patterns")]
    TooManyRedirectPatterns { max: usize },
    #[error("The logo URL must be an absolute http(s) URL without a fragment")]
    BadLogoUrl,
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
}

impl ConnectError {
    /// Every refused setting is the request's fault.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Invalid
    }
}

/// A redirect URL an app may receive the sauce at: `https:`, or `http:` to a loopback host (any
/// host when `allow_http`), no fragment, no credentials, nothing a browser would re-interpret.
pub fn check_redirect_url(url: &str, allow_http: bool) -> Result<(), ConnectError> {
    let ok = !url.contains('#') && WebUrl::parse(url).is_some_and(|u| u.is_web_url(allow_http));
    if ok {
        Ok(())
    } else {
        Err(ConnectError::BadRedirectUrl)
    }
}

/// An optional display text: trimmed, empty means none, at most `max` characters.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ConnectError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() > max => Err(ConnectError::TooLong { field, max }),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// A connect app's name: kebab-case, at most 50 characters, never `i` (the user's own page).
pub fn check_app_name(name: &str) -> Result<(), ConnectError> {
    if name == "i" {
        return Err(ConnectError::ReservedName);
    }
    let ok = !name.is_empty()
        && name.len() <= 50
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(ConnectError::BadName)
    }
}

/// The user info sealed into the sauce, field names exactly as epass.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SauceClaims {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub issue_date: i64,
}

/// The sauce's claims for a user: `username` falls back to the email's local part,
/// `displayName` to first + last name, then to the username.
pub fn sauce_claims(
    user_id: i64,
    email: &str,
    first_name: Option<&str>,
    last_name: Option<&str>,
    now: i64,
) -> SauceClaims {
    let username = email.split('@').next().unwrap_or_default().to_owned();
    let names: Vec<&str> = [first_name, last_name]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let display_name = if names.is_empty() {
        username.clone()
    } else {
        names.join(" ")
    };
    SauceClaims {
        user_id,
        username,
        display_name,
        email: email.to_owned(),
        issue_date: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_claims() {
        assert!(check_app_name("my-app2").is_ok());
        assert!(check_redirect_url("https://shop.example/cb?x=1", false).is_ok());
        assert!(check_redirect_url("http://127.0.0.1:9/cb", false).is_ok());
        assert!(check_redirect_url("http://shop.example/cb", true).is_ok());
        for bad in [
            "shop.example/cb",
            "https://",
            "https://a.example/#frag",
            "javascript:alert(1)",
            "https://a.example/\\x",
            "http://shop.example/cb",
            "https://u:p@shop.example/cb",
        ] {
            assert_eq!(
                check_redirect_url(bad, false),
                Err(ConnectError::BadRedirectUrl),
                "{bad}"
            );
        }
        assert_eq!(optional_text("displayName", Some("  "), 5), Ok(None));
        assert_eq!(
            optional_text("displayName", Some(" Shop "), 5),
            Ok(Some("Shop".into()))
        );
        assert!(optional_text("displayName", Some("123456"), 5).is_err());
        assert_eq!(check_app_name("i"), Err(ConnectError::ReservedName));
        for bad in ["My-App", "-a", "a--b", "a_b", "", "a-"] {
            assert_eq!(check_app_name(bad), Err(ConnectError::BadName), "{bad}");
        }
        let claims = sauce_claims(7, "ada@example.com", Some("Ada"), None, 1_721_441_086);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"userId": 7, "username": "ada", "displayName": "Ada", "email": "ada@example.com", "issueDate": 1_721_441_086})
        );
        assert_eq!(sauce_claims(1, "bo@x.y", None, None, 0).display_name, "bo");
    }
}
