//! Resource indicators (RFC 8707): a client names the API (resource server) it wants a token
//! for, and gets an access token in the JWT profile of RFC 9068 whose audience is that API only.

use serde::{Deserialize, Serialize};

use crate::error::ErrorClass;

/// The longest resource identifier accepted.
pub const MAX_IDENTIFIER_LEN: usize = 2048;

/// Why a `resource` was refused: each is `invalid_target` (RFC 8707 §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("resource must be an absolute URI without a fragment (at most 2048 characters)")]
    Malformed,
    #[error("The resource is not an API this server issues tokens for")]
    Unknown,
    #[error("The resource is not the one this grant was issued for")]
    NotGranted,
    #[error("This app may not exchange tokens for this API")]
    ExchangeNotAllowed,
}

impl ResourceError {
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Invalid
    }
}

/// An absolute URI (a scheme, then `:` and more) without a fragment, whitespace or control
/// characters (RFC 8707 §2). Used for registered identifiers and for requests alike.
pub fn check_identifier(uri: &str) -> Result<(), ResourceError> {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(ResourceError::Malformed);
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let rest_ok = !rest.is_empty()
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control());
    if uri.len() > MAX_IDENTIFIER_LEN || !scheme_ok || !rest_ok {
        return Err(ResourceError::Malformed);
    }
    Ok(())
}

/// The resource a token request may name, given the one its grant (code or refresh token) was
/// issued for: none (the grant's), or the same one.
pub fn check_token_resource(
    requested: Option<&str>,
    granted: Option<&str>,
) -> Result<(), ResourceError> {
    match requested.filter(|r| !r.is_empty()) {
        None => Ok(()),
        Some(r) if Some(r) == granted => Ok(()),
        Some(r) => {
            check_identifier(r)?;
            Err(ResourceError::NotGranted)
        }
    }
}

/// An access token for a resource server: the JWT profile of RFC 9068 (`typ: at+jwt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccessTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The resource server's identifier, and nothing else: the token is good there only.
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub auth_time: i64,
    /// The level the sign-in reached and how (RFC 9068 §2.2.1), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Who acts for the user, when the token came from a token exchange (RFC 8693 §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<crate::grant::token_exchange::Actor>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::jwt::Confirmation>,
}

/// The JWT `typ` of RFC 9068 access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_absolute_uris_without_fragments() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com/orders?v=2",
            "urn:example:orders",
            "http://localhost:8080/",
        ] {
            assert_eq!(check_identifier(ok), Ok(()), "{ok}");
        }
        let long = format!("https://api.example.com/{}", "a".repeat(2048));
        for bad in [
            "",
            "api.example.com",
            "/orders",
            "https://api.example.com/#part",
            "https://api.example.com/a b",
            "1https://x",
            "https:",
            long.as_str(),
        ] {
            assert_eq!(
                check_identifier(bad),
                Err(ResourceError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_token_request_names_the_granted_resource_or_none() {
        let granted = Some("https://api.example.com");
        assert_eq!(check_token_resource(None, granted), Ok(()));
        assert_eq!(check_token_resource(Some(""), None), Ok(()));
        assert_eq!(
            check_token_resource(Some("https://api.example.com"), granted),
            Ok(())
        );
        assert_eq!(
            check_token_resource(Some("https://other.example.com"), granted),
            Err(ResourceError::NotGranted)
        );
        assert_eq!(
            check_token_resource(Some("https://api.example.com"), None),
            Err(ResourceError::NotGranted)
        );
        assert_eq!(
            check_token_resource(Some("not a uri"), granted),
            Err(ResourceError::Malformed)
        );
    }
}
