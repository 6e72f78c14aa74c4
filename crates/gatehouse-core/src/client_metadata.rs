//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document): a `client_id`
//! that is an https URL names a JSON document, published by the client at that URL, that
//! describes it. The rules for the URL, the hosts the server accepts, and the document.

use serde_json::Value;

use crate::web_url::WebUrl;

/// The largest document read (the draft's recommended limit).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientMetadataError {
    #[error("the client id is not an https URL with a path, without query, fragment, credentials or dot segments")]
    NotAClientUrl,
    #[error("the client id's host is not one this server accepts client metadata documents from")]
    HostNotAllowed,
    #[error("the document's client_id is not the URL it was read from")]
    ClientIdMismatch,
    #[error("the document has no redirect_uris")]
    NoRedirectUris,
    #[error("the document holds a client secret or asks for a secret-based authentication method")]
    SharedSecret,
    #[error("token_endpoint_auth_method must be none or private_key_jwt")]
    AuthMethod,
    #[error("private_key_jwt needs jwks or jwks_uri in the document")]
    NoKeys,
    #[error("grant_types may only name authorization_code and refresh_token")]
    GrantType,
    #[error("the document is not a JSON object of the client's metadata: {0}")]
    Malformed(&'static str),
}

/// Whether `client_id` is meant as a metadata-document URL at all (else an ordinary id).
pub fn is_client_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// The URL a client id names, checked: `https:` (`http:` only where `allow_http`), a host and a
/// path other than `/`, no query, fragment, credentials, or `.`/`..` segments. Returns the host.
pub fn client_url_host(client_id: &str, allow_http: bool) -> Result<String, ClientMetadataError> {
    let url = WebUrl::parse(client_id).ok_or(ClientMetadataError::NotAClientUrl)?;
    let scheme_ok = url.scheme == "https" || (allow_http && url.scheme == "http");
    let path = url.rest;
    let plain_path = path.len() > 1
        && path.starts_with('/')
        && !path.contains(['?', '#'])
        && !path.split('/').any(|s| s == "." || s == "..");
    if !scheme_ok || url.has_credentials || url.host.is_empty() || !plain_path {
        return Err(ClientMetadataError::NotAClientUrl);
    }
    Ok(url.host)
}

/// Whether documents are read from `host`: a pattern is the host itself, `*.domain` (any name
/// under it) or `*` (any host; the fetch still refuses inside addresses).
pub fn host_allowed(host: &str, patterns: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            _ if pattern == "*" => true,
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            None => host == pattern,
        }
    })
}

/// What a document says of its client, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientDocument {
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    /// Authenticates with `private_key_jwt` (else a public client).
    pub private_key_jwt: bool,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub scope: Option<String>,
}

