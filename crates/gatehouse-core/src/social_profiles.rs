//! Who an outside provider says the person is, read from its answers: an OpenID Connect ID
//! token, or the user APIs of GitHub and Discord.

use serde::Deserialize;

use crate::federation::IdTokenClaims;

/// A provider's identity of a person, as the user row keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ExternalProfile {
    /// The provider's stable id (`socialAccountId`).
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider vouches for the email.
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Why a user API's answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the provider's user record could not be read")]
    Unreadable,
    #[error("the provider's user record has no id")]
    NoId,
}

impl From<&IdTokenClaims> for ExternalProfile {
    fn from(c: &IdTokenClaims) -> Self {
        Self {
            subject: c.sub.clone(),
            email: c.email.clone(),
            email_verified: c.email_verified,
            first_name: c.given_name.clone(),
            last_name: c.family_name.clone(),
        }
    }
}

/// `id` is a number at GitHub and a string (a snowflake) at Discord.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Number(u64),
    Text(String),
}

impl Id {
    fn into_subject(self) -> Result<String, ProfileError> {
        let id = match self {
            Id::Number(n) => n.to_string(),
            Id::Text(t) => t,
        };
        if id.is_empty() || id.len() > 255 {
            return Err(ProfileError::NoId);
        }
        Ok(id)
    }
}

#[derive(Deserialize)]
struct GitHubUser {
    id: Id,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

/// Splits a display name at its last space: "Grace Brewster Hopper" → ("Grace Brewster", "Hopper").
fn split_name(name: Option<String>) -> (Option<String>, Option<String>) {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    match name {
        Some(n) => match n.rsplit_once(' ') {
            Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
            None => (Some(n), None),
        },
        None => (None, None),
    }
}

/// GitHub's `GET /user` and `GET /user/emails` (the primary address, and whether GitHub
/// verified it).
pub fn github_profile(user: &[u8], emails: &[u8]) -> Result<ExternalProfile, ProfileError> {
    let user: GitHubUser = serde_json::from_slice(user).map_err(|_| ProfileError::Unreadable)?;
    let emails: Vec<GitHubEmail> = serde_json::from_slice(emails).unwrap_or_default();
    let primary = emails.into_iter().find(|e| e.primary);
    let (first_name, last_name) = split_name(user.name);
    Ok(ExternalProfile {
        subject: user.id.into_subject()?,
        email_verified: primary.as_ref().is_some_and(|e| e.verified),
        email: primary.map(|e| e.email),
        first_name,
        last_name,
    })
}

#[derive(Deserialize)]
struct DiscordUser {
    id: Id,
    email: Option<String>,
    #[serde(default)]
    verified: bool,
    global_name: Option<String>,
}

/// Discord's `GET /users/@me` (email and `verified` with the `email` scope).
pub fn discord_profile(user: &[u8]) -> Result<ExternalProfile, ProfileError> {
    let user: DiscordUser = serde_json::from_slice(user).map_err(|_| ProfileError::Unreadable)?;
    let (first_name, last_name) = split_name(user.global_name);
    Ok(ExternalProfile {
        subject: user.id.into_subject()?,
        email_verified: user.email.is_some() && user.verified,
        email: user.email,
        first_name,
        last_name,
    })
}

#[derive(Deserialize)]
struct DebugTokenAnswer {
    data: DebugToken,
}

#[derive(Deserialize)]
struct DebugToken {
    #[serde(default)]
    is_valid: bool,
    app_id: Option<Id>,
    user_id: Option<Id>,
}

/// Why Facebook's `debug_token` answer does not vouch for a user token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FacebookTokenError {
    #[error("Facebook says the access token is not valid")]
    Invalid,
    #[error("the access token was issued to another Facebook app")]
    OtherApp,
}

/// Facebook's `GET /debug_token`: the token must be valid and issued to `app_id`; returns the
/// user id it names.
pub fn facebook_token_user(answer: &[u8], app_id: &str) -> Result<String, FacebookTokenError> {
    let answer: DebugTokenAnswer =
        serde_json::from_slice(answer).map_err(|_| FacebookTokenError::Invalid)?;
    let token = answer.data;
    if !token.is_valid {
        return Err(FacebookTokenError::Invalid);
    }
    let issued_to = token.app_id.and_then(|id| id.into_subject().ok());
    if issued_to.as_deref() != Some(app_id) {
        return Err(FacebookTokenError::OtherApp);
    }
    token
        .user_id
        .and_then(|id| id.into_subject().ok())
        .ok_or(FacebookTokenError::Invalid)
}

