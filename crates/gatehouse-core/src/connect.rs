//! The ePass connect flow (epass.md): app names, and what the "sauce" handed to the app says.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::ErrorClass;
use crate::ids::UserId;
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

/// An app has at most this many redirect patterns, each at most `MAX_PATTERN_LEN` long.
pub const MAX_PATTERNS: usize = 20;
pub const MAX_PATTERN_LEN: usize = 500;

/// The anchored form of a redirect pattern: it must match the whole URL.
pub fn anchored_pattern(pattern: &str) -> Result<regex::Regex, ConnectError> {
    if pattern.trim().is_empty() || pattern.len() > MAX_PATTERN_LEN {
        return Err(ConnectError::RedirectPatternLength {
            max: MAX_PATTERN_LEN,
        });
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ConnectError::BadRedirectPattern {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
}

/// An app's redirect patterns as given: not too many, each a regular expression.
pub fn check_redirect_patterns(patterns: &[String]) -> Result<(), ConnectError> {
    if patterns.len() > MAX_PATTERNS {
        return Err(ConnectError::TooManyRedirectPatterns { max: MAX_PATTERNS });
    }
    for pattern in patterns {
        anchored_pattern(pattern)?;
    }
    Ok(())
}

/// Whether `requested` (trimmed) may receive the sauce instead of the app's redirect URL: it
/// passes today's redirect-URL rules and one of the app's patterns matches it in full.
pub fn redirect_allowed(requested: &str, patterns: &[String], allow_http: bool) -> bool {
    check_redirect_url(requested, allow_http).is_ok()
        && patterns
            .iter()
            .any(|p| anchored_pattern(p).is_ok_and(|re| re.is_match(requested)))
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SauceClaims {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub issue_date: i64,
}

/// The sauce's claims for a user: `username` falls back to the email's local part,
/// `displayName` to first + last name, then to the username.
pub fn sauce_claims(
    user_id: UserId,
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

/// The sauce's AES-GCM nonce and tag sizes (epass.md).
pub const SAUCE_IV_LEN: usize = 12;
pub const SAUCE_TAG_LEN: usize = 16;

/// base64url that reads a sauce with or without padding, as the apps' decoders do.
const SAUCE_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The sauce's text: base64url(IV ‖ ciphertext ‖ tag), `sealed` being ciphertext ‖ tag.
pub fn encode_sauce(iv: &[u8; SAUCE_IV_LEN], sealed: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(SAUCE_IV_LEN + sealed.len());
    bytes.extend_from_slice(iv);
    bytes.extend_from_slice(sealed);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A sauce split into what AES-GCM opens, before any decryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SauceParts {
    pub iv: [u8; SAUCE_IV_LEN],
    pub ciphertext: Vec<u8>,
    pub tag: [u8; SAUCE_TAG_LEN],
}

/// Splits a sauce as an app's back end reads it; `None` when it is not base64url or too short
/// to hold an IV and a tag.
pub fn decode_sauce(sauce: &str) -> Option<SauceParts> {
    let bytes = SAUCE_BASE64.decode(sauce).ok()?;
    if bytes.len() < SAUCE_IV_LEN + SAUCE_TAG_LEN {
        return None;
    }
    let (iv, rest) = bytes.split_at(SAUCE_IV_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - SAUCE_TAG_LEN);
    Some(SauceParts {
        iv: iv.try_into().ok()?,
        ciphertext: ciphertext.to_vec(),
        tag: tag.try_into().ok()?,
    })
}

/// The claims of an opened sauce's plaintext.
pub fn read_sauce_claims(plaintext: &[u8]) -> Option<SauceClaims> {
    serde_json::from_slice(plaintext).ok()
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
        let claims = sauce_claims(
            UserId::new(7),
            "ada@example.com",
            Some("Ada"),
            None,
            1_721_441_086,
        );
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"userId": 7, "username": "ada", "displayName": "Ada", "email": "ada@example.com", "issueDate": 1_721_441_086})
        );
        assert_eq!(
            sauce_claims(UserId::new(1), "bo@x.y", None, None, 0).display_name,
            "bo"
        );
    }

    #[test]
    fn sauces_split_back_into_iv_ciphertext_and_tag() {
        let iv = [7u8; SAUCE_IV_LEN];
        let sealed: Vec<u8> = (0..40).collect();
        let sauce = encode_sauce(&iv, &sealed);
        assert!(!sauce.contains(['=', '+', '/']));
        let parts = decode_sauce(&sauce).unwrap();
        assert_eq!(parts.iv, iv);
        assert_eq!(parts.ciphertext, sealed[..24]);
        assert_eq!(parts.tag[..], sealed[24..]);
        let padded = format!("{sauce}{}", "=".repeat((4 - sauce.len() % 4) % 4));
        assert_eq!(decode_sauce(&padded), Some(parts));
        assert_eq!(decode_sauce(&encode_sauce(&iv, &[0; 15])), None);
        assert_eq!(decode_sauce("not base64!"), None);
        let claims = sauce_claims(UserId::new(7), "ada@example.com", Some("Ada"), None, 1);
        let json = serde_json::to_vec(&claims).unwrap();
        assert_eq!(read_sauce_claims(&json), Some(claims));
    }

    #[test]
    fn redirect_patterns_match_whole_web_urls() {
        let patterns = vec![r"https://shop\.example/[a-z]+".to_owned()];
        assert!(check_redirect_patterns(&patterns).is_ok());
        assert!(redirect_allowed(
            "https://shop.example/cart",
            &patterns,
            false
        ));
        assert!(!redirect_allowed(
            "https://shop.example/cart?x",
            &patterns,
            false
        ));
        assert!(!redirect_allowed(
            "https://evil.example/https://shop.example/a",
            &patterns,
            false
        ));
        let open = vec![".*".to_owned()];
        assert!(!redirect_allowed("javascript:alert(1)", &open, true));
        assert!(matches!(
            check_redirect_patterns(&["(".to_owned()]),
            Err(ConnectError::BadRedirectPattern { .. })
        ));
        assert!(check_redirect_patterns(&vec![".".to_owned(); MAX_PATTERNS + 1]).is_err());
        assert!(check_redirect_patterns(&[" ".to_owned()]).is_err());
    }
}
