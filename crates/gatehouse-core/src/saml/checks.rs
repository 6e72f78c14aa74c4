//! A Response whose assertion the IdP's signature covers, checked against what this SP asked for
//! and `now`; then the attributes mapped to the person who signed in.

use super::parse_instant;
use super::response::{BearerConfirmation, ResponseData, SamlError};
use super::STATUS_SUCCESS;
use crate::social_profiles::ExternalProfile;

/// How far the IdP's clock may be from ours.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// What this SP expects of the response to one request, and how the IdP record maps attributes.
pub struct Expected<'a> {
    pub idp_entity_id: &'a str,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub request_id: &'a str,
    pub user_id_attribute: &'a str,
    pub email_attribute: Option<&'a str>,
    pub first_name_attribute: Option<&'a str>,
    pub last_name_attribute: Option<&'a str>,
}

/// Whether `now` is inside [not_before, not_on_or_after), each widened by the skew.
fn within(not_before: Option<&str>, not_on_or_after: Option<&str>, now: i64) -> bool {
    let after_start = not_before
        .is_none_or(|t| parse_instant(t).is_some_and(|start| now + CLOCK_SKEW_SECONDS >= start));
    let before_end = not_on_or_after
        .is_none_or(|t| parse_instant(t).is_some_and(|end| now - CLOCK_SKEW_SECONDS < end));
    after_start && before_end
}

/// Checks a response whose assertion the IdP's signature covers; returns who signed in.
pub fn check_response(
    data: &ResponseData,
    expected: &Expected<'_>,
    now: i64,
) -> Result<ExternalProfile, SamlError> {
    if data.status != STATUS_SUCCESS {
        return Err(SamlError::Status(data.status.clone()));
    }
    let assertion = &data.assertion;
    for issuer in data.issuer.iter().chain([&assertion.issuer]) {
        if issuer != expected.idp_entity_id {
            return Err(SamlError::Issuer(issuer.clone()));
        }
    }
    if let Some(destination) = data.destination.as_deref() {
        if destination != expected.acs_url {
            return Err(SamlError::Destination(destination.to_owned()));
        }
    }
    if data.in_response_to.as_deref() != Some(expected.request_id) {
        return Err(SamlError::InResponseTo);
    }
    if assertion.audience_restrictions.is_empty()
        || !assertion
            .audience_restrictions
            .iter()
            .all(|r| r.iter().any(|a| a == expected.sp_entity_id))
    {
        return Err(SamlError::Audience);
    }
    if !within(
        assertion.not_before.as_deref(),
        assertion.not_on_or_after.as_deref(),
        now,
    ) {
        return Err(SamlError::Expired);
    }
    check_bearer(&assertion.bearer, expected, now)?;
    let subject = assertion
        .attribute(expected.user_id_attribute)
        .ok_or_else(|| SamlError::MissingUserId(expected.user_id_attribute.to_owned()))?;
    let mapped = |name: Option<&str>| name.and_then(|n| assertion.attribute(n)).map(str::to_owned);
    Ok(ExternalProfile {
        subject: subject.to_owned(),
        email: mapped(expected.email_attribute),
        // The IdP vouches for its users, not for their mailbox.
        email_verified: false,
        first_name: mapped(expected.first_name_attribute),
        last_name: mapped(expected.last_name_attribute),
    })
}

/// A bearer assertion needs a confirmation for this ACS and this request that is valid now
/// (SAML profiles §4.1.4.2). Its InResponseTo is required: unlike the Response's, it is signed
/// whenever the assertion is.
fn check_bearer(
    confirmations: &[BearerConfirmation],
    expected: &Expected<'_>,
    now: i64,
) -> Result<(), SamlError> {
    let for_here: Vec<_> = confirmations
        .iter()
        .filter(|c| c.recipient.as_deref() == Some(expected.acs_url))
        .collect();
    if for_here.is_empty() {
        return Err(SamlError::Recipient);
    }
    let answering: Vec<_> = for_here
        .into_iter()
        .filter(|c| c.in_response_to.as_deref() == Some(expected.request_id))
        .collect();
    if answering.is_empty() {
        return Err(SamlError::InResponseTo);
    }
    if answering.iter().any(|c| {
        c.not_on_or_after.is_some()
            && within(c.not_before.as_deref(), c.not_on_or_after.as_deref(), now)
    }) {
        Ok(())
    } else {
        Err(SamlError::Expired)
    }
}

