//! The ePass connect flow (epass.md): app names, and what the "sauce" handed to the app says.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("The app name must be kebab-case letters and digits (such as `my-app`), at most 50 characters")]
    BadName,
    #[error("The app name `i` is reserved")]
    ReservedName,
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
