//! SAML 2.0 Web Browser SSO as a service provider (melody.md §7): the IdP's metadata read, the
//! AuthnRequest built for the HTTP-Redirect binding, and the IdP's Response read and checked.
//!
//! The XML signature is verified by the server (`crypto::xmldsig`); what is read here is always
//! the one Assertion that signature covers, from the same parsed tree.

mod checks;
mod metadata;
mod request;
mod response;

pub use checks::{check_response, replay_ttl, Expected, CLOCK_SKEW_SECONDS};
pub use metadata::{parse_idp_metadata, sp_metadata_xml, IdpMetadata, MetadataError};
pub use request::{authn_request_xml, redirect_url, AuthnRequest};
pub use response::{
    decode_post_binding, read_response, AssertionData, Attribute, BearerConfirmation, ResponseData,
    SamlError,
};

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Where this server is, as a SAML service provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    /// The SP's entity ID: the metadata URL.
    pub entity_id: String,
    /// The Assertion Consumer Service (HTTP-POST).
    pub acs_url: String,
}

impl ServiceProvider {
    pub fn at(issuer: &str) -> Self {
        Self {
            entity_id: format!("{issuer}/saml/sp/v1/metadata"),
            acs_url: format!("{issuer}/saml/sp/v1/acs"),
        }
    }
}

/// The `saml_sso_<idp>` policy's IdP name.
pub fn saml_policy(policy: &str) -> Option<&str> {
    policy.strip_prefix("saml_sso_")
}

/// Text safe inside an XML attribute value or element.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// An xs:dateTime in UTC, as SAML writes it.
pub(crate) fn instant(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Unix seconds of an xs:dateTime with a zone (SAML requires UTC; an offset is honoured).
pub(crate) fn parse_instant(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_in_utc() {
        assert_eq!(instant(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_instant("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_instant("2023-11-14T22:13:20.123Z"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn the_sp_lives_under_the_issuer() {
        let sp = ServiceProvider::at("https://id.example");
        assert_eq!(sp.entity_id, "https://id.example/saml/sp/v1/metadata");
        assert_eq!(sp.acs_url, "https://id.example/saml/sp/v1/acs");
        assert_eq!(saml_policy("saml_sso_corp"), Some("corp"));
        assert_eq!(saml_policy("oidc_sso_corp"), None);
    }
}