/// How long the response and assertion IDs stay one-time: until they would expire anyway, at
/// least a minute.
pub fn replay_ttl(data: &ResponseData, now: i64) -> u64 {
    let ends = data
        .assertion
        .bearer
        .iter()
        .filter_map(|c| c.not_on_or_after.as_deref())
        .chain(data.assertion.not_on_or_after.as_deref())
        .filter_map(parse_instant);
    let latest = ends.max().unwrap_or(now) + CLOCK_SKEW_SECONDS - now;
    u64::try_from(latest.max(60)).unwrap_or(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::response::{decode_post_binding, read_response};
    use crate::saml::{instant, ServiceProvider, ASSERTION_NS, BEARER, PROTOCOL_NS};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use xml_sec::XmlDomDocument;

    const NOW: i64 = 1_700_000_000;
    const IDP: &str = "https://idp.example/entity";

    struct Shape {
        destination: String,
        in_response_to: String,
        audience: String,
        recipient: String,
        not_on_or_after: i64,
        extra: String,
        email: String,
    }

    impl Default for Shape {
        fn default() -> Self {
            let sp = ServiceProvider::at("https://id.example");
            Self {
                destination: sp.acs_url.clone(),
                in_response_to: "_req1".into(),
                audience: sp.entity_id,
                recipient: sp.acs_url,
                not_on_or_after: NOW + 300,
                extra: String::new(),
                email: "ada@example.com".into(),
            }
        }
    }

    fn response(s: &Shape) -> String {
        let (start, end) = (instant(NOW - 10), instant(s.not_on_or_after));
        format!(
            r#"<samlp:Response xmlns:samlp="{PROTOCOL_NS}" xmlns:saml="{ASSERTION_NS}" ID="_r1" Version="2.0" IssueInstant="{start}" Destination="{dest}" InResponseTo="{irt}">
<saml:Issuer>{IDP}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="{STATUS_SUCCESS}"/></samlp:Status>
<saml:Assertion ID="_a1" Version="2.0" IssueInstant="{start}">
<saml:Issuer>{IDP}</saml:Issuer>
<saml:Subject><saml:NameID>ada</saml:NameID>
<saml:SubjectConfirmation Method="{BEARER}"><saml:SubjectConfirmationData NotOnOrAfter="{end}" Recipient="{rcpt}" InResponseTo="{irt}"/></saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="{start}" NotOnOrAfter="{end}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>
<saml:AttributeStatement>
<saml:Attribute Name="uid"><saml:AttributeValue>u-42</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="givenName"><saml:AttributeValue>Ada</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion>{extra}
</samlp:Response>"#,
            dest = s.destination,
            irt = s.in_response_to,
            rcpt = s.recipient,
            aud = s.audience,
            extra = s.extra,
            email = s.email,
        )
    }

    fn checked(shape: &Shape, now: i64) -> Result<ExternalProfile, SamlError> {
        checked_xml(&response(shape), now)
    }

    fn checked_xml(xml: &str, now: i64) -> Result<ExternalProfile, SamlError> {
        let document = XmlDomDocument::parse(xml).map_err(|_| SamlError::Malformed)?;
        let data = read_response(&document)?;
        let sp = ServiceProvider::at("https://id.example");
        check_response(
            &data,
            &Expected {
                idp_entity_id: IDP,
                sp_entity_id: &sp.entity_id,
                acs_url: &sp.acs_url,
                request_id: "_req1",
                user_id_attribute: "uid",
                email_attribute: Some("mail"),
                first_name_attribute: Some("givenName"),
                last_name_attribute: Some("sn"),
            },
            now,
        )
    }

    #[test]
    fn a_good_response_maps_the_attributes() {
        let profile = checked(&Shape::default(), NOW).unwrap();
        assert_eq!(profile.subject, "u-42");
        assert_eq!(profile.email.as_deref(), Some("ada@example.com"));
        assert_eq!(profile.first_name.as_deref(), Some("Ada"));
        assert_eq!(profile.last_name, None);
    }

    #[test]
    fn each_condition_is_checked() {
        let cases = [
            (
                Shape {
                    destination: "https://elsewhere/acs".into(),
                    ..Shape::default()
                },
                "destination",
            ),
            (
                Shape {
                    in_response_to: "_other".into(),
                    ..Shape::default()
                },
                "InResponseTo",
            ),
            (
                Shape {
                    audience: "https://other-sp".into(),
                    ..Shape::default()
                },
                "audience",
            ),
            (
                Shape {
                    recipient: "https://elsewhere/acs".into(),
                    ..Shape::default()
                },
                "recipient",
            ),
            (
                Shape {
                    not_on_or_after: NOW - 61,
                    ..Shape::default()
                },
                "expired",
            ),
        ];
        for (shape, reason) in cases {
            let err = checked(&shape, NOW).unwrap_err();
            assert!(err.to_string().starts_with(reason), "{reason}: {err}");
        }
        // Inside the skew is still valid; past it is not.
        let shape = Shape::default();
        assert!(checked(&shape, NOW + 300 + CLOCK_SKEW_SECONDS - 1).is_ok());
        assert_eq!(
            checked(&shape, NOW + 300 + CLOCK_SKEW_SECONDS),
            Err(SamlError::Expired)
        );
    }

    #[test]
    fn the_bearer_confirmation_must_answer_the_request_too() {
        let xml = response(&Shape::default()).replace(r#" InResponseTo="_req1"/>"#, "/>");
        assert!(!xml.contains(r#"InResponseTo="_req1"/>"#));
        assert_eq!(checked_xml(&xml, NOW), Err(SamlError::InResponseTo));
    }

    #[test]
    fn shapes_that_allow_wrapping_are_refused() {
        let injected = Shape {
            extra: format!(
                r#"<saml:Assertion ID="_a2"><saml:Issuer>{IDP}</saml:Issuer></saml:Assertion>"#
            ),
            ..Shape::default()
        };
        assert_eq!(checked(&injected, NOW), Err(SamlError::AssertionCount));
        let duplicate = Shape {
            extra: r#"<samlp:Extensions ID="_a1"/>"#.into(),
            ..Shape::default()
        };
        assert_eq!(
            checked(&duplicate, NOW),
            Err(SamlError::DuplicateId("_a1".into()))
        );
        let encrypted = Shape {
            extra: "<saml:EncryptedAssertion/>".into(),
            ..Shape::default()
        };
        assert_eq!(checked(&encrypted, NOW), Err(SamlError::EncryptedAssertion));
        let commented = Shape {
            email: "ada@example.com<!---->.evil".into(),
            ..Shape::default()
        };
        assert_eq!(
            checked(&commented, NOW),
            Err(SamlError::SplitValue("AttributeValue"))
        );
    }

    #[test]
    fn the_post_binding_refuses_doctypes_and_garbage() {
        let doctype = STANDARD.encode("<!DOCTYPE r [<!ENTITY x \"y\">]><r/>");
        assert_eq!(decode_post_binding(&doctype), Err(SamlError::Doctype));
        assert_eq!(decode_post_binding("%%%"), Err(SamlError::NotBase64));
        assert_eq!(decode_post_binding(""), Err(SamlError::NotBase64));
        let wrapped = format!(
            "{}\n{}",
            &STANDARD.encode("<r/>")[..2],
            &STANDARD.encode("<r/>")[2..]
        );
        assert_eq!(decode_post_binding(&wrapped).unwrap(), "<r/>");
    }

    #[test]
    fn replay_protection_lasts_until_expiry() {
        let document = XmlDomDocument::parse(&response(&Shape::default()))
            .map(|d| read_response(&d).unwrap())
            .unwrap();
        assert_eq!(replay_ttl(&document, NOW), 300 + 60);
        assert_eq!(replay_ttl(&document, NOW + 1000), 60);
    }
}
