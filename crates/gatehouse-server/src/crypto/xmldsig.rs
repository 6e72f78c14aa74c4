//! XML signatures of SAML responses, verified with xml-sec against the IdP's certificates.
//!
//! The Response is parsed once; the Assertion that `saml::read_response` reads from that tree is
//! accepted only when a valid signature by one of the IdP's keys covers exactly that element
//! (its own signature, or the Response's). xml-sec binds that proof to the node's identity, so a
//! signed element moved elsewhere or a look-alike beside it does not pass.

use gatehouse_core::saml::{read_response, ResponseData, SamlError, DSIG_NS};
use xml_sec::xmldsig::{SignatureAlgorithm, VerificationKey, VerifyContext};
use xml_sec::XmlDocument;

/// The signature methods accepted (SHA-1 is not).
fn accepted(algorithm: SignatureAlgorithm) -> bool {
    matches!(
        algorithm,
        SignatureAlgorithm::RsaSha256
            | SignatureAlgorithm::RsaSha384
            | SignatureAlgorithm::RsaSha512
            | SignatureAlgorithm::EcdsaSha256
            | SignatureAlgorithm::EcdsaSha384
            | SignatureAlgorithm::EcdsaSha512
    )
}

/// Reads the response and proves its assertion signed by one of `certificates` (DER X.509).
pub fn verify_response(xml: String, certificates: &[Vec<u8>]) -> Result<ResponseData, SamlError> {
    let document = XmlDocument::parse(xml).map_err(|_| SamlError::Malformed)?;
    let (data, targets, methods) = document.with_view(|view| {
        let tree = view.document();
        let data = read_response(tree)?;
        // `None` when the ID is absent or carried twice: nothing to prove coverage of.
        let assertion = view
            .node_for_id(&data.assertion.id, &[])
            .ok_or_else(|| SamlError::DuplicateId(data.assertion.id.clone()))?;
        let mut methods: Vec<SignatureAlgorithm> = tree
            .descendants()
            .filter(|n| n.has_tag_name((DSIG_NS, "SignatureMethod")))
            .filter_map(|n| n.attribute("Algorithm"))
            .filter_map(SignatureAlgorithm::from_uri)
            .filter(|a| accepted(*a))
            .collect();
        methods.dedup();
        // The assertion is the Response's child: a signature over the Response covers it too.
        Ok::<_, SamlError>((data, [assertion, view.root_element()], methods))
    })?;
    for certificate in certificates {
        let Some(spki) = subject_public_key_info(certificate) else {
            continue;
        };
        for algorithm in &methods {
            let key = VerificationKey {
                algorithm: *algorithm,
                public_key_bytes: spki.to_vec(),
                certificate_der: Some(certificate.clone()),
                name: None,
            };
            let Ok(evidence) = VerifyContext::new().key(&key).verify_all(&document) else {
                continue;
            };
            if targets
                .iter()
                .any(|t| evidence.covers_element(&document, *t).unwrap_or(false))
            {
                return Ok(data);
            }
        }
    }
    Err(SamlError::Signature)
}

/// One DER element: its tag, its contents, the whole element, and what follows it.
struct DerElement<'a> {
    tag: u8,
    contents: &'a [u8],
    whole: &'a [u8],
    rest: &'a [u8],
}

/// The DER element at the start of `input`.
fn der_element(input: &[u8]) -> Option<DerElement<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = input.get(2..2 + count)?;
        let length = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    let whole = input.get(..end)?;
    Some(DerElement {
        tag,
        contents: &whole[header..],
        whole,
        rest: &input[end..],
    })
}

/// The SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1), as DER.
fn subject_public_key_info(certificate: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    let certificate = der_element(certificate).filter(|e| e.tag == SEQUENCE)?;
    let tbs = der_element(certificate.contents).filter(|e| e.tag == SEQUENCE)?;
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject, SPKI.
    let mut fields = tbs.contents;
    if fields.first() == Some(&0xa0) {
        fields = der_element(fields)?.rest;
    }
    for _ in 0..5 {
        fields = der_element(fields)?.rest;
    }
    der_element(fields)
        .filter(|e| e.tag == SEQUENCE)
        .map(|e| e.whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lengths_short_and_long() {
        let short = [0x30, 0x02, 0x05, 0x00, 0xff];
        let element = der_element(&short).unwrap();
        assert_eq!(element.tag, 0x30);
        assert_eq!(element.contents, &[5u8, 0][..]);
        assert_eq!(element.whole, &short[..4]);
        assert_eq!(element.rest, &[0xffu8][..]);
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        assert_eq!(der_element(&long).unwrap().contents.len(), 0x80);
        assert!(der_element(&[0x30, 0x05, 0x00]).is_none());
        assert!(subject_public_key_info(b"not a certificate").is_none());
    }
}
