//! Client authentication with HTTP Basic (RFC 6749 §2.3.1).

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::TokenError;

/// Client credentials as presented, before anything is looked up.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Parses an `Authorization: Basic …` header value. Both parts are form-urlencoded before being
/// base64-encoded (RFC 6749 §2.3.1), and both must be non-empty.
pub fn parse_basic_authorization(header: &str) -> Result<ClientCredentials, TokenError> {
    let malformed = TokenError::MalformedAuthorizationHeader;
    let (scheme, encoded) = header.trim().split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed.clone())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed.clone())?;
    let (id, secret) = decoded.split_once(':').ok_or(malformed.clone())?;
    let client_id = form_urldecode(id).ok_or(malformed.clone())?;
    let client_secret = form_urldecode(secret).ok_or(malformed.clone())?;
    if client_id.is_empty() || client_secret.is_empty() {
        return Err(malformed);
    }
    Ok(ClientCredentials {
        client_id,
        client_secret,
    })
}

/// Decodes `application/x-www-form-urlencoded` text; `None` on a broken escape or bad UTF-8.
fn form_urldecode(input: &str) -> Option<String> {
    if !input.contains(['%', '+']) {
        return Some(input.to_owned());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn parses_id_and_secret() {
        let creds = parse_basic_authorization(&basic("app:s3cret")).unwrap();
        assert_eq!(creds.client_id, "app");
        assert_eq!(creds.client_secret, "s3cret");
    }

    #[test]
    fn scheme_is_case_insensitive_and_parts_are_form_decoded() {
        let creds =
            parse_basic_authorization(&format!("bAsIc {}", STANDARD.encode("my%20app:a%3Ab+c")))
                .unwrap();
        assert_eq!(creds.client_id, "my app");
        assert_eq!(creds.client_secret, "a:b c");
    }

    #[test]
    fn secret_may_contain_colons() {
        let creds = parse_basic_authorization(&basic("app:a:b")).unwrap();
        assert_eq!(creds.client_secret, "a:b");
    }

    #[test]
    fn rejects_malformed_headers() {
        for header in [
            "",
            "Basic",
            "Bearer abc",
            "Basic !!!notbase64",
            &basic("no-colon"),
            &basic(":secret"),
            &basic("app:"),
            &basic("app:%zz"),
        ] {
            assert_eq!(
                parse_basic_authorization(header),
                Err(TokenError::MalformedAuthorizationHeader),
                "{header}"
            );
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let creds = parse_basic_authorization(&basic("app:hunter2")).unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