/// Reads the document fetched from `client_id`: it must name that same URL, list redirect URIs,
/// and be a public client or one authenticating with its keys, never with a shared secret
/// (anyone can read the document).
pub fn read_document(
    client_id: &str,
    document: &Value,
) -> Result<ClientDocument, ClientMetadataError> {
    use ClientMetadataError as E;
    let object = document.as_object().ok_or(E::Malformed("not an object"))?;
    let text = |name: &'static str| -> Result<Option<String>, ClientMetadataError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(E::Malformed(name)),
        }
    };
    if text("client_id")?.as_deref() != Some(client_id) {
        return Err(E::ClientIdMismatch);
    }
    if object.contains_key("client_secret") || object.contains_key("client_secret_expires_at") {
        return Err(E::SharedSecret);
    }
    let private_key_jwt = match text("token_endpoint_auth_method")?.as_deref() {
        None | Some("none") => false,
        Some("private_key_jwt") => true,
        Some("client_secret_basic" | "client_secret_post" | "client_secret_jwt") => {
            return Err(E::SharedSecret)
        }
        Some(_) => return Err(E::AuthMethod),
    };
    let redirect_uris: Vec<String> = match object.get("redirect_uris") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(E::Malformed("redirect_uris"))
            })
            .collect::<Result<_, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(E::Malformed("redirect_uris")),
    };
    if redirect_uris.is_empty() {
        return Err(E::NoRedirectUris);
    }
    if let Some(grants) = object.get("grant_types") {
        let grants = grants.as_array().ok_or(E::Malformed("grant_types"))?;
        let allowed =
            |g: &Value| matches!(g.as_str(), Some("authorization_code" | "refresh_token"));
        if !grants.iter().all(allowed) {
            return Err(E::GrantType);
        }
    }
    let jwks = object.get("jwks").filter(|v| !v.is_null()).cloned();
    let jwks_uri = text("jwks_uri")?;
    if private_key_jwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(E::NoKeys);
    }
    Ok(ClientDocument {
        client_name: text("client_name")?,
        redirect_uris,
        private_key_jwt,
        jwks,
        jwks_uri,
        scope: text("scope")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "https://agent.example/oauth/client.json";

    #[test]
    fn a_client_url_is_https_with_a_plain_path() {
        assert_eq!(client_url_host(ID, false).unwrap(), "agent.example");
        for bad in [
            "http://agent.example/client.json",
            "https://agent.example",
            "https://agent.example/",
            "https://agent.example/a?x=1",
            "https://agent.example/a#x",
            "https://u:p@agent.example/a",
            "https://agent.example/a/../b",
            "https://agent.example/./b",
            "not a url",
        ] {
            assert_eq!(
                client_url_host(bad, false),
                Err(ClientMetadataError::NotAClientUrl),
                "{bad}"
            );
        }
        assert!(client_url_host("http://127.0.0.1:9/client.json", true).is_ok());
    }

    #[test]
    fn hosts_are_matched_exactly_or_below_a_wildcard() {
        let patterns = vec!["agent.example".to_owned(), "*.tools.example".to_owned()];
        assert!(host_allowed("agent.example", &patterns));
        assert!(host_allowed("AGENT.example", &patterns));
        assert!(host_allowed("a.tools.example", &patterns));
        assert!(!host_allowed("tools.example", &patterns));
        assert!(!host_allowed("eviltools.example", &patterns));
        assert!(!host_allowed("agent.example.evil", &patterns));
        assert!(!host_allowed("agent.example", &[]));
        assert!(host_allowed("anything.example", &["*".to_owned()]));
    }

    #[test]
    fn a_document_must_name_itself_and_hold_no_secret() {
        let good = json!({"client_id": ID, "client_name": "Agent", "redirect_uris": ["https://agent.example/cb"]});
        let read = read_document(ID, &good).unwrap();
        assert!(!read.private_key_jwt);
        assert_eq!(read.client_name.as_deref(), Some("Agent"));
        let cases = [
            (
                json!({"client_id": "https://other.example/c.json", "redirect_uris": ["https://a/cb"]}),
                ClientMetadataError::ClientIdMismatch,
            ),
            (
                json!({"client_id": ID}),
                ClientMetadataError::NoRedirectUris,
            ),
            (
                json!({"client_id": ID, "redirect_uris": [], }),
                ClientMetadataError::NoRedirectUris,
            ),
            (
                json!({"client_id": ID, "redirect_uris": ["https://a/cb"], "client_secret": "s"}),
                ClientMetadataError::SharedSecret,
            ),
            (
                json!({"client_id": ID, "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
                ClientMetadataError::SharedSecret,
            ),
            (
                json!({"client_id": ID, "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "tls_client_auth"}),
                ClientMetadataError::AuthMethod,
            ),
            (
                json!({"client_id": ID, "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                ClientMetadataError::NoKeys,
            ),
            (
                json!({"client_id": ID, "redirect_uris": ["https://a/cb"], "grant_types": ["client_credentials"]}),
                ClientMetadataError::GrantType,
            ),
            (
                json!({"client_id": ID, "redirect_uris": "https://a/cb"}),
                ClientMetadataError::Malformed("redirect_uris"),
            ),
            (
                json!(["not", "an", "object"]),
                ClientMetadataError::Malformed("not an object"),
            ),
        ];
        for (document, expected) in cases {
            assert_eq!(read_document(ID, &document), Err(expected), "{document}");
        }
        let keyed = json!({"client_id": ID, "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://agent.example/jwks"});
        assert!(read_document(ID, &keyed).unwrap().private_key_jwt);
    }
}