#[derive(Deserialize)]
struct FacebookUser {
    id: Id,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// Facebook's `GET /me?fields=id,email,first_name,last_name`. Facebook returns only confirmed
/// addresses, so a given email counts as verified.
pub fn facebook_profile(user: &[u8]) -> Result<ExternalProfile, ProfileError> {
    let user: FacebookUser = serde_json::from_slice(user).map_err(|_| ProfileError::Unreadable)?;
    Ok(ExternalProfile {
        subject: user.id.into_subject()?,
        email_verified: user.email.is_some(),
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
    })
}

/// The longest name kept from Apple's `user` form field (the user columns' limit).
const APPLE_NAME_MAX: usize = 50;

#[derive(Deserialize)]
struct AppleUser {
    name: Option<AppleName>,
}

#[derive(Deserialize)]
struct AppleName {
    #[serde(default, rename = "firstName")]
    first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    last_name: Option<String>,
}

fn apple_name_part(part: Option<String>) -> Option<String> {
    let part = part?;
    let part = part.trim();
    (!part.is_empty()).then(|| part.chars().take(APPLE_NAME_MAX).collect())
}

/// The names in the `user` field Apple posts with the first authorization only
/// (`{"name":{"firstName":…,"lastName":…},"email":…}`), each at most 50 characters. Its email is
/// not read: the ID token is the authority for who signed in. Unreadable JSON gives no names.
pub fn apple_user_names(user: &str) -> (Option<String>, Option<String>) {
    match serde_json::from_str::<AppleUser>(user) {
        Ok(AppleUser { name: Some(name) }) => (
            apple_name_part(name.first_name),
            apple_name_part(name.last_name),
        ),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apples_first_authorization_names_are_read_bounded_and_malformed_ones_ignored() {
        let user = r#"{"name":{"firstName":" Grace ","lastName":"Hopper"},"email":"x@privaterelay.appleid.com"}"#;
        assert_eq!(
            apple_user_names(user),
            (Some("Grace".into()), Some("Hopper".into()))
        );
        let long = format!(r#"{{"name":{{"firstName":"{}"}}}}"#, "é".repeat(80));
        let (first, last) = apple_user_names(&long);
        assert_eq!(first.map(|f| f.chars().count()), Some(50));
        assert_eq!(last, None);
        for malformed in [
            "",
            "{",
            "null",
            r#"{"name":"Grace"}"#,
            r#"{"name":{"firstName":7}}"#,
        ] {
            assert_eq!(apple_user_names(malformed), (None, None), "{malformed}");
        }
        assert_eq!(
            apple_user_names(r#"{"email":"x@example.com"}"#),
            (None, None)
        );
    }

    #[test]
    fn github_gives_the_primary_email_and_its_verification() {
        let user = br#"{"id": 583231, "login": "octocat", "name": "The Octocat"}"#;
        let emails = br#"[{"email": "old@example.com", "primary": false, "verified": true},
                          {"email": "octo@example.com", "primary": true, "verified": false}]"#;
        let p = github_profile(user, emails).unwrap();
        assert_eq!(p.subject, "583231");
        assert_eq!(p.email.as_deref(), Some("octo@example.com"));
        assert!(!p.email_verified);
        assert_eq!(
            (p.first_name.as_deref(), p.last_name.as_deref()),
            (Some("The"), Some("Octocat"))
        );
        assert_eq!(
            github_profile(br#"{"login": "x"}"#, b"[]"),
            Err(ProfileError::Unreadable)
        );
    }

    #[test]
    fn facebook_tokens_must_be_valid_and_ours() {
        let ok =
            br#"{"data": {"app_id": "138483919580948", "is_valid": true, "user_id": "10215"}}"#;
        assert_eq!(
            facebook_token_user(ok, "138483919580948"),
            Ok("10215".into())
        );
        assert_eq!(
            facebook_token_user(ok, "999"),
            Err(FacebookTokenError::OtherApp)
        );
        let invalid =
            br#"{"data": {"app_id": "138483919580948", "is_valid": false, "user_id": "10215"}}"#;
        assert_eq!(
            facebook_token_user(invalid, "138483919580948"),
            Err(FacebookTokenError::Invalid)
        );
    }

    #[test]
    fn discord_ids_are_strings_and_email_needs_verification() {
        let p = discord_profile(br#"{"id": "80351110224678912", "email": "n@example.com", "verified": true, "global_name": "Nelly"}"#).unwrap();
        assert_eq!(p.subject, "80351110224678912");
        assert!(p.email_verified);
        assert_eq!(p.first_name.as_deref(), Some("Nelly"));
        let p = discord_profile(br#"{"id": "1", "email": "n@example.com", "verified": false}"#)
            .unwrap();
        assert!(!p.email_verified);
        assert_eq!(discord_profile(br#"{"id": ""}"#), Err(ProfileError::NoId));
    }
}
