//! The AuthnRequest and its HTTP-Redirect binding (SAML bindings §3.4: raw DEFLATE, base64,
//! URL-encoded; unsigned, as the SP metadata says).

use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::{instant, xml_escape, ServiceProvider, ASSERTION_NS, HTTP_POST, PROTOCOL_NS};

pub struct AuthnRequest<'a> {
    /// An xs:ID: starts with a letter or `_` (the caller's random part follows `_`).
    pub id: &'a str,
    pub now: i64,
    /// The IdP's SSO URL for HTTP-Redirect.
    pub destination: &'a str,
    pub sp: &'a ServiceProvider,
}

pub fn authn_request_xml(request: &AuthnRequest<'_>) -> String {
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="{PROTOCOL_NS}" xmlns:saml="{ASSERTION_NS}" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{HTTP_POST}"><saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>"#,
        id = xml_escape(request.id),
        instant = instant(request.now),
        destination = xml_escape(request.destination),
        acs = xml_escape(&request.sp.acs_url),
        issuer = xml_escape(&request.sp.entity_id),
    )
}

/// The IdP's SSO URL carrying the request and the relay state.
pub fn redirect_url(destination: &str, request_xml: &str, relay_state: &str) -> String {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let deflated = encoder
        .write_all(request_xml.as_bytes())
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    let query = serde_urlencoded::to_string([
        ("SAMLRequest", STANDARD.encode(deflated)),
        ("RelayState", relay_state.to_owned()),
    ])
    .unwrap_or_default();
    let joiner = if destination.contains('?') { '&' } else { '?' };
    format!("{destination}{joiner}{query}")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_redirect_carries_a_deflated_request_and_the_relay_state() {
        let sp = ServiceProvider::at("https://id.example");
        let xml = authn_request_xml(&AuthnRequest {
            id: "_abc",
            now: 1_700_000_000,
            destination: "https://idp.example/sso?tenant=1&x=<",
            sp: &sp,
        });
        assert!(xml.contains(r#"ID="_abc""#));
        assert!(xml.contains(r#"IssueInstant="2023-11-14T22:13:20Z""#));
        assert!(xml.contains(r#"Destination="https://idp.example/sso?tenant=1&amp;x=&lt;""#));
        assert!(xml.contains(r#"AssertionConsumerServiceURL="https://id.example/saml/sp/v1/acs""#));
        assert!(xml.contains("<saml:Issuer>https://id.example/saml/sp/v1/metadata</saml:Issuer>"));
        xml_sec::XmlDomDocument::parse(&xml).unwrap();

        let url = redirect_url("https://idp.example/sso?tenant=1", &xml, "relay key");
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://idp.example/sso");
        let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(params[0], ("tenant".into(), "1".into()));
        assert_eq!(params[2], ("RelayState".into(), "relay key".into()));
        let deflated = STANDARD.decode(&params[1].1).unwrap();
        let mut inflated = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_string(&mut inflated)
            .unwrap();
        assert_eq!(inflated, xml);
    }
}
