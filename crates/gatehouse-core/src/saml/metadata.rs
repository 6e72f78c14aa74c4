//! The IdP's metadata (what an administrator registers) and this SP's own.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use xml_sec::{XmlDomDocument, XmlDomNode, XmlDomParsingOptions};

use super::{xml_escape, ServiceProvider, DSIG_NS, HTTP_POST, HTTP_REDIRECT, METADATA_NS};

/// What a sign-in needs from an IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// The SingleSignOnService location for the HTTP-Redirect binding.
    pub sso_redirect_url: String,
    /// DER X.509 certificates of the IdP's signing keys (more than one during a rotation).
    pub signing_certificates: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("the IdP metadata is not well-formed XML (or declares a DOCTYPE)")]
    Unreadable,
    #[error("the IdP metadata has no EntityDescriptor with an IDPSSODescriptor")]
    NoIdpDescriptor,
    #[error("the IdP metadata's EntityDescriptor has no entityID")]
    NoEntityId,
    #[error("the IdP metadata has no SingleSignOnService for the HTTP-Redirect binding")]
    NoRedirectService,
    #[error("the IdP metadata has no signing certificate")]
    NoSigningCertificate,
    #[error("an X509Certificate in the IdP metadata is not base64")]
    BadCertificate,
}

/// Metadata documents are small; a bound keeps a hostile one from costing much.
const MAX_NODES: u32 = 20_000;

/// Reads the entity ID, the HTTP-Redirect SSO URL and the signing certificates.
pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, MetadataError> {
    let options = XmlDomParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
    };
    let document =
        XmlDomDocument::parse_with_options(xml, options).map_err(|_| MetadataError::Unreadable)?;
    let idp = document
        .descendants()
        .find(|n| n.has_tag_name((METADATA_NS, "IDPSSODescriptor")))
        .ok_or(MetadataError::NoIdpDescriptor)?;
    let entity = idp
        .ancestors()
        .find(|n| n.has_tag_name((METADATA_NS, "EntityDescriptor")))
        .ok_or(MetadataError::NoIdpDescriptor)?;
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or(MetadataError::NoEntityId)?
        .to_owned();
    let sso_redirect_url = idp
        .children()
        .filter(|n| n.has_tag_name((METADATA_NS, "SingleSignOnService")))
        .find(|n| n.attribute("Binding") == Some(HTTP_REDIRECT))
        .and_then(|n| n.attribute("Location"))
        .map(str::trim)
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .ok_or(MetadataError::NoRedirectService)?
        .to_owned();
    let mut signing_certificates = Vec::new();
    for key in idp
        .children()
        .filter(|n| n.has_tag_name((METADATA_NS, "KeyDescriptor")))
        // A key without `use` serves both signing and encryption.
        .filter(|n| n.attribute("use").is_none_or(|u| u == "signing"))
    {
        for cert in key
            .descendants()
            .filter(|n| n.has_tag_name((DSIG_NS, "X509Certificate")))
        {
            signing_certificates.push(certificate_der(cert)?);
        }
    }
    if signing_certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    Ok(IdpMetadata {
        entity_id,
        sso_redirect_url,
        signing_certificates,
    })
}

fn certificate_der(node: XmlDomNode<'_, '_>) -> Result<Vec<u8>, MetadataError> {
    let text: String = node
        .text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(text)
        .ok()
        .filter(|der| !der.is_empty())
        .ok_or(MetadataError::BadCertificate)
}

/// This SP's metadata: the ACS for HTTP-POST, unsigned requests, signed assertions wanted.
/// No SingleLogoutService: none is served.
pub fn sp_metadata_xml(sp: &ServiceProvider) -> String {
    let formats = [
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    ]
    .iter()
    .map(|f| format!("    <md:NameIDFormat>{f}</md:NameIDFormat>\n"))
    .collect::<String>();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{METADATA_NS}" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{formats}    <md:AssertionConsumerService Binding="{HTTP_POST}" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
        entity = xml_escape(&sp.entity_id),
        acs = xml_escape(&sp.acs_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(body: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="{METADATA_NS}" xmlns:ds="{DSIG_NS}" entityID="https://idp.example/entity">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{body}</md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    const KEY: &str = r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      AAEC
      AwQ=</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#;
    const ENCRYPTION_KEY: &str = r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>BQY=</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#;
    const SSO: &str = r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/post"/>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/>"#;

    #[test]
    fn reads_entity_redirect_service_and_signing_certificates() {
        let parsed = parse_idp_metadata(&metadata(&format!("{KEY}{ENCRYPTION_KEY}{SSO}"))).unwrap();
        assert_eq!(parsed.entity_id, "https://idp.example/entity");
        assert_eq!(parsed.sso_redirect_url, "https://idp.example/sso");
        assert_eq!(parsed.signing_certificates, vec![vec![0, 1, 2, 3, 4]]);
    }

    #[test]
    fn refuses_metadata_missing_what_a_sign_in_needs() {
        assert_eq!(
            parse_idp_metadata("<not xml"),
            Err(MetadataError::Unreadable)
        );
        assert_eq!(
            parse_idp_metadata(&format!(
                "<!DOCTYPE x [<!ENTITY e \"x\">]>{}",
                metadata(SSO)
            )),
            Err(MetadataError::Unreadable)
        );
        assert_eq!(
            parse_idp_metadata(&format!(
                "<md:EntityDescriptor xmlns:md=\"{METADATA_NS}\"/>"
            )),
            Err(MetadataError::NoIdpDescriptor)
        );
        assert_eq!(
            parse_idp_metadata(&metadata(KEY)),
            Err(MetadataError::NoRedirectService)
        );
        assert_eq!(
            parse_idp_metadata(&metadata(&format!("{ENCRYPTION_KEY}{SSO}"))),
            Err(MetadataError::NoSigningCertificate)
        );
    }

    #[test]
    fn sp_metadata_names_the_acs_and_no_logout_service() {
        let xml = sp_metadata_xml(&ServiceProvider::at("https://id.example"));
        assert!(xml.contains(r#"entityID="https://id.example/saml/sp/v1/metadata""#));
        assert!(xml.contains(r#"Location="https://id.example/saml/sp/v1/acs""#));
        assert!(xml.contains(r#"WantAssertionsSigned="true""#));
        assert!(xml.contains(r#"AuthnRequestsSigned="false""#));
        assert!(!xml.contains("SingleLogoutService"));
        XmlDomDocument::parse(&xml).unwrap();
    }
}
